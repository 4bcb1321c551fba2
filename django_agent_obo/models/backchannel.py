"""Asynchronous approval (OpenID CIBA Core 1.0): pending requests and clients' delivery modes."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from oauth2_provider.settings import oauth2_settings

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def notification_endpoint_problem(url: str) -> str | None:
    """Why ``url`` cannot be a client notification endpoint (CIBA §4: an HTTPS URL), or None.

    Plain ``http`` is accepted only on a loopback host (development and tests).
    """
    parts = urlsplit(url)
    if not parts.netloc or parts.fragment or "@" in parts.netloc:
        return "an absolute URL without fragment or user information is required"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS:
        return None
    return "the endpoint must use https (plain http only on a loopback host)"


class BackchannelClient(models.Model):
    """How one client receives CIBA results (CIBA §4, client registration metadata).

    Without a row a client uses poll mode. ``ping`` needs ``client_notification_endpoint``,
    which this server calls with the request's ``client_notification_token`` (CIBA §10.2).
    """

    MODE_POLL = "poll"
    MODE_PING = "ping"
    MODE_CHOICES = [(MODE_POLL, "poll"), (MODE_PING, "ping")]

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="backchannel"
    )
    token_delivery_mode = models.CharField(max_length=8, choices=MODE_CHOICES, default=MODE_POLL)
    client_notification_endpoint = models.URLField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"{self.application} ({self.token_delivery_mode})"

    def clean(self) -> None:
        if self.token_delivery_mode == self.MODE_PING:
            if not self.client_notification_endpoint:
                raise ValidationError({"client_notification_endpoint": "ping mode needs an endpoint."})
            problem = notification_endpoint_problem(self.client_notification_endpoint)
            if problem:
                raise ValidationError({"client_notification_endpoint": problem})


class BackchannelRequest(models.Model):
    """One backchannel authentication request (CIBA §7), from creation to its single token.

    ``auth_req_id`` is ``handle`` signed with the site's secret key (Django's ``Signer``): a
    copy of this table alone yields no usable id, and a ping can still name it (CIBA §10.2).
    ``next_poll_at`` is the earliest time the client may
    poll again (CIBA §7.3 ``interval``); it lives in this row, updated under the row's lock,
    so the interval holds across processes.
    """

    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    ISSUED = "issued"
    STATUS_CHOICES = [(s, s) for s in (PENDING, APPROVED, DENIED, ISSUED)]

    handle = models.CharField(max_length=64, unique=True)
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="backchannel_requests"
    )
    agent = models.ForeignKey("django_agent_obo.Agent", null=True, on_delete=models.CASCADE, related_name="+")
    agent_grant = models.ForeignKey(
        "django_agent_obo.AgentGrant", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    scope = models.TextField()
    binding_message = models.CharField(max_length=200, blank=True)
    authorization_details = models.JSONField(null=True, blank=True)
    delivery_mode = models.CharField(max_length=8, choices=BackchannelClient.MODE_CHOICES)
    client_notification_token = models.CharField(max_length=1024, blank=True)
    status = models.CharField(max_length=16, choices=STATUS_CHOICES, default=PENDING)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    interval = models.PositiveIntegerField()
    next_poll_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "status", "expires_at"])]

    def __str__(self) -> str:
        return f"backchannel request {self.pk} for {self.user} ({self.status})"

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at <= (now or timezone.now())
