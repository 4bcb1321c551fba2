"""Used actor-assertion identifiers (RFC 7523 §3, item 7), kept until they expire."""

from django.db import models


class UsedAssertion(models.Model):
    """One row per accepted self-signed actor assertion; the unique key refuses a replay.

    A database row (not process memory) so that every process behind a load balancer
    sees the same set.
    """

    issuer = models.CharField(max_length=255)
    jti = models.CharField(max_length=255)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "jti"], name="agent_obo_unique_assertion")]

    def __str__(self) -> str:
        return f"{self.issuer} {self.jti}"
