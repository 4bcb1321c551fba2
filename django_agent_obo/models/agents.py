"""The agent registry: who an actor is and what it may be granted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from oauth2_provider.settings import oauth2_settings

actor_id_validator = RegexValidator(
    r"^[\x21-\x7e]{1,255}$",
    "An actor id is 1 to 255 printable ASCII characters without spaces.",
)


class Agent(models.Model):
    """An AI agent that acts on behalf of users and stays visible as itself.

    ``actor_id`` is the value that appears in ``requested_actor`` (draft -02 §4.1), in the
    ``sub`` of the agent's actor tokens and in ``act.sub`` of delegated tokens (RFC 8693 §4.1).
    """

    actor_id = models.CharField(max_length=255, unique=True, validators=[actor_id_validator])
    name = models.CharField(max_length=200)
    publisher = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    logo_uri = models.URLField(blank=True)
    is_active = models.BooleanField(default=True, help_text="Kill switch: off stops every token at once.")
    valid_until = models.DateTimeField(null=True, blank=True)
    allowed_clients: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        oauth2_settings.APPLICATION_MODEL,
        blank=True,
        related_name="runnable_agents",
        help_text="Client applications that may run this agent (requested_actor).",
    )
    allow_any_client = models.BooleanField(
        default=False,
        help_text="Any client the user consents to may run this agent, self-registered ones included "
        "(otherwise only the allowed clients).",
    )
    allowed_scopes = models.TextField(
        blank=True, help_text="Space-separated scopes this agent may ever be granted."
    )
    authorization_details_types = models.TextField(
        blank=True,
        help_text="Space-separated RFC 9396 authorization_details types it may be granted; empty: any.",
    )
    credentials = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="agent_identity",
        help_text="The agent's own confidential client: client_credentials yields its actor token.",
    )
    jwks = models.JSONField(
        null=True, blank=True, help_text="Public keys for self-signed actor assertions (RFC 7517 JWK Set)."
    )
    jwks_uri = models.URLField(blank=True, help_text="Where the agent publishes its JWK Set.")
    accepts_delegation_from = models.ManyToManyField(
        "self",
        symmetrical=False,
        blank=True,
        related_name="may_delegate_to",
        help_text="Agents whose tokens this agent may receive by token exchange (RFC 8693).",
    )
    require_dpop = models.BooleanField(
        default=False, help_text="Tokens for this agent must be bound to a key with DPoP (RFC 9449)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Agents named by URL (SPEC §11, agent_documents.py): where the row came from, when its
    # document is stale, and whether an admin still has to approve it.
    SOURCE_ADMIN = "admin"
    SOURCE_DOCUMENT = "document"
    registration_source = models.CharField(
        max_length=16,
        choices=[(SOURCE_ADMIN, "registered by an admin"), (SOURCE_DOCUMENT, "agent document")],
        default=SOURCE_ADMIN,
    )
    document_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Agent document: re-fetched after this time."
    )
    pending_approval = models.BooleanField(
        default=False, help_text="Agent document awaiting an admin's approval: refused until approved."
    )

    class Meta:
        ordering = ["actor_id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.actor_id})"

    @property
    def scope_set(self) -> set[str]:
        return set(self.allowed_scopes.split())

    @property
    def authorization_details_type_set(self) -> set[str]:
        return set(self.authorization_details_types.split())

    def is_usable(self, now: datetime | None = None) -> bool:
        """Active and not past ``valid_until``: the only test every path applies."""
        now = now or timezone.now()
        return self.is_active and (self.valid_until is None or self.valid_until > now)

    def issue_credentials(self) -> str:
        """Give the agent its own confidential client (SPEC §3), or a new secret for it.

        Returns the secret, to be shown once: DOT stores only its hash.
        """
        from oauth2_provider.generators import generate_client_secret
        from oauth2_provider.models import get_application_model

        Application = get_application_model()
        secret = generate_client_secret()
        if self.credentials is None:
            self.credentials = Application.objects.create(
                name=f"Agent {self.actor_id}"[:255],
                client_type=Application.CLIENT_CONFIDENTIAL,
                authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
                client_secret=secret,
            )
            self.save(update_fields=["credentials", "updated_at"])
        else:
            self.credentials.client_secret = secret
            self.credentials.save(update_fields=["client_secret"])
        return secret

    def unusable_reason(self, now: datetime | None = None) -> str | None:
        if self.pending_approval:
            return "agent_pending_approval"
        if not self.is_active:
            return "agent_disabled"
        if self.valid_until is not None and self.valid_until <= (now or timezone.now()):
            return "agent_expired"
        return None
