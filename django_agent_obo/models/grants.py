"""Standing delegations, codes bound to actors, and the lineage of issued tokens."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from oauth2_provider.settings import oauth2_settings


class AgentGrant(models.Model):
    """A user's standing delegation to one agent through one client (draft -02 §4.3).

    Created or widened on consent, ended by expiry or revocation; revoked grants stay as
    history. At most one live grant exists per (user, agent, client).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_grants")
    agent = models.ForeignKey("django_agent_obo.Agent", on_delete=models.CASCADE, related_name="grants")
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="agent_grants"
    )
    scope = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until revoked.")
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "agent", "application"],
                condition=Q(revoked_at__isnull=True),
                name="agent_obo_one_live_grant",
            )
        ]
        indexes = [models.Index(fields=["agent", "revoked_at"]), models.Index(fields=["user", "revoked_at"])]

    def __str__(self) -> str:
        return f"{self.user} -> {self.agent.actor_id} via {self.application}"

    @property
    def scope_set(self) -> set[str]:
        return set(self.scope.split())

    def is_live(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def dead_reason(self, now: datetime | None = None) -> str | None:
        if self.revoked_at is not None:
            return "grant_revoked"
        if self.expires_at is not None and self.expires_at <= (now or timezone.now()):
            return "grant_expired"
        return None


class CodeBinding(models.Model):
    """What an authorization code was issued for, kept after DOT deletes its Grant.

    Binds the code to (user, client, actor, scopes) so the token endpoint can require the
    same actor (draft -02 §5). Redemption deletes DOT's Grant and records tokens with this
    binding, so a replayed code is recognised and everything the first redemption issued is
    revoked (RFC 6749 §4.1.2).
    """

    code_hash = models.CharField(max_length=64, unique=True)
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    agent = models.ForeignKey("django_agent_obo.Agent", null=True, on_delete=models.CASCADE, related_name="+")
    agent_grant = models.ForeignKey(AgentGrant, null=True, on_delete=models.CASCADE, related_name="codes")
    scope = models.TextField()
    authorization_details = models.JSONField(
        default=list, blank=True, help_text="What the user approved (RFC 9396), as shown on consent."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    dpop_jkt = models.CharField(
        max_length=64, blank=True, help_text="RFC 9449 §10: the key the code must be redeemed with."
    )

    def __str__(self) -> str:
        return f"code {self.code_hash[:12]}… for {self.agent or 'no actor'}"


class IssuedToken(models.Model):
    """Every JWT access token we sign, by ``jti``: the lineage and the revocation truth.

    DOT's AccessToken row may be deleted (DOT revokes by deleting); this row stays and
    carries ``revoked_at``. ``parent`` links an exchanged token to its subject token
    (RFC 8693 §2.1) so a revocation cascades down the chain.
    """

    KIND_ACTOR = "actor"  # an agent's own token from client_credentials: proves the agent
    KIND_DELEGATED = "delegated"  # user -> agent, carries `act`
    KIND_USER = "user"  # an ordinary user token (no actor)
    KIND_CLIENT = "client"  # an ordinary client_credentials token
    KIND_CHOICES = [(k, k) for k in (KIND_ACTOR, KIND_DELEGATED, KIND_USER, KIND_CLIENT)]

    jti = models.CharField(max_length=64, unique=True)
    token_checksum = models.CharField(max_length=64, db_index=True)
    kind = models.CharField(max_length=16, choices=KIND_CHOICES)
    access_token = models.ForeignKey(
        oauth2_settings.ACCESS_TOKEN_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+")
    application = models.ForeignKey(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    agent = models.ForeignKey(
        "django_agent_obo.Agent", null=True, on_delete=models.CASCADE, related_name="tokens"
    )
    agent_grant = models.ForeignKey(AgentGrant, null=True, on_delete=models.CASCADE, related_name="tokens")
    code_binding = models.ForeignKey(CodeBinding, null=True, on_delete=models.SET_NULL, related_name="tokens")
    refresh_token = models.ForeignKey(
        oauth2_settings.REFRESH_TOKEN_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    parent = models.ForeignKey("self", null=True, on_delete=models.CASCADE, related_name="children")
    actor_chain = models.JSONField(default=list, help_text="Actor ids, current actor first.")
    scope = models.TextField(blank=True)
    authorization_details = models.JSONField(default=list, blank=True, help_text="RFC 9396, as in the token.")
    audience = models.JSONField(default=list)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    dpop_jkt = models.CharField(
        max_length=64, blank=True, help_text="RFC 9449 cnf.jkt: the key the token is bound to."
    )

    class Meta:
        indexes = [
            models.Index(fields=["agent_grant", "revoked_at"]),
            models.Index(fields=["agent", "revoked_at"]),
        ]

    def __str__(self) -> str:
        return self.jti

    def is_live(self, now: datetime | None = None) -> bool:
        return self.revoked_at is None and self.expires_at > (now or timezone.now())
