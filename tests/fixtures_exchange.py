"""Helpers for delegation chains (RFC 8693 token exchange) and refresh tests."""

from __future__ import annotations

from typing import Any

import jwt
from django.test import Client

from django_agent_obo import keys
from django_agent_obo.adapter import DefaultAgentOBOAdapter
from django_agent_obo.models import Agent, AuditEvent, IssuedToken
from tests.conftest import (
    ISSUER,
    TOKEN_URL,
    AgentFixture,
    App,
    actor_token_issued,
    error_of,
    get_code,
    logged_in,
    redeem,
)

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


def delegate(user: Any, client_app: App, agent: AgentFixture, scope: str = "calendar.read") -> dict[str, Any]:
    """The draft's flow: the user consents, the client redeems with the agent's actor token."""
    code, verifier = get_code(logged_in(user), client_app, actor=agent.actor_id, scope=scope)
    response = redeem(client_app, code, verifier, actor_token=actor_token_issued(agent))
    assert response.status_code == 200, response.content
    return dict(response.json())


def exchange(caller: AgentFixture | App, subject_token: str, **extra: str) -> Any:
    """POST a token exchange authenticated with the caller's own client credentials."""
    data = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": subject_token,
        "subject_token_type": ACCESS_TOKEN_TYPE,
    }
    data.update(extra)
    app = caller.app if isinstance(caller, AgentFixture) else caller
    return Client().post(TOKEN_URL, data, **app.basic())


def hand_over(holder: AgentFixture, subject_token: str, to: AgentFixture, **extra: str) -> str:
    """``holder`` exchanges its token for one acting as ``to``; returns the new access token."""
    response = exchange(holder, subject_token, actor_token=actor_token_issued(to), **extra)
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])


def accepts(receiver: AgentFixture, *senders: AgentFixture) -> None:
    receiver.model.accepts_delegation_from.add(*(s.model for s in senders))


def verified_claims(token: str) -> dict[str, Any]:
    """Verify a token the way a resource server would: our published key, typ, iss."""
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt"
    key = keys.key_for_kid(header["kid"])
    assert key is not None
    return dict(
        jwt.decode(token, key.public_key, algorithms=[key.alg], issuer=ISSUER, options={"verify_aud": False})
    )


def record_of(token: str) -> IssuedToken:
    return IssuedToken.objects.get(jti=verified_claims(token)["jti"])


def introspect(app: App, token: str) -> dict[str, Any]:
    response = Client().post("/o/introspect/", {"token": token}, **app.basic())
    assert response.status_code == 200, response.content
    return dict(response.json())


def last_event(event: str) -> AuditEvent:
    row = AuditEvent.objects.filter(event=event).order_by("-id").first()
    assert row is not None, f"no {event} audit row"
    return row


def assert_refused(response: Any, error: str, reason: str) -> AuditEvent:
    """A clear OAuth error (RFC 6749 §5.2) and a ``token.refused`` row with the reason."""
    assert response.status_code in (400, 401), response.content
    assert error_of(response) == error, response.content
    assert "access_token" not in response.json()
    row = last_event("token.refused")
    assert row.outcome == AuditEvent.FAILURE
    assert row.reason == reason, row.reason
    return row


class AcceptEveryoneAdapter(DefaultAgentOBOAdapter):
    """A site policy that lets any agent delegate to any other."""

    def may_delegate(self, from_agent: Agent, to_agent: Agent) -> bool:
        return True


class RefuseEveryoneAdapter(DefaultAgentOBOAdapter):
    """A site policy that overrides the admin's allow-list and refuses every hop."""

    def may_delegate(self, from_agent: Agent, to_agent: Agent) -> bool:
        return False
