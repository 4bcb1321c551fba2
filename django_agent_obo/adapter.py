"""Policy hooks a site overrides by pointing ``AGENT_OBO["ADAPTER"]`` at a subclass.

Each hook is small and documented; the protocol code never hard-codes these decisions.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model

from .conf import agent_obo_settings
from .models import Agent


class DelegationRefused(Exception):
    """An authorization request names an actor we will not show consent for.

    ``error`` is the OAuth error code (RFC 6749 §4.1.2.1), ``reason`` the audit reason.
    """

    def __init__(self, error: str, reason: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.reason = reason
        self.description = description


class DefaultAgentOBOAdapter:
    """The default policy. Subclass and override any method."""

    def get_subject(self, user: Any) -> str:
        """The ``sub`` claim for a user (RFC 9068 §2.2). Default: the primary key as text."""
        return str(user.pk)

    def resolve_requested_actor(
        self, actor_id: str, application: Model, scopes: list[str], user: Any
    ) -> Agent:
        """Check a ``requested_actor`` before consent (draft -02 §4.2) and return the agent.

        Raises :class:`DelegationRefused` when the agent is unknown, disabled, expired, not
        allowed for this client (an admin lists it in ``allowed_clients``, or the agent has
        ``allow_any_client``: the only ways a self-registered client runs an agent), or asked
        for scopes beyond its own.
        """
        agent = Agent.objects.filter(actor_id=actor_id).first()
        if agent is None:
            raise DelegationRefused(
                "invalid_request", "unknown_actor", "The requested actor is not registered."
            )
        reason = agent.unusable_reason()
        if reason is not None:
            raise DelegationRefused("invalid_request", reason, "The requested actor is not available.")
        if not agent.allow_any_client and not agent.allowed_clients.filter(pk=application.pk).exists():
            raise DelegationRefused(
                "unauthorized_client",
                "actor_not_allowed_for_client",
                "This client may not run the requested actor.",
            )
        beyond = set(scopes) - agent.scope_set
        if beyond:
            raise DelegationRefused(
                "invalid_scope",
                "scope_beyond_actor",
                "The requested actor may not be granted: " + " ".join(sorted(beyond)),
            )
        return agent

    def may_delegate(self, from_agent: Agent, to_agent: Agent) -> bool:
        """Whether ``to_agent`` accepts a token exchanged from ``from_agent`` (RFC 8693)."""
        return to_agent.accepts_delegation_from.filter(pk=from_agent.pk).exists()

    def extra_claims(self, request: Any) -> dict[str, Any]:
        """Extra claims to add to an access token. Reserved claims cannot be overridden."""
        return {}

    def describe_agent(self, agent: Agent) -> dict[str, str]:
        """How an agent is shown on the consent and self-service pages."""
        return {
            "name": agent.name,
            "publisher": agent.publisher,
            "description": agent.description,
            "actor_id": agent.actor_id,
            "logo_uri": agent.logo_uri,
        }


def get_adapter() -> DefaultAgentOBOAdapter:
    adapter_class = agent_obo_settings.ADAPTER
    return adapter_class()
