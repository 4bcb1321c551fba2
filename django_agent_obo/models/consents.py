"""Consent pages shown and not yet answered, one row each (issue #12 item 6)."""

from django.conf import settings
from django.db import models


class PendingConsent(models.Model):
    """What one consent page displayed, under its one-time ``consent_id``, for the signed-in user.

    A row per page rather than a dict in the session: two authorize pages loaded at once (two
    tabs, a restored browser) would each save the session without the other's entry. Answering
    deletes the row, so a page is answered at most once even when posted twice at once.
    """

    consent_id = models.CharField(max_length=64, primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    actor_id = models.CharField(max_length=255, blank=True, default="")
    fields = models.JSONField(default=dict)
    created_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.consent_id
