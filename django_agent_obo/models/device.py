"""The device authorization grant (RFC 8628): what a device request is bound to beside DOT's row."""

from __future__ import annotations

from django.db import models
from oauth2_provider.settings import oauth2_settings


class DeviceAuthorization(models.Model):
    """One device request (RFC 8628 §3.1) as this app sees it, beside DOT's ``DeviceGrant``
    (which keeps the codes, the scope, the user and the status).

    It holds the requested actor, the RFC 9396 details and the ``dpop_jkt`` the token will be
    bound to, the standing grant an approval made, the polling interval (§3.5 ``slow_down``)
    and ``redeemed_at``: DOT never marks a device code used, so this is the single-use claim.
    """

    device_grant = models.OneToOneField(
        oauth2_settings.DEVICE_GRANT_MODEL, on_delete=models.CASCADE, related_name="agent_obo"
    )
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    agent = models.ForeignKey("django_agent_obo.Agent", null=True, on_delete=models.CASCADE, related_name="+")
    agent_grant = models.ForeignKey(
        "django_agent_obo.AgentGrant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    authorization_details = models.JSONField(null=True, blank=True)
    dpop_jkt = models.CharField(max_length=43, blank=True)
    interval = models.PositiveIntegerField()
    next_poll_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "device authorization"

    def __str__(self) -> str:
        return f"device authorization {self.pk}"
