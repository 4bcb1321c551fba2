"""Asynchronous approval (OpenID CIBA Core 1.0): the endpoint, the user's answer, the token."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from django_agent_obo.models import AgentGrant, AuditEvent, BackchannelRequest, IssuedToken
from tests.conftest import actor_assertion, actor_token_issued, decode_unverified, logged_in, make_agent
from tests.fixtures_backchannel import BC_URL, REQUESTS_URL, answer, bc_authorize, poll


@pytest.fixture(autouse=True)
def _no_interval(settings):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "BACKCHANNEL_INTERVAL_SECONDS": 0}


def start(client_app, agent=None, **params):
    response = bc_authorize(client_app, requested_actor=agent.actor_id if agent else None, **params)
    assert response.status_code == 200, response.content
    body = response.json()
    return body, BackchannelRequest.objects.get(
        pk=AuditEvent.objects.filter(event="backchannel.requested", outcome="success")
        .latest("id")
        .detail["request"]
    )


def test_metadata_lists_endpoint_modes_and_grant(client):
    data = client.get("/.well-known/oauth-authorization-server").json()
    assert data["backchannel_authentication_endpoint"].endswith("/o/bc-authorize/")
    assert data["backchannel_token_delivery_modes_supported"] == ["poll", "ping"]
    assert data["backchannel_user_code_parameter_supported"] is False
    assert "urn:openid:params:grant-type:ciba" in data["grant_types_supported"]


def test_request_answer_and_token_with_act(user, client_app, agent):
    body, row = start(client_app, agent, binding_message="Book flight LH 404")
    assert set(body) == {"auth_req_id", "expires_in", "interval"}
    assert body["expires_in"] == 300
    assert poll(client_app, body["auth_req_id"], actor_token=actor_assertion(agent)).json()["error"] == (
        "authorization_pending"
    )
    page = logged_in(user).get(REQUESTS_URL)
    html = page.content.decode()
    for text in (
        "Calendar Assistant",
        "Example Agents Inc.",
        agent.actor_id,
        "Book flight LH 404",
        "Read your calendar events",
        client_app.client_id,
    ):
        assert text in html
    assert answer(user, row.pk, duration="3600").status_code == 302
    grant = AgentGrant.objects.get(user=user, agent=agent.model)
    assert timedelta(minutes=59) < grant.expires_at - timezone.now() <= timedelta(hours=1)
    response = poll(client_app, body["auth_req_id"], actor_token=actor_assertion(agent))
    assert response.status_code == 200, response.content
    claims = decode_unverified(response.json()["access_token"])
    assert claims["act"] == {"sub": agent.actor_id}
    assert claims["sub"] == str(user.pk) and claims["client_id"] == client_app.client_id
    assert IssuedToken.objects.get(jti=claims["jti"]).agent_grant == grant
    again = poll(client_app, body["auth_req_id"], actor_token=actor_assertion(agent))
    assert again.json()["error"] == "invalid_grant"
    events = list(AuditEvent.objects.order_by("id").values_list("event", flat=True))
    assert (
        events.index("backchannel.requested")
        < events.index("backchannel.approved")
        < events.index("token.issued")
    )


def test_actor_token_required_and_bound(user, client_app, agent):
    body, row = start(client_app, agent)
    answer(user, row.pk)
    assert poll(client_app, body["auth_req_id"]).json()["error"] == "invalid_request"
    other = make_agent("agent:other", clients=(client_app,))
    assert poll(client_app, body["auth_req_id"], actor_token=actor_assertion(other)).json()["error"] == (
        "invalid_grant"
    )
    assert AuditEvent.objects.filter(event="token.refused", reason="actor_mismatch").exists()
    ok = poll(client_app, body["auth_req_id"], actor_token=actor_token_issued(agent))
    assert ok.status_code == 200, ok.content


def test_plain_request_without_actor_and_details_in_token(user, client_app):
    details = '[{"type": "calendar_event", "actions": ["read"]}]'
    body, row = start(client_app, authorization_details=details)
    assert row.authorization_details == [{"type": "calendar_event", "actions": ["read"]}]
    assert "Read events in your calendar, any date" in logged_in(user).get(REQUESTS_URL).content.decode()
    answer(user, row.pk)
    response = poll(client_app, body["auth_req_id"])
    claims = decode_unverified(response.json()["access_token"])
    assert "act" not in claims
    assert claims["authorization_details"] == [{"type": "calendar_event", "actions": ["read"]}]


def test_denied_then_access_denied(user, client_app, agent):
    body, row = start(client_app, agent)
    answer(user, row.pk, allow=False)
    assert poll(client_app, body["auth_req_id"]).json()["error"] == "access_denied"
    assert AuditEvent.objects.filter(event="backchannel.denied", reason="user_denied").exists()
    assert not AgentGrant.objects.exists()


def test_expired_token(user, client_app, agent):
    body, row = start(client_app, agent, requested_expiry="3")
    assert body["expires_in"] == 3
    BackchannelRequest.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert poll(client_app, body["auth_req_id"]).json()["error"] == "expired_token"
    assert answer(user, row.pk).status_code == 302
    assert BackchannelRequest.objects.get(pk=row.pk).status == "pending"  # too late to approve


def test_requested_expiry_is_capped(client_app, user):
    body, _ = start(client_app, requested_expiry="99999")
    assert body["expires_in"] == 900


def test_slow_down_counts_between_polls(settings, user, client_app):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "BACKCHANNEL_INTERVAL_SECONDS": 5}
    body, row = start(client_app)
    assert body["interval"] == 5
    assert poll(client_app, body["auth_req_id"]).json()["error"] == "authorization_pending"
    slow = poll(client_app, body["auth_req_id"])
    assert slow.json()["error"] == "slow_down"
    assert BackchannelRequest.objects.get(pk=row.pk).interval == 10
    # a poll after the interval is answered normally
    BackchannelRequest.objects.filter(pk=row.pk).update(next_poll_at=timezone.now() - timedelta(seconds=1))
    assert poll(client_app, body["auth_req_id"]).json()["error"] == "authorization_pending"


def test_auth_req_id_of_another_client_or_forged(user, client_app, agent):
    from tests.conftest import make_app

    body, row = start(client_app)
    answer(user, row.pk)
    assert poll(make_app("Other"), body["auth_req_id"]).json()["error"] == "invalid_grant"
    assert poll(client_app, body["auth_req_id"] + "x").json()["error"] == "invalid_grant"
    assert poll(client_app, "\x00").json()["error"] == "invalid_request"  # a control character
    assert poll(client_app, body["auth_req_id"]).status_code == 200


@pytest.mark.parametrize(
    ("params", "error", "reason"),
    [
        ({"login_hint": "nobody"}, "unknown_user_id", "unknown_user_id"),
        ({"login_hint": None}, "invalid_request", "login_hint_missing"),
        ({"login_hint_token": "x"}, "invalid_request", "hint_unsupported"),
        ({"scope": None}, "invalid_request", "scope_missing"),
        ({"scope": "calendar.admin"}, "invalid_scope", "scope_unknown"),
        ({"requested_actor": "agent:unknown"}, "invalid_request", "unknown_actor"),
        ({"binding_message": "x" * 101}, "invalid_binding_message", "binding_message_invalid"),
        ({"binding_message": "line\nbreak"}, "invalid_binding_message", "binding_message_invalid"),
        ({"requested_expiry": "-1"}, "invalid_request", "requested_expiry_invalid"),
        ({"requested_expiry": "soon"}, "invalid_request", "requested_expiry_invalid"),
        ({"user_code": "1234"}, "invalid_request", "user_code_unsupported"),
        ({"authorization_details": "{}"}, "invalid_authorization_details", "authorization_details_malformed"),
        (
            {"authorization_details": '[{"x": 1}]'},
            "invalid_authorization_details",
            "authorization_details_malformed",
        ),
        (
            {"authorization_details": "[" * 5000},
            "invalid_authorization_details",
            "authorization_details_too_deep",
        ),
        ({"login_hint": "al\x00ice"}, "invalid_request", "nul_byte"),
    ],
)
def test_refusals_are_ciba_errors_with_audit(user, client_app, params, error, reason):
    response = bc_authorize(client_app, **params)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == error
    assert AuditEvent.objects.filter(event="backchannel.requested", outcome="failure", reason=reason).exists()
    assert not BackchannelRequest.objects.exists()


def test_duplicate_parameter_refused(user, client_app):
    response = Client().post(
        BC_URL,
        "login_hint=alice&login_hint=mallory&scope=calendar.read",
        content_type="application/x-www-form-urlencoded",
        **client_app.basic(),
    )
    assert response.json()["error"] == "invalid_request"
    assert AuditEvent.objects.filter(reason="duplicate_parameter").exists()


def test_client_authentication_required(user, client_app):
    response = Client().post(
        BC_URL, {"login_hint": "alice", "scope": "calendar.read", "client_id": client_app.client_id}
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    bad = Client().post(BC_URL, {"login_hint": "alice"}, HTTP_AUTHORIZATION="Basic AAAA")
    assert bad.status_code == 401
    assert AuditEvent.objects.filter(event="backchannel.requested", outcome="failure").count() == 2


def test_actor_not_allowed_for_client(user, client_app):
    make_agent("agent:elsewhere")
    response = bc_authorize(client_app, requested_actor="agent:elsewhere")
    assert response.json()["error"] == "unauthorized_client"


def test_scope_beyond_agent(user, client_app):
    make_agent("agent:reader", clients=(client_app,), scopes="calendar.read")
    response = bc_authorize(client_app, requested_actor="agent:reader", scope="calendar.write")
    assert response.json()["error"] == "invalid_scope"


def test_login_hint_by_email_and_user_notified_by_mail(
    user, client_app, agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        start(client_app, agent, login_hint="ALICE@example.com", binding_message="code 42")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@example.com"]
    assert "code 42" in mail.outbox[0].body and "/agents/requests/" in mail.outbox[0].body


def test_badge_on_agents_page(user, client_app, agent):
    start(client_app, agent)
    html = logged_in(user).get("/agents/").content.decode()
    assert 'href="/agents/requests/"' in html and "1 waiting" in html


# --- /agents/requests/: owner only, CSRF, single use ----------------------------------------


def test_other_user_cannot_see_or_answer(user, other_user, client_app, agent):
    _, row = start(client_app, agent, binding_message="secret trip")
    assert "secret trip" not in logged_in(other_user).get(REQUESTS_URL).content.decode()
    assert answer(other_user, row.pk).status_code == 404
    assert BackchannelRequest.objects.get(pk=row.pk).status == "pending"


def test_answer_needs_csrf_token(user, client_app, agent):
    _, row = start(client_app, agent)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.post(f"{REQUESTS_URL}{row.pk}/", {"allow": "yes"}).status_code == 403
    assert BackchannelRequest.objects.get(pk=row.pk).status == "pending"


def test_answer_counts_once(user, client_app, agent):
    _, row = start(client_app, agent)
    answer(user, row.pk)
    second = logged_in(user)
    response = second.post(f"{REQUESTS_URL}{row.pk}/", {}, follow=True)
    assert "already answered" in response.content.decode()
    assert BackchannelRequest.objects.get(pk=row.pk).status == "approved"
    assert AuditEvent.objects.filter(event__startswith="backchannel.").count() == 2


def test_unoffered_duration_decides_nothing(user, client_app, agent):
    _, row = start(client_app, agent)
    answer(user, row.pk, duration="31536000")
    assert BackchannelRequest.objects.get(pk=row.pk).status == "pending"


def test_requests_page_needs_login(client):
    assert client.get(REQUESTS_URL).status_code == 302


def test_disabled_agent_at_approval_time_denies(user, client_app, agent):
    body, row = start(client_app, agent)
    agent.model.is_active = False
    agent.model.save()
    answer(user, row.pk)
    assert BackchannelRequest.objects.get(pk=row.pk).status == "denied"
    assert poll(client_app, body["auth_req_id"]).json()["error"] == "access_denied"


def test_admin_keeps_requests_as_history(admin_client, client_app, agent, user):
    _, row = start(client_app, agent)
    base = f"/admin/django_agent_obo/backchannelrequest/{row.pk}"
    assert admin_client.get(f"{base}/change/").status_code == 200
    assert admin_client.post(f"{base}/change/", {}).status_code == 403
    assert admin_client.post(f"{base}/delete/", {"post": "yes"}).status_code == 403
    assert BackchannelRequest.objects.filter(pk=row.pk).exists()
