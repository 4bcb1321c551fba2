"""The example API's data: calendar events, each recording who really created it."""

from django.conf import settings
from django.db import models


class Event(models.Model):
    """One event in a user's calendar, with the agent (``act``) and client that created it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_events"
    )
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by_actor = models.CharField(
        max_length=255, blank=True, help_text="The current actor of the token (empty: the user's own client)."
    )
    actor_chain = models.JSONField(default=list, blank=True, help_text="Every actor, current first.")
    client_id = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.title
