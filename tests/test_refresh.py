"""Refresh of agent tokens: rotation, reuse revokes the family (RFC 9700 §4.14), actor re-proof."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.utils import timezone
from oauth2_provider.models import get_refresh_token_model

from django_agent_obo import delegation
from django_agent_obo.models import Agent, AgentGrant, AuditEvent
from tests.conftest import (
    TOKEN_URL,
    App,
    actor_assertion,
    actor_token_issued,
    get_code,
    logged_in,
    make_agent,
    make_app,
    redeem,
)
from tests.fixtures_exchange import (
    accepts,
    assert_refused,
    delegate,
    hand_over,
    introspect,
    last_event,
    record_of,
    verified_claims,
)


def refresh(app: App, refresh_token: str, **extra: str) -> Any:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    data.update(extra)
    return Client().post(TOKEN_URL, data, **app.basic())


def refreshed(app: App, refresh_token: str, agent: Any, **extra: str) -> dict[str, Any]:
    response = refresh(app, refresh_token, actor_token=actor_token_issued(agent), **extra)
    assert response.status_code == 200, response.content
    return dict(response.json())


def test_refresh_keeps_act_and_rotates_the_refresh_token(user, client_app, agent):
    first = delegate(user, client_app, agent)
    second = refreshed(client_app, first["refresh_token"], agent)
    assert second["refresh_token"] != first["refresh_token"]
    claims = verified_claims(second["access_token"])
    assert claims["act"] == {"sub": agent.actor_id}
    assert claims["sub"] == str(user.pk) and claims["client_id"] == client_app.client_id
    row = last_event("token.refreshed")
    assert row.actor_chain == [agent.actor_id] and row.jti == claims["jti"]
    # Rotation: the previous access token is retired with its refresh token.
    assert not introspect(client_app, first["access_token"])["active"]
    assert introspect(client_app, second["access_token"])["active"]


def test_every_refresh_rotates(user, client_app, agent):
    current = delegate(user, client_app, agent)
    seen = {current["refresh_token"]}
    for _ in range(3):
        current = refreshed(client_app, current["refresh_token"], agent)
        seen.add(current["refresh_token"])
    assert len(seen) == 4


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(user, client_app, agent):
    first = delegate(user, client_app, agent)
    second = refreshed(client_app, first["refresh_token"], agent)
    third = refreshed(client_app, second["refresh_token"], agent)
    response = refresh(client_app, first["refresh_token"], actor_token=actor_token_issued(agent))
    row = assert_refused(response, "invalid_grant", "refresh_token_reused")
    assert row.user == user and row.actor_chain == [agent.actor_id]
    assert not introspect(client_app, third["access_token"])["active"]
    assert record_of(third["access_token"]).revoked_at is not None
    assert last_event("token.revoked").detail["reason"] == "refresh_token_reused"
    # The newest refresh token of the family is dead too.
    response = refresh(client_app, third["refresh_token"], actor_token=actor_token_issued(agent))
    assert_refused(response, "invalid_grant", "refresh_token_revoked")
    family = get_refresh_token_model().objects.get(token=third["refresh_token"]).token_family
    assert not get_refresh_token_model().objects.filter(token_family=family, revoked__isnull=True).exists()


def test_reuse_also_revokes_tokens_exchanged_from_the_family(user, client_app, agent):
    scheduler = make_agent("agent:scheduler", name="Scheduler")
    accepts(scheduler, agent)
    first = delegate(user, client_app, agent)
    second = refreshed(client_app, first["refresh_token"], agent)
    downstream = hand_over(agent, second["access_token"], scheduler)
    refresh(client_app, first["refresh_token"], actor_token=actor_token_issued(agent))
    assert record_of(downstream).revoked_at is not None
    assert not introspect(client_app, downstream)["active"]


def test_rotation_retires_tokens_exchanged_from_the_previous_access_token(user, client_app, agent):
    scheduler = make_agent("agent:scheduler", name="Scheduler")
    accepts(scheduler, agent)
    first = delegate(user, client_app, agent)
    downstream = hand_over(agent, first["access_token"], scheduler)
    refreshed(client_app, first["refresh_token"], agent)
    assert record_of(downstream).revoked_at is not None
    assert last_event("token.revoked").detail["reason"] == "parent_revoked"


def test_refresh_must_present_the_actor_token_again(user, client_app, agent):
    first = delegate(user, client_app, agent)
    response = refresh(client_app, first["refresh_token"])
    assert_refused(response, "invalid_request", "actor_token_missing")
    # The refusal rolled back: the refresh token still works with the actor's proof.
    refreshed(client_app, first["refresh_token"], agent)


def test_refresh_with_another_agents_actor_token_is_refused(user, client_app, agent):
    other = make_agent("agent:other", clients=(client_app,), name="Other")
    first = delegate(user, client_app, agent)
    response = refresh(client_app, first["refresh_token"], actor_token=actor_token_issued(other))
    assert_refused(response, "invalid_grant", "actor_mismatch")


def test_refresh_accepts_a_self_signed_actor_assertion(user, client_app, agent):
    first = delegate(user, client_app, agent)
    response = refresh(client_app, first["refresh_token"], actor_token=actor_assertion(agent))
    assert response.status_code == 200, response.content


def test_actor_re_proof_can_be_switched_off(settings, user, client_app, agent):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "REFRESH_REQUIRES_ACTOR_TOKEN": False}
    first = delegate(user, client_app, agent)
    response = refresh(client_app, first["refresh_token"])
    assert response.status_code == 200, response.content
    assert verified_claims(response.json()["access_token"])["act"] == {"sub": agent.actor_id}


def test_refresh_may_narrow_scope_but_not_widen_it(user, client_app, agent):
    first = delegate(user, client_app, agent, scope="calendar.read calendar.write")
    narrowed = refreshed(client_app, first["refresh_token"], agent, scope="calendar.read")
    assert verified_claims(narrowed["access_token"])["scope"] == "calendar.read"
    response = refresh(
        client_app,
        narrowed["refresh_token"],
        actor_token=actor_token_issued(agent),
        scope="calendar.read calendar.write",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert last_event("token.refused").reason == "invalid_scope"


def test_refresh_fails_once_the_grant_expired(user, client_app, agent):
    first = delegate(user, client_app, agent)
    AgentGrant.objects.update(expires_at=timezone.now())
    response = refresh(client_app, first["refresh_token"], actor_token=actor_token_issued(agent))
    assert_refused(response, "invalid_grant", "grant_expired")


def test_refresh_fails_once_the_grant_was_revoked(user, client_app, agent):
    first = delegate(user, client_app, agent)
    delegation.revoke_grant(AgentGrant.objects.get(), by=user)
    response = refresh(client_app, first["refresh_token"], actor_token=actor_assertion(agent))
    assert_refused(response, "invalid_grant", "grant_revoked")


def test_refresh_fails_once_the_agent_was_disabled(user, client_app, agent):
    first = delegate(user, client_app, agent)
    delegation.set_agent_active(agent.model, False)
    response = refresh(client_app, first["refresh_token"], actor_token=actor_assertion(agent))
    assert_refused(response, "invalid_grant", "agent_disabled")


def test_refresh_fails_once_the_agent_expired(user, client_app, agent):
    first = delegate(user, client_app, agent)
    Agent.objects.filter(pk=agent.model.pk).update(valid_until=timezone.now())
    response = refresh(client_app, first["refresh_token"])
    assert_refused(response, "invalid_grant", "agent_expired")


def test_refresh_token_of_another_client_is_refused(user, client_app, agent):
    first = delegate(user, client_app, agent)
    other = make_app("Other client")
    response = refresh(other, first["refresh_token"], actor_token=actor_token_issued(agent))
    assert_refused(response, "invalid_grant", "refresh_token_other_client")


def test_refusals_leave_audit_rows_with_the_user(user, client_app, agent):
    first = delegate(user, client_app, agent)
    refresh(client_app, first["refresh_token"])
    row = last_event("token.refused")
    assert row.outcome == AuditEvent.FAILURE
    assert row.user == user and row.client_id == client_app.client_id
    assert row.detail["grant_type"] == "refresh_token"


def test_replayed_code_also_revokes_tokens_refreshed_from_it(user, client_app, agent):
    code, verifier = get_code(logged_in(user), client_app, actor=agent.actor_id)
    first = redeem(client_app, code, verifier, actor_token=actor_token_issued(agent)).json()
    second = refreshed(client_app, first["refresh_token"], agent)
    replay = redeem(client_app, code, verifier, actor_token=actor_token_issued(agent))
    assert_refused(replay, "invalid_grant", "code_reused")
    assert record_of(second["access_token"]).revoked_at is not None
    response = refresh(client_app, second["refresh_token"], actor_token=actor_token_issued(agent))
    assert response.status_code == 400
