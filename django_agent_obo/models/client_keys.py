"""Public keys a client registered for ``private_key_jwt`` (RFC 7523 §2.2, OpenID Connect Core §9)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from oauth2_provider.settings import oauth2_settings


class ClientKeySet(models.Model):
    """A client's JWK Set: with it, the client may authenticate with a signed assertion instead
    of a shared secret. Agents need none: their own registered keys (``Agent.jwks``/``jwks_uri``)
    sign their client assertions as they sign their actor tokens.

    A row beside DOT's Application (which has no key field) so that a swapped application model
    works unchanged; set in the admin.
    """

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="agent_obo_key_set",
        help_text="The client that signs its assertions with these keys.",
    )
    jwks = models.JSONField(help_text='Public keys (RFC 7517 JWK Set): {"keys": [...]}, each with a kid.')
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "client key set"

    def __str__(self) -> str:
        return f"keys of {self.application_id}"

    def clean(self) -> None:
        from ..agent_keys import KeySetError, validate_jwks

        try:
            self.jwks = validate_jwks(self.jwks)
        except KeySetError as exc:
            raise ValidationError({"jwks": str(exc)}) from exc
