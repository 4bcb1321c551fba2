"""Policy hooks a site overrides by pointing ``AGENT_OBO["ADAPTER"]`` at a subclass.

Each hook is small and documented; the protocol code never hard-codes these decisions.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model

from . import agent_documents
from .conf import agent_obo_settings
from .models import Agent
from .refusals import DelegationRefused  # raised by the hooks (docs/adapter.md)
from .registration import is_self_registered


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
        try:
            agent = agent_documents.agent_for_request(actor_id, application)
        except agent_documents.AgentDocumentError as exc:
            raise DelegationRefused(exc.error, exc.reason, exc.description) from exc
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

    def describe_access(self, *, method: str, required_scopes: list[str], scope_words: dict[str, str]) -> str:
        """What an API request of an agent did, for the user's page (``resource.accessed``):
        the words of the scopes the API demanded, else a verb for the HTTP method."""
        if required_scopes:
            return "; ".join(scope_words.get(name, name) for name in required_scopes)
        verb = {"GET": "Read", "HEAD": "Read", "POST": "Added to", "PUT": "Changed", "PATCH": "Changed"}
        return (
            f"{verb.get(method.upper(), 'Used')} your data"
            if method.upper() != "DELETE"
            else "Deleted some of your data"
        )

    # --- asynchronous approval (OpenID CIBA Core 1.0) ----------------------------------------

    def may_use_backchannel(self, application: Model) -> bool:
        """Whether a client may send backchannel authentication requests (CIBA §7).
        Default: every confidential client an admin made (it has authenticated by the time this
        is asked). Not one that registered itself (RFC 7591): such a request reaches any user
        named by ``login_hint``, with the client's own name and binding message."""
        confidential = getattr(application, "client_type", None) == "confidential"
        return confidential and not is_self_registered(application)

    def resolve_login_hint(self, login_hint: str, application: Model) -> Any:
        """The active user a CIBA ``login_hint`` names (CIBA §7.1), or None (``unknown_user_id``).

        Default: the username, else an e-mail address that exactly one active user has.
        """
        from django.contrib.auth import get_user_model

        User = get_user_model()
        user = User._default_manager.filter(**{User.USERNAME_FIELD: login_hint}).first()
        if user is None and "@" in login_hint:
            email_field = User.get_email_field_name()
            matches = list(User._default_manager.filter(**{f"{email_field}__iexact": login_hint})[:2])
            user = matches[0] if len(matches) == 1 else None
        if user is None or not getattr(user, "is_active", True):
            return None
        return user

    def notify_backchannel_request(self, backchannel_request: Any, approve_url: str) -> None:
        """Tell the user a request waits for a decision. Default: an e-mail through Django's
        mail backend to the user's address (the badge on ``/agents/`` needs nothing here)."""
        from django.core.mail import send_mail

        address = getattr(backchannel_request.user, backchannel_request.user.get_email_field_name(), "")
        if not address:
            return
        who = backchannel_request.agent.name if backchannel_request.agent else backchannel_request.application
        lines = [f"{who} asks for your approval."]
        if backchannel_request.binding_message:
            lines.append(f"It says: {backchannel_request.binding_message}")
        lines.append(f"Approve or deny it at {approve_url}")
        send_mail("An agent asks for your approval", "\n\n".join(lines), None, [address], fail_silently=True)


def get_adapter() -> DefaultAgentOBOAdapter:
    adapter_class = agent_obo_settings.ADAPTER
    return adapter_class()
