"""Which clients must bind their tokens to a key with DPoP (RFC 9449)."""

from django.db import models
from oauth2_provider.settings import oauth2_settings


class ClientDPoPPolicy(models.Model):
    """Per-client DPoP policy (DOT's Application is swappable, so it lives beside it).

    With ``require_dpop`` every token request of the client must carry a valid ``DPoP``
    proof, whatever the site-wide ``DPOP_REQUIRED`` says.
    """

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE, related_name="agent_obo_dpop_policy"
    )
    require_dpop = models.BooleanField(
        default=True, help_text="Every token request of this client must carry a DPoP proof (RFC 9449)."
    )

    class Meta:
        verbose_name = "client DPoP policy"
        verbose_name_plural = "client DPoP policies"

    def __str__(self) -> str:
        return f"{self.application}: DPoP {'required' if self.require_dpop else 'optional'}"
