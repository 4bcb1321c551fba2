"""The append-only audit trail (SPEC §8)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete an audit row outside ``prune_audit``."""


class Event(models.TextChoices):
    """Every audit event name, declared once (SPEC §8): the value is the stable identifier
    stored in :attr:`AuditEvent.event` and read by log pipelines; the label says it in words
    (the admin's filter, the self-service page)."""

    CONSENT_GRANTED = "consent.granted", "You allowed it"
    CONSENT_DENIED = "consent.denied", "A request for it was refused"
    CODE_ISSUED = "code.issued", "An authorization code was issued for it"
    TOKEN_ISSUED = "token.issued", "It received an access token"
    TOKEN_REFRESHED = "token.refreshed", "It renewed its access token"
    TOKEN_EXCHANGED = "token.exchanged", "It passed its access on to another service"
    TOKEN_REFUSED = "token.refused", "It was refused a token"
    TOKEN_REVOKED = "token.revoked", "Its tokens were revoked"
    GRANT_REVOKED = "grant.revoked", "The delegation was revoked"
    AGENT_DISABLED = "agent.disabled", "The site disabled it"
    AGENT_ENABLED = "agent.enabled", "The site enabled it again"
    RESOURCE_ACCESSED = "resource.accessed", "It used your data"
    CLIENT_REFUSED = "client.refused", "An application was refused"
    CLIENT_REGISTERED = "client.registered", "An application registered itself"
    BACKCHANNEL_REQUESTED = "backchannel.requested", "It asked for your approval"
    BACKCHANNEL_APPROVED = "backchannel.approved", "You approved its request"
    BACKCHANNEL_DENIED = "backchannel.denied", "Its request was denied"
    DEVICE_REQUESTED = "device.requested", "It asked for a code to show you"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("Audit events are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events are deleted only by the prune_audit command.")

    def _prune(self) -> int:
        """The one deletion path, used by ``prune_audit``."""
        count, _ = models.QuerySet.delete(self)
        return count


class AuditEvent(models.Model):
    """One thing that happened: who, via which client, which actor (and chain), what, outcome.

    Written only by :func:`django_agent_obo.audit.record`, inside the transaction of the
    action it records. Event names and fields are stable identifiers for log pipelines.
    """

    SUCCESS = "success"
    FAILURE = "failure"

    at = models.DateTimeField(db_index=True)
    event = models.CharField(max_length=32)
    outcome = models.CharField(max_length=8, choices=[(SUCCESS, SUCCESS), (FAILURE, FAILURE)])
    reason = models.CharField(max_length=64, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True)
    client_id = models.CharField(max_length=100, blank=True)
    actor_id = models.CharField(max_length=255, blank=True)
    actor_chain = models.JSONField(default=list, blank=True)
    scope = models.TextField(blank=True)
    jti = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["user", "at"]),
            models.Index(fields=["actor_id", "at"]),
            models.Index(fields=["client_id", "at"]),
            models.Index(fields=["event", "at"]),
            models.Index(fields=["jti"]),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.event} {self.outcome}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events are deleted only by the prune_audit command.")
