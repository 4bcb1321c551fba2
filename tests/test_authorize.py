"""The authorization endpoint with requested_actor (draft -02 §4) and its consent page."""

from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone

from django_agent_obo.models import AgentGrant, AuditEvent, CodeBinding
from tests.conftest import (
    AUTHORIZE_URL,
    ISSUER,
    REDIRECT_URI,
    authorize_params,
    get_code,
    hidden_fields,
    logged_in,
    make_agent,
    make_app,
    pkce,
    redirect_params,
)


def consent_page(browser, app, actor, **extra):
    _, challenge = pkce()
    params = authorize_params(app, challenge, actor, **extra)
    return params, browser.get(AUTHORIZE_URL + "?" + urlencode(params))


def test_consent_page_names_client_agent_and_scopes_in_words(user, client_app, agent):
    _, page = consent_page(logged_in(user), client_app, agent.actor_id, scope="calendar.read calendar.write")
    html = page.content.decode()
    assert page.status_code == 200
    for text in (
        "Calendar client",
        client_app.client_id,
        "Calendar Assistant",
        "Example Agents Inc.",
        "agent:calendar-assistant",
        "Reads and writes your calendar.",
        "Read your calendar events",
        "Create events in your calendar",
    ):
        assert text in html


def test_consent_page_cannot_be_framed_and_loads_nothing_remote(user, client_app, agent):
    _, page = consent_page(logged_in(user), client_app, agent.actor_id)
    assert page["X-Frame-Options"] == "DENY"
    csp = page["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert "https://client.example" in csp  # the form may land on the registered client
    assert "<script" not in page.content.decode()


def test_agent_fields_are_escaped_on_the_consent_page(user, client_app):
    hostile = make_agent(actor_id="agent:hostile", clients=(client_app,), name='<script>alert("x")</script>')
    _, page = consent_page(logged_in(user), client_app, hostile.actor_id)
    html = page.content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert" in html


def test_anonymous_user_is_sent_to_login_first(client_app, agent):
    _, page = consent_page(Client(), client_app, agent.actor_id)
    assert page.status_code == 302
    assert page["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize(
    ("actor", "setup", "error", "reason"),
    [
        ("agent:nobody", None, "invalid_request", "unknown_actor"),
        ("agent:calendar-assistant", "disable", "invalid_request", "agent_disabled"),
        ("agent:calendar-assistant", "expire", "invalid_request", "agent_expired"),
        ("agent:calendar-assistant", "other_client", "unauthorized_client", "actor_not_allowed_for_client"),
        ("agent:calendar-assistant", "narrow_scopes", "invalid_scope", "scope_beyond_actor"),
    ],
)
def test_refused_actor_redirects_back_with_error_state_and_iss(
    user, client_app, agent, actor, setup, error, reason
):
    if setup == "disable":
        agent.model.is_active = False
        agent.model.save()
    elif setup == "expire":
        agent.model.valid_until = timezone.now()
        agent.model.save()
    elif setup == "other_client":
        agent.model.allowed_clients.set([make_app("Other").model])
    elif setup == "narrow_scopes":
        agent.model.allowed_scopes = "calendar.read"
        agent.model.save()
    params, response = consent_page(logged_in(user), client_app, actor, scope="calendar.read calendar.write")
    values = redirect_params(response)
    assert values["error"] == error
    assert values["state"] == params["state"]
    assert values["iss"] == ISSUER
    assert "code" not in values
    row = AuditEvent.objects.get(event="consent.denied")
    assert (row.outcome, row.reason, row.username) == ("failure", reason, "alice")
    assert not CodeBinding.objects.exists()


def test_unregistered_redirect_uri_gets_an_error_page_never_a_redirect(user, client_app, agent):
    _, response = consent_page(
        logged_in(user), client_app, agent.actor_id, redirect_uri="https://evil.example/steal"
    )
    assert response.status_code == 400
    assert "evil.example" not in response.get("Location", "")


def test_duplicated_requested_actor_is_invalid_request(user, client_app, agent):
    _, challenge = pkce()
    params = authorize_params(client_app, challenge, agent.actor_id)
    query = urlencode(params) + "&requested_actor=agent%3Aother"
    values = redirect_params(logged_in(user).get(AUTHORIZE_URL + "?" + query))
    assert values["error"] == "invalid_request"


@pytest.mark.parametrize("method", ["plain", None])
def test_actor_flow_requires_pkce_s256(user, client_app, agent, method):
    extra = {"code_challenge_method": method} if method else {}
    _, challenge = pkce()
    params = authorize_params(client_app, challenge, agent.actor_id, **extra)
    if method is None:
        params.pop("code_challenge_method")
    values = redirect_params(logged_in(user).get(AUTHORIZE_URL + "?" + urlencode(params)))
    assert values["error"] == "invalid_request"


def test_missing_pkce_is_refused(user, client_app, agent):
    _, challenge = pkce()
    params = authorize_params(client_app, challenge, agent.actor_id)
    params.pop("code_challenge")
    params.pop("code_challenge_method")
    values = redirect_params(logged_in(user).get(AUTHORIZE_URL + "?" + urlencode(params)))
    assert values["error"] == "invalid_request"


def test_deny_redirects_with_access_denied_and_audits(user, client_app, agent):
    browser = logged_in(user)
    params, page = consent_page(browser, client_app, agent.actor_id)
    form = hidden_fields(page.content.decode())  # no "allow" field: the user pressed Deny
    values = redirect_params(browser.post(AUTHORIZE_URL, form))
    assert values["error"] == "access_denied"
    assert values["state"] == params["state"]
    assert AuditEvent.objects.filter(event="consent.denied", reason="user_denied").exists()
    assert not AgentGrant.objects.exists()


def test_approval_issues_a_code_bound_to_user_client_actor_and_scopes(user, client_app, agent):
    code, _ = get_code(
        logged_in(user), client_app, actor=agent.actor_id, scope="calendar.read calendar.write"
    )
    from django_agent_obo.delegation import code_hash

    binding = CodeBinding.objects.get(code_hash=code_hash(code))
    assert (binding.user, binding.application, binding.agent) == (user, client_app.model, agent.model)
    assert set(binding.scope.split()) == {"calendar.read", "calendar.write"}
    grant = AgentGrant.objects.get()
    assert grant.agent == agent.model and grant.revoked_at is None
    events = list(AuditEvent.objects.order_by("id").values_list("event", "actor_id"))
    assert events == [("consent.granted", agent.actor_id), ("code.issued", agent.actor_id)]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("scope", "calendar.read calendar.write"),
        ("client_id", "someone-else"),
        ("redirect_uri", "https://client.example/other"),
        ("code_challenge", "A" * 43),
    ],
)
def test_tampered_hidden_field_grants_nothing(user, client_app, agent, field, value):
    browser = logged_in(user)
    _, page = consent_page(browser, client_app, agent.actor_id)
    form = hidden_fields(page.content.decode())
    form[field] = value
    form["allow"] = "Authorize"
    response = browser.post(AUTHORIZE_URL, form)
    assert response.status_code == 400
    assert not CodeBinding.objects.exists()
    assert AuditEvent.objects.filter(event="consent.denied", reason="consent_tampered").exists()


def test_consent_cannot_be_replayed_or_used_from_another_session(user, other_user, client_app, agent):
    browser = logged_in(user)
    _, page = consent_page(browser, client_app, agent.actor_id)
    form = hidden_fields(page.content.decode())
    form["allow"] = "Authorize"
    assert logged_in(other_user).post(AUTHORIZE_URL, form).status_code == 400
    assert browser.post(AUTHORIZE_URL, form).status_code == 302
    assert browser.post(AUTHORIZE_URL, form).status_code == 400  # one answer per consent
    assert CodeBinding.objects.count() == 1


def test_consent_post_needs_csrf_token(user, client_app, agent):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    _, page = consent_page(browser, client_app, agent.actor_id)
    form = hidden_fields(page.content.decode())
    form.pop("csrfmiddlewaretoken")
    form["allow"] = "Authorize"
    assert browser.post(AUTHORIZE_URL, form).status_code == 403
    assert not CodeBinding.objects.exists()


def test_tampered_duration_is_refused(user, client_app, agent):
    browser = logged_in(user)
    _, page = consent_page(browser, client_app, agent.actor_id)
    form = hidden_fields(page.content.decode())
    form.update(allow="Authorize", duration="999999999")
    assert browser.post(AUTHORIZE_URL, form).status_code == 400
    assert not AgentGrant.objects.exists()


def test_agent_disabled_between_page_and_approval_is_refused(user, client_app, agent):
    browser = logged_in(user)
    _, page = consent_page(browser, client_app, agent.actor_id)
    form = hidden_fields(page.content.decode())
    form["allow"] = "Authorize"
    agent.model.is_active = False
    agent.model.save()
    values = redirect_params(browser.post(AUTHORIZE_URL, form))
    assert values["error"] == "invalid_request"
    assert not CodeBinding.objects.exists()


def test_agent_delegation_is_never_auto_approved(user, client_app, agent):
    client_app.model.skip_authorization = True
    client_app.model.save()
    _, page = consent_page(logged_in(user), client_app, agent.actor_id)
    assert page.status_code == 200  # the consent page, not a redirect with a code


def test_plain_flow_without_actor_still_works_like_dot(user, client_app):
    code, _ = get_code(logged_in(user), client_app)
    binding = CodeBinding.objects.get()
    assert binding.agent is None and code


def test_chosen_duration_sets_grant_expiry(user, client_app, agent):
    get_code(logged_in(user), client_app, actor=agent.actor_id, duration="3600")
    grant = AgentGrant.objects.get()
    remaining = (grant.expires_at - timezone.now()).total_seconds()
    assert 3500 < remaining <= 3600


def test_forever_duration_leaves_grant_open_ended(user, client_app, agent):
    get_code(logged_in(user), client_app, actor=agent.actor_id, duration="forever")
    assert AgentGrant.objects.get().expires_at is None


def test_redirect_uri_must_match_exactly(user, client_app, agent):
    _, response = consent_page(logged_in(user), client_app, agent.actor_id, redirect_uri=REDIRECT_URI + "/x")
    assert response.status_code == 400


def test_refusals_by_oauthlib_are_audited_too(user, client_app, agent):
    _, challenge = pkce()
    params = authorize_params(client_app, challenge, agent.actor_id)
    params.pop("code_challenge")
    params.pop("code_challenge_method")
    logged_in(user).get(AUTHORIZE_URL + "?" + urlencode(params))
    consent_page(logged_in(user), client_app, agent.actor_id, redirect_uri="https://evil.example/")
    rows = list(
        AuditEvent.objects.filter(event="consent.denied").values_list("reason", "outcome", "actor_id")
    )
    assert len(rows) == 2 and all(r[1] == "failure" and r[0] and r[2] == agent.actor_id for r in rows)


def test_expired_consent_request_is_refused_and_audited(user, client_app, agent, settings):
    browser = logged_in(user)
    _, page = consent_page(browser, client_app, agent.actor_id)
    form = hidden_fields(page.content.decode())
    form["allow"] = "Authorize"
    settings.AGENT_OBO = {**settings.AGENT_OBO, "CONSENT_TTL_SECONDS": -1}
    assert browser.post(AUTHORIZE_URL, form).status_code == 400
    assert AuditEvent.objects.filter(event="consent.denied", reason="consent_expired").exists()
    assert not CodeBinding.objects.exists()


def test_incomplete_consent_post_is_refused_and_audited(user, client_app, agent):
    response = logged_in(user).post(AUTHORIZE_URL, {"allow": "Authorize", "client_id": client_app.client_id})
    assert response.status_code == 400
    assert AuditEvent.objects.filter(event="consent.denied", reason="consent_form_invalid").exists()
    assert not CodeBinding.objects.exists()
