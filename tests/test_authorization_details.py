"""RFC 9396 authorization details: validation, consent binding, tokens, introspection,
narrowing at the token endpoint (codes, refresh, exchange), and hostile input."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from django_agent_obo import authorization_details as rar
from django_agent_obo.models import AuditEvent, CodeBinding, IssuedToken
from tests.conftest import TOKEN_URL, actor_token_issued, error_of, logged_in, make_agent, redeem
from tests.fixtures_details import READ_ALL, WEEK, approve, as_param, consent_page, delegated_with
from tests.fixtures_exchange import (
    accepts,
    assert_refused,
    exchange,
    introspect,
    record_of,
    verified_claims,
)

ERROR = "invalid_authorization_details"


# --- validation ------------------------------------------------------------------------------


def test_a_valid_calendar_event_is_normalised():
    details = rar.parse(
        json.dumps([{"actions": ["create", "read"], "type": "calendar_event", "date_from": "2026-12-01"}])
    )
    assert details == [{"type": "calendar_event", "actions": ["read", "create"], "date_from": "2026-12-01"}]


def test_absent_parameter_is_no_details():
    assert rar.parse(None) == [] and rar.parse("") == []


@pytest.mark.parametrize(
    ("raw", "reason", "words"),
    [
        ("not json", "authorization_details_malformed", "not valid JSON"),
        ('{"type": "calendar_event"}', "authorization_details_malformed", "JSON array"),
        ("[]", "authorization_details_malformed", "empty array"),
        ('["calendar_event"]', "authorization_details_malformed", "object with a string type"),
        ('[{"actions": ["read"]}]', "authorization_details_malformed", "object with a string type"),
        ('[{"type": 7}]', "authorization_details_malformed", "string type"),
        ('[{"type": "payment_initiation"}]', "authorization_details_unknown_type", "unknown type"),
        (
            '[{"type": "calendar_event", "actions": ["read"], "locations": ["x"]}]',
            "authorization_details_invalid",
            "unknown member 'locations'",
        ),
        ('[{"type": "calendar_event"}]', "authorization_details_invalid", "actions"),
        ('[{"type": "calendar_event", "actions": []}]', "authorization_details_invalid", "actions"),
        ('[{"type": "calendar_event", "actions": ["delete"]}]', "authorization_details_invalid", "actions"),
        ('[{"type": "calendar_event", "actions": "read"}]', "authorization_details_invalid", "actions"),
        (
            '[{"type": "calendar_event", "actions": ["read", "read"]}]',
            "authorization_details_invalid",
            "distinct",
        ),
        (
            '[{"type": "calendar_event", "actions": ["read"], "date_from": "1 Dec 2026"}]',
            "authorization_details_invalid",
            "YYYY-MM-DD",
        ),
        (
            '[{"type": "calendar_event", "actions": ["read"], "date_to": "2026-02-30"}]',
            "authorization_details_invalid",
            "not a calendar date",
        ),
        (
            '[{"type": "calendar_event", "actions": ["read"], "date_from": 20261201}]',
            "authorization_details_invalid",
            "YYYY-MM-DD",
        ),
        (
            json.dumps([{**READ_ALL, "date_from": "2026-12-09", "date_to": "2026-12-01"}]),
            "authorization_details_invalid",
            "after",
        ),
        (
            '[{"type": "calendar_event", "type": "other", "actions": ["read"]}]',
            "authorization_details_malformed",
            "not valid JSON",
        ),
        (
            '[{"type": "calendar_event", "actions": [NaN]}]',
            "authorization_details_malformed",
            "not valid JSON",
        ),
        (
            '[{"type": "calendar_event\\u0000", "actions": ["read"]}]',
            "authorization_details_malformed",
            "string",
        ),
        ('[{"type": "calendar_event", "actions": ["\\ud800"]}]', "authorization_details_malformed", "string"),
        ("[" * 5000 + "]" * 5000, "authorization_details_too_large", "longer"),
        ("[" * 4000 + "]" * 4000, "authorization_details_too_deep", "nested"),
        (
            '[{"type": "calendar_event", "actions": [[[[[["read"]]]]]]}]',
            "authorization_details_too_deep",
            "nested",
        ),
        (json.dumps([READ_ALL] * 17), "authorization_details_too_large", "more than 16"),
        (
            json.dumps([{"type": "calendar_event", "x" * 2000: 1}]),
            "authorization_details_malformed",
            "string",
        ),
    ],
)
def test_each_invalid_input_is_refused_with_a_readable_reason(raw, reason, words):
    with pytest.raises(rar.AuthorizationDetailsRefused) as refused:
        rar.parse(raw)
    assert refused.value.error == ERROR
    assert refused.value.reason == reason
    assert words in refused.value.description


def test_an_agent_limited_to_other_types_is_refused(agent):
    agent.model.authorization_details_types = "payment_initiation"
    with pytest.raises(rar.AuthorizationDetailsRefused) as refused:
        rar.parse(json.dumps([READ_ALL]), agent=agent.model)
    assert refused.value.reason == "authorization_details_type_not_allowed"
    agent.model.authorization_details_types = "calendar_event payment_initiation"
    assert rar.parse(json.dumps([READ_ALL]), agent=agent.model) == [READ_ALL]


def test_narrow_keeps_narrower_and_refuses_wider():
    assert rar.narrow([WEEK], []) == [WEEK]
    day = {**WEEK, "date_from": "2026-12-02", "date_to": "2026-12-02"}
    assert rar.narrow([WEEK], [day]) == [day]
    for wider in (
        {**WEEK, "date_to": "2026-12-08"},
        {**WEEK, "actions": ["read", "create"]},
        {"type": "calendar_event", "actions": ["create"]},  # no date range: any date
    ):
        with pytest.raises(rar.AuthorizationDetailsRefused) as refused:
            rar.narrow([WEEK], [wider])
        assert refused.value.reason == "authorization_details_widened"
    with pytest.raises(rar.AuthorizationDetailsRefused):
        rar.narrow([], [day])  # nothing approved: nothing can be added


def test_an_undeclared_type_is_compared_by_the_generic_rule():
    approved = [{"type": "x", "actions": ["a", "b"], "locations": ["https://a.example"]}]
    assert rar.covers(approved, {"type": "x", "actions": ["a"], "locations": ["https://a.example"]})
    assert not rar.covers(approved, {"type": "x", "actions": ["a"]})  # no location: any location
    assert not rar.covers(approved, {"type": "x", "actions": ["c"], "locations": ["https://a.example"]})
    assert rar.describe(approved) == ["x (actions: a, b, locations: https://a.example)"]


def test_details_are_said_in_words():
    assert rar.describe([WEEK, READ_ALL]) == [
        "Create events in your calendar from 1 December 2026 to 7 December 2026",
        "Read events in your calendar, any date",
    ]


def test_metadata_lists_the_declared_types():
    data = Client().get("/.well-known/oauth-authorization-server").json()
    assert data["authorization_details_types_supported"] == ["calendar_event"]


def test_metadata_leaves_the_field_out_without_types(settings):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "AUTHORIZATION_DETAILS_TYPES": {}}
    data = Client().get("/.well-known/oauth-authorization-server").json()
    assert "authorization_details_types_supported" not in data


# --- the authorization endpoint -------------------------------------------------------------


def test_consent_page_shows_each_detail_in_words(user, client_app, agent):
    _, page = consent_page(logged_in(user), client_app, [WEEK, READ_ALL], actor=agent.actor_id)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Create events in your calendar from 1 December 2026 to 7 December 2026" in html
    assert "Read events in your calendar, any date" in html


def test_approval_binds_what_was_displayed_to_the_code(user, client_app, agent):
    code, _ = approve(logged_in(user), client_app, [WEEK], actor=agent.actor_id)
    from django_agent_obo.delegation import code_hash

    assert CodeBinding.objects.get(code_hash=code_hash(code)).authorization_details == [WEEK]
    granted = AuditEvent.objects.get(event="consent.granted")
    assert granted.detail["authorization_details"] == [WEEK]


def test_a_tampered_consent_form_grants_nothing_beyond_what_was_displayed(user, client_app, agent):
    wider = as_param([{"type": "calendar_event", "actions": ["read", "create"]}])
    code, verifier = approve(
        logged_in(user), client_app, [WEEK], actor=agent.actor_id, authorization_details=wider
    )
    assert CodeBinding.objects.get().authorization_details == [WEEK]
    token = redeem(client_app, code, verifier, actor_token=actor_token_issued(agent)).json()["access_token"]
    assert verified_claims(token)["authorization_details"] == [WEEK]


def test_a_consent_form_cannot_add_details_to_a_request_without_them(user, client_app, agent):
    from tests.conftest import get_code

    browser = logged_in(user)
    code, verifier = get_code(browser, client_app, actor=agent.actor_id)
    assert CodeBinding.objects.get().authorization_details == []
    response = redeem(client_app, code, verifier, actor_token=actor_token_issued(agent))
    assert "authorization_details" not in verified_claims(response.json()["access_token"])


@pytest.mark.parametrize(
    "raw",
    [
        '[{"type": "payment_initiation"}]',
        '[{"type": "calendar_event", "actions": ["read"], "extra": 1}]',
        "not json",
        "[" * 3000 + "]" * 3000,
    ],  # a NUL anywhere is refused before this check: tests/test_control_characters.py
)
def test_invalid_details_redirect_back_with_the_error_and_state(user, client_app, agent, raw):
    params, response = consent_page(logged_in(user), client_app, raw, actor=agent.actor_id)
    from tests.conftest import redirect_params

    values = redirect_params(response)
    assert values["error"] == ERROR
    assert values["state"] == params["state"]
    assert values["error_description"]
    assert "code" not in values
    row = AuditEvent.objects.get(event="consent.denied")
    assert row.outcome == "failure" and row.reason.startswith("authorization_details_")
    assert not CodeBinding.objects.exists()


def test_duplicate_authorization_details_is_invalid_request(user, client_app, agent):
    from urllib.parse import urlencode

    from tests.conftest import AUTHORIZE_URL, authorize_params, pkce, redirect_params

    _, challenge = pkce()
    params = authorize_params(client_app, challenge, agent.actor_id, authorization_details=json.dumps([WEEK]))
    query = urlencode(params) + "&" + urlencode({"authorization_details": json.dumps([READ_ALL])})
    values = redirect_params(logged_in(user).get(AUTHORIZE_URL + "?" + query))
    assert values["error"] == "invalid_request"


def test_type_the_agent_may_not_have_is_refused_at_consent(user, client_app, agent):
    agent.model.authorization_details_types = "payment_initiation"
    agent.model.save()
    _, response = consent_page(logged_in(user), client_app, [WEEK], actor=agent.actor_id)
    from tests.conftest import redirect_params

    assert redirect_params(response)["error"] == ERROR
    assert AuditEvent.objects.get(event="consent.denied").reason == "authorization_details_type_not_allowed"


def test_type_withdrawn_between_page_and_approval_is_refused(user, client_app, agent):
    from tests.conftest import hidden_fields, redirect_params

    browser = logged_in(user)
    _, page = consent_page(browser, client_app, [WEEK], actor=agent.actor_id)
    agent.model.authorization_details_types = "payment_initiation"
    agent.model.save()
    form = hidden_fields(page.content.decode())
    form["allow"] = "Authorize"
    assert redirect_params(browser.post("/o/authorize/", form))["error"] == ERROR
    assert not CodeBinding.objects.exists()


def test_details_are_never_auto_approved(user, client_app):
    client_app.model.skip_authorization = True
    client_app.model.save()
    _, page = consent_page(logged_in(user), client_app, [READ_ALL])
    assert page.status_code == 200 and "Read events in your calendar" in page.content.decode()


def test_details_work_without_an_actor_too(user, client_app):
    code, verifier = approve(logged_in(user), client_app, [READ_ALL])
    claims = verified_claims(redeem(client_app, code, verifier).json()["access_token"])
    assert claims["authorization_details"] == [READ_ALL] and "act" not in claims


# --- tokens, introspection ------------------------------------------------------------------


def test_token_record_and_introspection_carry_the_approved_details(user, client_app, agent):
    response = delegated_with(user, client_app, agent, [WEEK])
    assert response.status_code == 200, response.content
    token = response.json()["access_token"]
    claims = verified_claims(token)
    assert claims["authorization_details"] == [WEEK]
    assert claims["act"] == {"sub": agent.actor_id}
    assert record_of(token).authorization_details == [WEEK]
    assert introspect(client_app, token)["authorization_details"] == [WEEK]


def test_adapter_claims_cannot_forge_details(user, client_app, agent, settings):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "ADAPTER": "tests.test_authorization_details.ForgingAdapter"}
    response = delegated_with(user, client_app, agent, [WEEK])
    assert verified_claims(response.json()["access_token"])["authorization_details"] == [WEEK]


from django_agent_obo.adapter import DefaultAgentOBOAdapter  # noqa: E402


class ForgingAdapter(DefaultAgentOBOAdapter):
    def extra_claims(self, request):
        return {"authorization_details": [{"type": "calendar_event", "actions": ["read", "create"]}]}


def test_code_redemption_may_narrow_but_not_widen(user, client_app, agent):
    day = {**WEEK, "date_from": "2026-12-03", "date_to": "2026-12-03"}
    narrowed = delegated_with(user, client_app, agent, [WEEK], authorization_details=json.dumps([day]))
    assert verified_claims(narrowed.json()["access_token"])["authorization_details"] == [day]
    wider = json.dumps([{**WEEK, "date_to": "2026-12-31"}])
    refused = delegated_with(user, client_app, agent, [WEEK], authorization_details=wider)
    row = assert_refused(refused, ERROR, "authorization_details_widened")
    assert row.actor_id == agent.actor_id
    assert "more than was approved" in refused.json()["error_description"]


def test_client_credentials_cannot_obtain_details(agent):
    response = Client().post(
        TOKEN_URL,
        {"grant_type": "client_credentials", "authorization_details": json.dumps([READ_ALL])},
        **agent.app.basic(),
    )
    assert_refused(response, ERROR, "authorization_details_widened")


def refresh(app, refresh_token, **extra):
    return Client().post(
        TOKEN_URL, {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}, **app.basic()
    )


def test_refresh_keeps_the_details_and_cannot_widen_them(user, client_app, agent):
    first = delegated_with(user, client_app, agent, [WEEK]).json()
    second = refresh(client_app, first["refresh_token"], actor_token=actor_token_issued(agent))
    assert second.status_code == 200, second.content
    assert verified_claims(second.json()["access_token"])["authorization_details"] == [WEEK]
    third = refresh(client_app, second.json()["refresh_token"], actor_token=actor_token_issued(agent))
    assert verified_claims(third.json()["access_token"])["authorization_details"] == [WEEK]
    wider = refresh(
        client_app,
        third.json()["refresh_token"],
        actor_token=actor_token_issued(agent),
        authorization_details=json.dumps([READ_ALL]),
    )
    assert_refused(wider, ERROR, "authorization_details_widened")


def test_refresh_of_a_plain_user_token_keeps_details(user, client_app):
    code, verifier = approve(logged_in(user), client_app, [READ_ALL])
    first = redeem(client_app, code, verifier).json()
    second = refresh(client_app, first["refresh_token"])
    assert verified_claims(second.json()["access_token"])["authorization_details"] == [READ_ALL]


# --- token exchange (RFC 8693): only narrower ------------------------------------------------


def test_exchange_keeps_or_narrows_the_subject_tokens_details(user, client_app, agent):
    subject = delegated_with(user, client_app, agent, [WEEK]).json()["access_token"]
    kept = exchange(agent, subject)
    assert kept.status_code == 200, kept.content
    assert verified_claims(kept.json()["access_token"])["authorization_details"] == [WEEK]
    day = {**WEEK, "date_from": "2026-12-05", "date_to": "2026-12-05"}
    narrowed = exchange(agent, subject, authorization_details=json.dumps([day]))
    assert narrowed.status_code == 200, narrowed.content
    token = narrowed.json()["access_token"]
    assert verified_claims(token)["authorization_details"] == [day]
    assert introspect(client_app, token)["authorization_details"] == [day]


def test_exchange_to_a_next_agent_narrows_too(user, client_app, agent):
    subject = delegated_with(user, client_app, agent, [WEEK]).json()["access_token"]
    helper = make_agent("agent:helper", clients=(client_app,))
    accepts(helper, agent)
    day = {**WEEK, "date_from": "2026-12-05", "date_to": "2026-12-05"}
    response = exchange(
        agent, subject, actor_token=actor_token_issued(helper), authorization_details=json.dumps([day])
    )
    assert response.status_code == 200, response.content
    claims = verified_claims(response.json()["access_token"])
    assert claims["authorization_details"] == [day]
    assert claims["act"]["sub"] == "agent:helper"


@pytest.mark.parametrize(
    "wider",
    [
        [{**WEEK, "actions": ["read", "create"]}],
        [{**WEEK, "date_from": "2026-11-30"}],
        [WEEK, READ_ALL],
        [{"type": "calendar_event", "actions": ["create"]}],
    ],
)
def test_exchange_refuses_widening(user, client_app, agent, wider):
    subject = delegated_with(user, client_app, agent, [WEEK]).json()["access_token"]
    response = exchange(agent, subject, authorization_details=json.dumps(wider))
    assert_refused(response, ERROR, "authorization_details_widened")
    assert IssuedToken.objects.filter(parent__isnull=False).count() == 0


def test_exchange_cannot_add_details_to_a_token_without_them(user, client_app, agent):
    from tests.fixtures_exchange import delegate

    subject = delegate(user, client_app, agent)["access_token"]
    response = exchange(agent, subject, authorization_details=json.dumps([READ_ALL]))
    assert_refused(response, ERROR, "authorization_details_widened")


def test_exchange_with_invalid_details_is_refused(user, client_app, agent):
    subject = delegated_with(user, client_app, agent, [WEEK]).json()["access_token"]
    response = exchange(
        agent, subject, authorization_details='[{"type": "calendar_event", "actions": ["x"]}]'
    )
    assert_refused(response, ERROR, "authorization_details_invalid")


# --- hostile input at the token endpoint: 400 JSON, never a 500 --------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "\x00",
        '[{"type": "calendar_event\x00", "actions": ["read"]}]',
        '[{"type": "calendar_event\\u0000", "actions": ["read"]}]',
        "[" * 4000 + "]" * 4000,
        '[{"type": "calendar_event", "actions": ["read"], "date_from": "' + "9" * 900 + '"}]',
        "[" + "9" * 5000 + "]",
        '{"type": "calendar_event"}',
    ],
)
def test_hostile_details_at_the_token_endpoint_get_a_clear_error(user, client_app, agent, raw):
    subject = delegated_with(user, client_app, agent, [WEEK]).json()["access_token"]
    response = exchange(agent, subject, authorization_details=raw)
    assert response.status_code == 400, response.content
    assert error_of(response) in (ERROR, "invalid_request")
    assert response.json()["error_description"]


def test_huge_details_at_the_token_endpoint_are_refused_before_parsing(user, client_app, agent):
    subject = delegated_with(user, client_app, agent, [WEEK]).json()["access_token"]
    response = exchange(agent, subject, authorization_details=json.dumps([READ_ALL] * 2000))
    assert response.status_code == 400 and error_of(response) == "invalid_request"


def test_duplicate_details_at_the_token_endpoint_are_refused(user, client_app, agent):
    subject = delegated_with(user, client_app, agent, [WEEK]).json()["access_token"]
    body = {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": subject,
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "authorization_details": [json.dumps([WEEK]), json.dumps([READ_ALL])],
    }
    response = Client().post(TOKEN_URL, body, **agent.app.basic())
    assert_refused(response, "invalid_request", "duplicate_parameter")
