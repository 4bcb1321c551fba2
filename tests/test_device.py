"""The device authorization grant with an actor (RFC 8628, SPEC §12)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import get_device_grant_model

from django_agent_obo.models import AgentGrant, AuditEvent, DeviceAuthorization, IssuedToken
from tests.conftest import TOKEN_URL, App, actor_assertion, decode_unverified, logged_in, make_agent
from tests.fixtures_device import (
    DEVICE_AUTHORIZATION_URL,
    DEVICE_CODE,
    answer,
    ask,
    confirm_url,
    device_app,
    enter_code,
    post_form,
    redeem,
)
from tests.fixtures_dpop import DPoPKey


@pytest.fixture
def tv():
    return device_app()


@pytest.fixture
def tv_agent(tv):
    return make_agent(clients=(tv,))


def start(app, agent=None, **params):
    response = ask(app, requested_actor=agent.actor_id if agent else None, **params)
    assert response.status_code == 200, response.content
    return response.json()


def refusals(reason):
    return AuditEvent.objects.filter(event="token.refused", reason=reason).count()


def test_metadata_lists_device_endpoint_and_grant(client):
    data = client.get("/.well-known/oauth-authorization-server").json()
    assert data["device_authorization_endpoint"].endswith("/o/device-authorization/")
    assert DEVICE_CODE in data["grant_types_supported"]


def test_device_authorization_answers_rfc8628_fields(tv):
    body = start(tv)
    assert set(body) >= {"device_code", "user_code", "verification_uri", "expires_in", "interval"}
    assert body["verification_uri"].endswith("/o/device/")
    assert body["verification_uri_complete"].endswith("?user_code=" + body["user_code"])
    assert AuditEvent.objects.filter(event="device.requested", outcome="success").count() == 1


@pytest.mark.parametrize(
    ("actor", "error", "reason"),
    [
        ("agent:unknown", "invalid_request", "unknown_actor"),
        ("agent:other", "unauthorized_client", "actor_not_allowed_for_client"),
    ],
)
def test_unknown_or_not_allowed_actor_refused(tv, tv_agent, actor, error, reason):
    make_agent(actor_id="agent:other")
    response = ask(tv, requested_actor=actor)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert AuditEvent.objects.get(event="device.requested").reason == reason
    assert not get_device_grant_model().objects.exists()


def test_disabled_agent_and_scope_beyond_agent_refused(tv, tv_agent):
    assert ask(tv, requested_actor=tv_agent.actor_id, scope="calendar.read other").json()["error"] in (
        "invalid_scope",
    )
    tv_agent.model.is_active = False
    tv_agent.model.save()
    assert ask(tv, requested_actor=tv_agent.actor_id).json()["error"] == "invalid_request"
    assert not DeviceAuthorization.objects.exists()


def test_client_without_device_grant_refused(client_app, agent):
    response = ask(client_app, requested_actor=agent.actor_id)
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"
    assert AuditEvent.objects.get(event="device.requested").reason == "device_grant_not_allowed"


@pytest.mark.parametrize(
    "extra",
    [
        {"requested_actor": "agent:\x00x"},
        {"dpop_jkt": "not a thumbprint"},
        {"client_id": "other"},
    ],
)
def test_bad_device_authorization_input_is_an_oauth_error(tv, extra):
    response = ask(tv, **extra)
    assert response.status_code in (400, 401)
    assert "error" in response.json()
    assert AuditEvent.objects.filter(event="device.requested", outcome="failure").count() == 1


def test_duplicate_requested_actor_refused(tv, tv_agent):
    response = post_form(
        DEVICE_AUTHORIZATION_URL,
        {"client_id": tv.client_id, "requested_actor": [tv_agent.actor_id, "agent:x"]},
        **tv.basic(),
    )
    assert response.status_code == 400
    assert AuditEvent.objects.get(event="device.requested").reason == "duplicate_parameter"


def test_confirmation_page_names_agent_as_consent_does(tv, tv_agent, user):
    body = start(tv, tv_agent)
    browser = enter_code(user, body["user_code"])
    page = browser.get(confirm_url(tv, body["user_code"]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Agent: Calendar Assistant" in html and "Example Agents Inc." in html
    assert tv_agent.actor_id in html and 'name="allow"' in html and "csrfmiddlewaretoken" in html
    assert body["user_code"] in html
    assert "form-action 'self'" in page["Content-Security-Policy"]


def test_confirmation_requires_csrf(tv, tv_agent, user):
    body = start(tv, tv_agent)
    browser = logged_in(user)
    browser.post("/o/device/", {"user_code": body["user_code"]})
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    response = strict.post(confirm_url(tv, body["user_code"]), {"allow": "Authorize"})
    assert response.status_code == 403
    assert get_device_grant_model().objects.get().status == "authorization-pending"


def test_pending_then_approved_delegated_token_with_act(tv, tv_agent, user):
    body = start(tv, tv_agent)
    pending = redeem(tv, body["device_code"], actor_token=actor_assertion(tv_agent))
    assert pending.json()["error"] == "authorization_pending"
    assert answer(user, tv, body["user_code"]).status_code == 302
    grant = AgentGrant.objects.get(user=user, agent=tv_agent.model)
    consent = AuditEvent.objects.get(event="consent.granted")
    assert consent.actor_chain == [tv_agent.actor_id]
    response = redeem(tv, body["device_code"], actor_token=actor_assertion(tv_agent))
    assert response.status_code == 200, response.content
    claims = decode_unverified(response.json()["access_token"])
    assert claims["act"] == {"sub": tv_agent.actor_id}
    assert "refresh_token" not in response.json()
    record = IssuedToken.objects.get(jti=claims["jti"])
    assert record.kind == IssuedToken.KIND_DELEGATED and record.agent_grant == grant


def test_actor_bound_request_requires_actor_token(tv, tv_agent, user):
    body = start(tv, tv_agent)
    answer(user, tv, body["user_code"])
    response = redeem(tv, body["device_code"])
    assert response.status_code == 400
    assert refusals("actor_token_missing") == 1
    assert redeem(tv, body["device_code"], actor_token=actor_assertion(tv_agent)).status_code == 200


def test_wrong_actor_is_actor_mismatch(tv, tv_agent, user):
    other = make_agent(actor_id="agent:other", clients=(tv,))
    body = start(tv, tv_agent)
    answer(user, tv, body["user_code"])
    response = redeem(tv, body["device_code"], actor_token=actor_assertion(other))
    assert response.json()["error"] == "invalid_grant"
    assert refusals("actor_mismatch") == 1


def test_plain_request_user_token_refuses_actor_token(tv, tv_agent, user):
    body = start(tv)
    answer(user, tv, body["user_code"])
    assert (
        redeem(tv, body["device_code"], actor_token=actor_assertion(tv_agent)).json()["error"]
        == "invalid_grant"
    )
    assert refusals("actor_token_for_plain_request") == 1
    response = redeem(tv, body["device_code"])
    assert response.status_code == 200
    claims = decode_unverified(response.json()["access_token"])
    assert "act" not in claims
    assert IssuedToken.objects.get(jti=claims["jti"]).kind == IssuedToken.KIND_USER


def test_device_code_single_use(tv, user):
    body = start(tv)
    answer(user, tv, body["user_code"])
    assert redeem(tv, body["device_code"]).status_code == 200
    again = redeem(tv, body["device_code"])
    assert again.json()["error"] == "invalid_grant"
    assert refusals("device_code_used") == 1


def test_deny_audits_and_answers_access_denied(tv, tv_agent, user):
    body = start(tv, tv_agent)
    assert answer(user, tv, body["user_code"], allow=False).status_code == 302
    denied = AuditEvent.objects.get(event="consent.denied")
    assert denied.reason == "user_denied" and denied.actor_chain == [tv_agent.actor_id]
    assert not AgentGrant.objects.exists()
    assert (
        redeem(tv, body["device_code"], actor_token=actor_assertion(tv_agent)).json()["error"]
        == "access_denied"
    )


def test_expired_token(tv, user):
    body = start(tv)
    get_device_grant_model().objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert redeem(tv, body["device_code"]).json()["error"] == "expired_token"
    assert refusals("device_code_expired") == 1


def test_slow_down_when_polling_faster_than_interval(tv):
    body = start(tv)
    data = {"grant_type": DEVICE_CODE, "device_code": body["device_code"]}
    assert Client().post(TOKEN_URL, data, **tv.basic()).json()["error"] == "authorization_pending"
    assert Client().post(TOKEN_URL, data, **tv.basic()).json()["error"] == "slow_down"
    assert DeviceAuthorization.objects.get().interval == body["interval"] + 5


@pytest.mark.parametrize(
    "data",
    [
        {"device_code": "unknown"},
        {"device_code": "a\x00b"},
        {"device_code": ["a", "b"]},
        {},
    ],
)
def test_bad_device_code_is_an_oauth_error_never_500(tv, data):
    response = Client().post(TOKEN_URL, {"grant_type": DEVICE_CODE, **data}, **tv.basic())
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_grant", "invalid_request")
    assert AuditEvent.objects.filter(event="token.refused").count() == 1


def test_other_clients_device_code_is_unknown(tv, user):
    body = start(tv)
    answer(user, tv, body["user_code"])
    other = device_app("Other TV")
    assert redeem(other, body["device_code"]).json()["error"] == "invalid_grant"
    assert refusals("device_code_unknown") == 1


def test_second_answer_refused(tv, user):
    body = start(tv)
    answer(user, tv, body["user_code"])
    browser = logged_in(user)
    assert browser.post(confirm_url(tv, body["user_code"]), {}).status_code == 404
    assert get_device_grant_model().objects.get().status == "authorized"


def test_dpop_proof_binds_device_token(tv, user):
    key = DPoPKey()
    body = start(tv)
    answer(user, tv, body["user_code"])
    response = redeem(tv, body["device_code"], HTTP_DPOP=key.proof())
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "DPoP"
    assert decode_unverified(response.json()["access_token"])["cnf"] == {"jkt": key.jkt}


def test_dpop_jkt_at_device_authorization_binds_like_a_code(tv, user):
    key, other = DPoPKey(), DPoPKey()
    body = start(tv, dpop_jkt=key.jkt)
    answer(user, tv, body["user_code"])
    assert redeem(tv, body["device_code"]).json()["error"] == "invalid_dpop_proof"
    assert redeem(tv, body["device_code"], HTTP_DPOP=other.proof()).json()["error"] == "invalid_dpop_proof"
    assert refusals("dpop_missing") == 1 and refusals("dpop_key_mismatch") == 1
    response = redeem(tv, body["device_code"], HTTP_DPOP=key.proof())
    assert response.status_code == 200, response.content
    assert decode_unverified(response.json()["access_token"])["cnf"] == {"jkt": key.jkt}


def test_prune_expired_deletes_expired_device_requests(tv):
    from django.core.management import call_command

    start(tv)
    get_device_grant_model().objects.update(expires=timezone.now() - timedelta(days=2))
    DeviceAuthorization.objects.update(expires_at=timezone.now() - timedelta(days=2))
    call_command("prune_expired", "--older-than", "1")
    assert not get_device_grant_model().objects.exists()
    assert not DeviceAuthorization.objects.exists()


def test_public_client_gets_a_delegated_token_with_its_client_id_only(user, django_user_model):
    from oauth2_provider.models import get_application_model

    Application = get_application_model()
    cli = Application.objects.create(
        name="Calendar CLI",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_DEVICE_CODE,
    )
    agent = make_agent(actor_id="agent:cli", clients=(App(cli, cli.client_id, ""),))
    body = post_form(
        DEVICE_AUTHORIZATION_URL,
        {"client_id": cli.client_id, "scope": "calendar.read", "requested_actor": agent.actor_id},
    ).json()
    browser = enter_code(user, body["user_code"])
    assert (
        browser.post(f"/o/device-confirm/{cli.client_id}/{body['user_code']}/", {"allow": "1"}).status_code
        == 302
    )
    DeviceAuthorization.objects.update(next_poll_at=None)
    data = {
        "grant_type": DEVICE_CODE,
        "client_id": cli.client_id,
        "device_code": body["device_code"],
        "actor_token": actor_assertion(agent),
    }
    response = post_form(TOKEN_URL, data)
    assert response.status_code == 200, response.content
    assert decode_unverified(response.json()["access_token"])["act"] == {"sub": "agent:cli"}


def test_authorization_details_shown_and_carried_into_the_token(tv, tv_agent, user):
    import json

    from tests.fixtures_details import WEEK

    body = start(tv, tv_agent, scope="calendar.write", authorization_details=json.dumps([WEEK]))
    browser = enter_code(user, body["user_code"])
    page = browser.get(confirm_url(tv, body["user_code"])).content.decode()
    assert "from 1 December 2026 to 7 December 2026" in page
    browser.post(confirm_url(tv, body["user_code"]), {"allow": "Authorize"})
    response = redeem(tv, body["device_code"], actor_token=actor_assertion(tv_agent))
    assert response.status_code == 200, response.content
    assert decode_unverified(response.json()["access_token"])["authorization_details"] == [WEEK]


def test_invalid_authorization_details_refused_at_device_authorization(tv, tv_agent):
    response = ask(tv, requested_actor=tv_agent.actor_id, authorization_details='[{"type": "nope"}]')
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_authorization_details"
    assert not DeviceAuthorization.objects.exists()


def test_interval_is_dots_setting(tv, settings, monkeypatch):
    from django_agent_obo.oauth.device_views import AgentDeviceAuthorizationView as View

    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "DEVICE_FLOW_INTERVAL": 0}
    core = View.get_oauthlib_backend_class()(View.get_server())  # DOT caches one per view class
    monkeypatch.setattr(View, "_oauthlib_core", core, raising=False)
    assert start(tv)["interval"] == 0
    assert DeviceAuthorization.objects.get().interval == 0


def test_guessing_user_codes_is_rate_limited_per_user_and_address(settings, tv, user, other_user):
    """RFC 8628 §5.1: user codes are short; wrong guesses are limited, and the limit is kept
    per signed-in user and per address, so a guesser cannot spend someone else's."""
    settings.AGENT_OBO = {**settings.AGENT_OBO, "DEVICE_USER_CODE_RATE_LIMIT": "3/min"}
    body = start(tv)
    browser = logged_in(user)
    for guess in ("AAAAAAAA", "BBBBBBBB", "CCCCCCCC"):
        assert browser.post("/o/device/", {"user_code": guess}).status_code == 200  # form again
    over = browser.post("/o/device/", {"user_code": body["user_code"]})  # even the right one
    assert over.status_code == 429
    assert "Too many" in over.content.decode()
    row = AuditEvent.objects.get(event="consent.denied", reason="user_code_rate_limited")
    assert row.user == user and row.outcome == AuditEvent.FAILURE
    # Another user at another address is not affected.
    elsewhere = logged_in(other_user)
    response = elsewhere.post("/o/device/", {"user_code": body["user_code"]}, REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 302


def test_admin_lists_device_requests_read_only(admin_client, tv, tv_agent, user):
    body = start(tv, tv_agent)
    answer(user, tv, body["user_code"])
    row = DeviceAuthorization.objects.get()
    page = admin_client.get("/admin/django_agent_obo/deviceauthorization/")
    html = page.content.decode()
    assert page.status_code == 200 and tv_agent.model.name in html and user.username in html
    assert body["user_code"] not in html and body["device_code"] not in html
    detail = admin_client.get(f"/admin/django_agent_obo/deviceauthorization/{row.pk}/change/")
    assert detail.status_code == 200 and body["device_code"] not in detail.content.decode()
    assert (
        admin_client.post(f"/admin/django_agent_obo/deviceauthorization/{row.pk}/change/", {}).status_code
        == 403
    )
    assert admin_client.get("/admin/django_agent_obo/deviceauthorization/add/").status_code == 403
    delete = f"/admin/django_agent_obo/deviceauthorization/{row.pk}/delete/"
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert DeviceAuthorization.objects.filter(pk=row.pk).exists()


def test_a_code_entered_while_its_user_approves_stays_with_the_approver(
    tv, tv_agent, user, other_user, monkeypatch
):
    """Someone else entering the user code between the approver's page and its commit (DOT
    saved the new user unconditionally, after the status changed) takes nothing: the token is
    the approver's, and the latecomer is told the code was used."""
    from oauth2_provider.views.device import DeviceGrantForm

    from django_agent_obo import device

    body = start(tv, tv_agent)
    enter_code(user, body["user_code"])
    read_code = DeviceGrantForm.clean_user_code

    def approved_meanwhile(form):
        code = read_code(form)  # the latecomer's form saw the request still pending
        pending = get_device_grant_model().objects.get(user_code=code)
        device.decide(pending, user, allow=True, duration_seconds=None, ip=None)
        return code

    monkeypatch.setattr(DeviceGrantForm, "clean_user_code", approved_meanwhile)
    late = logged_in(other_user).post("/o/device/", {"user_code": body["user_code"]})
    assert late.status_code == 200 and b"already" in late.content, late.content[:300]
    assert get_device_grant_model().objects.get().user_id == user.pk
    response = redeem(tv, body["device_code"], actor_token=actor_assertion(tv_agent))
    assert response.status_code == 200, response.content
    record = IssuedToken.objects.get(jti=decode_unverified(response.json()["access_token"])["jti"])
    assert record.user_id == user.pk and record.agent_grant.user_id == user.pk
