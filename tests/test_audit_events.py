"""Every delegation event and every refusal leaves its row (SPEC §8)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from oauth2_provider.models import get_access_token_model

from django_agent_obo import delegation
from django_agent_obo.models import AuditEvent, IssuedToken
from django_agent_obo.signals import audit_event_recorded
from tests.conftest import (
    AUTHORIZE_URL,
    TOKEN_URL,
    actor_assertion,
    actor_token_issued,
    authorize_params,
    decode_unverified,
    error_of,
    get_code,
    hidden_fields,
    logged_in,
    make_agent,
    pkce,
    redeem,
)
from tests.fixtures_audit import delegate, events, refresh


def test_successful_delegation_writes_consent_code_and_token_rows(user, client_app, agent):
    tokens = delegate(user, client_app, agent)
    jti = decode_unverified(tokens["access_token"])["jti"]
    for name in ("consent.granted", "code.issued", "token.issued"):
        (row,) = events(name, user=user)
        assert row.outcome == AuditEvent.SUCCESS
        assert row.username == "alice"
        assert row.client_id == client_app.client_id
        assert row.actor_id == agent.actor_id
        assert row.actor_chain == [agent.actor_id]
        assert row.scope == "calendar.read"
        assert row.ip == "127.0.0.1"
    assert events("token.issued", user=user)[0].jti == jti
    assert events("consent.granted")[0].detail["duration_seconds"] == 86400


def test_actor_token_issue_is_recorded_under_the_agent(agent):
    token = actor_token_issued(agent)
    (row,) = events("token.issued", actor_id=agent.actor_id)
    assert row.jti == decode_unverified(token)["jti"]
    assert row.client_id == agent.app.client_id
    assert row.user is None


def test_user_denial_writes_consent_denied(user, client_app, agent):
    browser = logged_in(user)
    _, challenge = pkce()
    page = browser.get(AUTHORIZE_URL, authorize_params(client_app, challenge, agent.actor_id))
    form = hidden_fields(page.content.decode())
    browser.post(AUTHORIZE_URL, form)
    (row,) = events("consent.denied")
    assert (row.outcome, row.reason, row.actor_id) == (AuditEvent.FAILURE, "user_denied", agent.actor_id)


@pytest.mark.parametrize(
    ("actor", "reason"),
    [("agent:unknown", "unknown_actor"), ("agent:other", "actor_not_allowed_for_client")],
)
def test_refused_authorization_writes_consent_denied_with_reason(user, client_app, agent, actor, reason):
    make_agent("agent:other")
    _, challenge = pkce()
    response = logged_in(user).get(AUTHORIZE_URL, authorize_params(client_app, challenge, actor))
    assert response.status_code == 302
    (row,) = events("consent.denied")
    assert (row.outcome, row.reason, row.actor_id, row.user) == (AuditEvent.FAILURE, reason, actor, user)


def test_token_refusals_write_token_refused_with_machine_reason(user, client_app, agent):
    code, verifier = get_code(logged_in(user), client_app, actor=agent.actor_id)
    assert error_of(redeem(client_app, code, verifier)) in ("invalid_request", "invalid_grant")
    (row,) = events("token.refused")
    assert row.outcome == AuditEvent.FAILURE
    assert row.reason == "actor_token_missing"
    assert row.client_id == client_app.client_id
    assert row.detail["grant_type"] == "authorization_code"


def test_wrong_actor_is_refused_and_recorded(user, client_app, agent):
    intruder = make_agent("agent:intruder", clients=(client_app,))
    code, verifier = get_code(logged_in(user), client_app, actor=agent.actor_id)
    response = redeem(client_app, code, verifier, actor_token=actor_assertion(intruder))
    assert error_of(response) == "invalid_grant"
    (row,) = events("token.refused")
    assert (row.reason, row.actor_id, row.user) == ("actor_mismatch", agent.actor_id, user)


def test_refresh_writes_token_refreshed(user, client_app, agent):
    tokens = delegate(user, client_app, agent)
    response = refresh(client_app, agent, tokens["refresh_token"])
    assert response.status_code == 200, response.content
    (row,) = events("token.refreshed")
    assert row.jti == decode_unverified(response.json()["access_token"])["jti"]
    assert row.actor_chain == [agent.actor_id]


def test_rfc7009_revocation_writes_token_revoked(user, client_app, agent):
    tokens = delegate(user, client_app, agent)
    response = Client().post(
        reverse("oauth2_provider:revoke-token"), {"token": tokens["access_token"]}, **client_app.basic()
    )
    assert response.status_code == 200
    (row,) = events("token.revoked")
    assert row.detail["reason"] == "client_revoked"
    assert row.detail["jti"] == [decode_unverified(tokens["access_token"])["jti"]]


def test_grant_revocation_writes_grant_and_token_rows(user, client_app, agent):
    delegate(user, client_app, agent)
    grant = user.agent_grants.get()
    delegation.revoke_grant(grant, by=user, ip="192.0.2.7")
    (row,) = events("grant.revoked")
    assert (row.user, row.actor_id, row.client_id, row.ip) == (
        user,
        agent.actor_id,
        client_app.client_id,
        "192.0.2.7",
    )
    assert row.detail == {"by": "alice", "reason": "user_revoked", "tokens": 1}
    assert events("token.revoked", user=user)[0].detail["count"] == 1


def test_kill_switch_writes_disabled_and_enabled(user, client_app, agent):
    delegate(user, client_app, agent)
    delegation.set_agent_active(agent.model, False, by=user)
    delegation.set_agent_active(agent.model, True, by=user)
    disabled, enabled = events("agent.disabled") + events("agent.enabled")
    assert disabled.actor_id == enabled.actor_id == agent.actor_id
    assert disabled.detail["tokens_revoked"] == 1
    assert disabled.username == "alice"


def test_every_row_is_announced_by_a_signal(user, client_app, agent):
    seen = []

    def receiver(sender, event, **kwargs):
        seen.append((sender, event.event))

    audit_event_recorded.connect(receiver)
    try:
        delegate(user, client_app, agent)
    finally:
        audit_event_recorded.disconnect(receiver)
    assert (AuditEvent, "token.issued") in seen
    assert [name for _, name in seen] == list(
        AuditEvent.objects.order_by("id").values_list("event", flat=True)
    )


def test_no_token_is_issued_without_its_audit_row(user, client_app, agent):
    """The row is written in the token's transaction: if writing it fails, nothing is issued."""
    code, verifier = get_code(logged_in(user), client_app, actor=agent.actor_id)

    def fail_on_token(sender, event, **kwargs):
        if event.event == "token.issued":
            raise RuntimeError("audit store unavailable")

    audit_event_recorded.connect(fail_on_token)
    try:
        with pytest.raises(RuntimeError):
            redeem(client_app, code, verifier, actor_token=actor_assertion(agent))
    finally:
        audit_event_recorded.disconnect(fail_on_token)
    assert not IssuedToken.objects.filter(kind=IssuedToken.KIND_DELEGATED).exists()
    assert not get_access_token_model().objects.filter(user=user).exists()
    assert not events("token.issued", user=user)


def test_token_endpoint_refusal_without_client_is_still_recorded():
    response = Client().post(TOKEN_URL, {"grant_type": "client_credentials"})
    assert response.status_code == 401
    (row,) = events("token.refused")
    assert row.reason
    assert row.outcome == AuditEvent.FAILURE
