"""RFC 8693 token exchange at /o/token/: nested `act`, who may exchange, what may change."""

from __future__ import annotations

import json
import time
from io import StringIO

import jwt
import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from django_agent_obo import delegation, keys, tokens
from django_agent_obo.models import Agent, AgentGrant, AuditEvent, IssuedToken
from tests.conftest import actor_assertion, actor_token_issued, make_agent, rsa_jwk
from tests.fixtures_exchange import (
    ACCESS_TOKEN_TYPE,
    TOKEN_EXCHANGE,
    accepts,
    assert_refused,
    delegate,
    exchange,
    hand_over,
    last_event,
    record_of,
    verified_claims,
)

API = "http://127.0.0.1:8000/api/"


@pytest.fixture
def scheduler(client_app, agent):
    """A second agent that accepts delegation from the calendar assistant."""
    found = make_agent("agent:scheduler", name="Scheduler")
    accepts(found, agent)
    return found


@pytest.fixture
def mailer(scheduler):
    """A third agent that accepts delegation from the scheduler."""
    found = make_agent("agent:mailer", name="Mailer")
    accepts(found, scheduler)
    return found


# --- valid chains ------------------------------------------------------------------------------


def test_exchange_to_next_agent_nests_act_and_keeps_user_and_client(user, client_app, agent, scheduler):
    first = delegate(user, client_app, agent)
    response = exchange(agent, first["access_token"], actor_token=actor_token_issued(scheduler))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "calendar.read"
    assert "refresh_token" not in body
    assert response["Cache-Control"] == "no-store"
    claims = verified_claims(body["access_token"])
    original = verified_claims(first["access_token"])
    assert claims["sub"] == original["sub"] == str(user.pk)
    assert claims["client_id"] == claims["azp"] == client_app.client_id
    assert claims["act"] == {"sub": "agent:scheduler", "act": {"sub": "agent:calendar-assistant"}}
    assert claims["aud"] == original["aud"]
    assert claims["jti"] != original["jti"]


def test_exchange_is_audited_with_the_full_chain_and_its_parent(user, client_app, agent, scheduler):
    first = delegate(user, client_app, agent)
    token = hand_over(agent, first["access_token"], scheduler)
    row = last_event("token.exchanged")
    assert row.outcome == AuditEvent.SUCCESS
    assert row.actor_id == "agent:scheduler"
    assert row.actor_chain == ["agent:scheduler", "agent:calendar-assistant"]
    assert row.user == user and row.client_id == client_app.client_id
    assert row.jti == verified_claims(token)["jti"]
    assert row.detail["parent_jti"] == verified_claims(first["access_token"])["jti"]
    child = record_of(token)
    assert child.parent == record_of(first["access_token"])
    assert child.agent == scheduler.model and child.agent_grant == AgentGrant.objects.get()


def test_chain_of_depth_three_nests_every_actor(user, client_app, agent, scheduler, mailer):
    first = delegate(user, client_app, agent)
    second = hand_over(agent, first["access_token"], scheduler)
    third = hand_over(scheduler, second, mailer)
    assert verified_claims(third)["act"] == {
        "sub": "agent:mailer",
        "act": {"sub": "agent:scheduler", "act": {"sub": "agent:calendar-assistant"}},
    }
    assert record_of(third).parent == record_of(second)
    assert last_event("token.exchanged").actor_chain == [
        "agent:mailer",
        "agent:scheduler",
        "agent:calendar-assistant",
    ]


def test_next_agent_may_prove_itself_with_a_self_signed_assertion(user, client_app, agent, scheduler):
    first = delegate(user, client_app, agent)
    response = exchange(
        agent,
        first["access_token"],
        actor_token=actor_assertion(scheduler),
        actor_token_type="urn:ietf:params:oauth:token-type:jwt",
    )
    assert response.status_code == 200, response.content
    assert verified_claims(response.json()["access_token"])["act"]["sub"] == "agent:scheduler"


def test_exchange_without_actor_token_retargets_for_the_same_actor(settings, user, client_app, agent):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "EXCHANGE_AUDIENCES": ["https://mail.example/api"]}
    first = delegate(user, client_app, agent)
    response = exchange(agent, first["access_token"], resource="https://mail.example/api")
    assert response.status_code == 200, response.content
    claims = verified_claims(response.json()["access_token"])
    assert claims["act"] == {"sub": "agent:calendar-assistant"}
    assert claims["aud"] == "https://mail.example/api"
    assert record_of(response.json()["access_token"]).parent == record_of(first["access_token"])


def test_metadata_advertises_token_exchange():
    metadata = Client().get("/.well-known/oauth-authorization-server").json()
    assert TOKEN_EXCHANGE in metadata["grant_types_supported"]


# --- the policy on each hop ---------------------------------------------------------------------


def test_chain_longer_than_the_configured_depth_is_refused(
    settings, user, client_app, agent, scheduler, mailer
):
    courier = make_agent("agent:courier", name="Courier")
    accepts(courier, mailer)
    first = delegate(user, client_app, agent)
    third = hand_over(scheduler, hand_over(agent, first["access_token"], scheduler), mailer)
    response = exchange(mailer, third, actor_token=actor_token_issued(courier))
    row = assert_refused(response, "invalid_request", "delegation_depth_exceeded")
    assert row.actor_chain == ["agent:courier", "agent:mailer", "agent:scheduler", "agent:calendar-assistant"]
    settings.AGENT_OBO = {**settings.AGENT_OBO, "MAX_DELEGATION_DEPTH": 4}
    response = exchange(mailer, third, actor_token=actor_token_issued(courier))
    assert response.status_code == 200, response.content


def test_depth_of_one_forbids_any_hop(settings, user, client_app, agent, scheduler):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "MAX_DELEGATION_DEPTH": 1}
    first = delegate(user, client_app, agent)
    response = exchange(agent, first["access_token"], actor_token=actor_token_issued(scheduler))
    assert_refused(response, "invalid_request", "delegation_depth_exceeded")


def test_cycle_back_to_an_earlier_actor_is_refused(user, client_app, agent, scheduler):
    accepts(agent, scheduler)
    first = delegate(user, client_app, agent)
    second = hand_over(agent, first["access_token"], scheduler)
    response = exchange(scheduler, second, actor_token=actor_token_issued(agent))
    assert_refused(response, "invalid_request", "delegation_cycle")


def test_agent_cannot_hand_its_token_to_itself(user, client_app, agent):
    accepts(agent, agent)
    first = delegate(user, client_app, agent)
    response = exchange(agent, first["access_token"], actor_token=actor_token_issued(agent))
    assert_refused(response, "invalid_request", "delegation_cycle")


def test_next_agent_accepts_only_agents_an_admin_allowed(user, client_app, agent):
    stranger = make_agent("agent:stranger", name="Stranger")
    first = delegate(user, client_app, agent)
    response = exchange(agent, first["access_token"], actor_token=actor_token_issued(stranger))
    row = assert_refused(response, "invalid_request", "delegation_not_allowed")
    assert row.actor_chain == ["agent:stranger", "agent:calendar-assistant"]
    assert row.user == user
    assert not IssuedToken.objects.filter(agent=stranger.model).exclude(kind="actor").exists()


def test_allowance_is_one_way(user, client_app, agent, scheduler):
    """The scheduler accepts the assistant; that does not make the assistant accept the scheduler."""
    assert not agent.model.accepts_delegation_from.filter(pk=scheduler.model.pk).exists()
    first = delegate(user, client_app, agent)
    second = hand_over(agent, first["access_token"], scheduler)
    third_party = make_agent("agent:third", name="Third")
    response = exchange(scheduler, second, actor_token=actor_token_issued(third_party))
    assert_refused(response, "invalid_request", "delegation_not_allowed")


def test_adapter_can_allow_a_hop_the_registry_does_not(settings, user, client_app, agent):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "ADAPTER": "tests.fixtures_exchange.AcceptEveryoneAdapter"}
    stranger = make_agent("agent:stranger", name="Stranger")
    first = delegate(user, client_app, agent)
    response = exchange(agent, first["access_token"], actor_token=actor_token_issued(stranger))
    assert response.status_code == 200, response.content


def test_adapter_can_refuse_a_hop_the_registry_allows(settings, user, client_app, agent, scheduler):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "ADAPTER": "tests.fixtures_exchange.RefuseEveryoneAdapter"}
    first = delegate(user, client_app, agent)
    response = exchange(agent, first["access_token"], actor_token=actor_token_issued(scheduler))
    assert_refused(response, "invalid_request", "delegation_not_allowed")


def test_create_agent_records_whom_an_agent_accepts_delegation_from(user, client_app, agent, scheduler):
    out = StringIO()
    call_command(
        "create_agent",
        "agent:reporter",
        "--name",
        "Reporter",
        "--scopes",
        "calendar.read",
        "--accepts-delegation-from",
        agent.actor_id,
        "--accepts-delegation-from",
        scheduler.actor_id,
        "--credentials",
        "--json",
        stdout=out,
    )
    created = json.loads(out.getvalue())
    reporter = Agent.objects.get(actor_id="agent:reporter")
    assert set(reporter.accepts_delegation_from.values_list("actor_id", flat=True)) == {
        agent.actor_id,
        scheduler.actor_id,
    }
    actor = Client().post(
        "/o/token/",
        {
            "grant_type": "client_credentials",
            "client_id": created["client_id"],
            "client_secret": created["client_secret"],
        },
    )
    first = delegate(user, client_app, agent)
    response = exchange(agent, first["access_token"], actor_token=actor.json()["access_token"])
    assert response.status_code == 200, response.content
    assert verified_claims(response.json()["access_token"])["act"]["sub"] == "agent:reporter"


def test_create_agent_refuses_an_unknown_upstream_agent_and_writes_nothing(agent):
    with pytest.raises(CommandError, match="agent:nobody"):
        call_command(
            "create_agent",
            "agent:reporter",
            "--name",
            "Reporter",
            "--accepts-delegation-from",
            agent.actor_id,
            "--accepts-delegation-from",
            "agent:nobody",
            stdout=StringIO(),
        )
    assert not Agent.objects.filter(actor_id="agent:reporter").exists()


# --- who may exchange -------------------------------------------------------------------------


def test_third_party_agent_holding_the_token_cannot_exchange_it(user, client_app, agent, scheduler):
    thief = make_agent("agent:thief", name="Thief")
    accepts(thief, agent)
    first = delegate(user, client_app, agent)
    response = exchange(thief, first["access_token"])
    assert_refused(response, "invalid_grant", "subject_token_not_held_by_caller")
    response = exchange(thief, first["access_token"], actor_token=actor_token_issued(scheduler))
    assert_refused(response, "invalid_grant", "subject_token_not_held_by_caller")


def test_earlier_actor_cannot_exchange_a_token_it_handed_on(user, client_app, agent, scheduler, mailer):
    first = delegate(user, client_app, agent)
    second = hand_over(agent, first["access_token"], scheduler)
    accepts(mailer, agent)
    response = exchange(agent, second, actor_token=actor_token_issued(mailer))
    assert_refused(response, "invalid_grant", "subject_token_not_held_by_caller")


def test_the_original_client_is_not_an_agent_and_cannot_exchange(user, client_app, agent, scheduler):
    first = delegate(user, client_app, agent)
    response = exchange(client_app, first["access_token"], actor_token=actor_token_issued(scheduler))
    assert_refused(response, "unauthorized_client", "client_not_an_agent")


def test_caller_must_authenticate(user, client_app, agent):
    first = delegate(user, client_app, agent)
    response = Client().post(
        "/o/token/",
        {
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": first["access_token"],
            "subject_token_type": ACCESS_TOKEN_TYPE,
            "client_id": agent.app.client_id,
            "client_secret": "wrong",
        },
    )
    assert_refused(response, "invalid_client", "invalid_client")


# --- the subject token ----------------------------------------------------------------------------


def test_revoked_subject_token_cannot_be_exchanged(user, client_app, agent, scheduler):
    first = delegate(user, client_app, agent)
    revoked = Client().post("/o/revoke_token/", {"token": first["access_token"]}, **client_app.basic())
    assert revoked.status_code == 200
    response = exchange(agent, first["access_token"], actor_token=actor_token_issued(scheduler))
    row = assert_refused(response, "invalid_grant", "subject_token_revoked")
    assert row.user == user and row.actor_chain == ["agent:calendar-assistant"]


def test_expired_subject_token_cannot_be_exchanged(user, client_app, agent, scheduler):
    first = delegate(user, client_app, agent)
    claims = verified_claims(first["access_token"])
    past = int(time.time()) - 3600
    expired = tokens.sign({**claims, "iat": past - 600, "exp": past})
    response = exchange(agent, expired, actor_token=actor_token_issued(scheduler))
    assert_refused(response, "invalid_grant", "subject_token_expired")
    IssuedToken.objects.filter(jti=claims["jti"]).update(expires_at=timezone.now())
    response = exchange(agent, first["access_token"], actor_token=actor_token_issued(scheduler))
    assert_refused(response, "invalid_grant", "subject_token_expired")


def test_subject_token_we_never_issued_is_refused(user, client_app, agent, scheduler):
    first = delegate(user, client_app, agent)
    claims = verified_claims(first["access_token"])
    forged = tokens.sign({**claims, "jti": "never-issued", "scope": "calendar.read calendar.write"})
    response = exchange(agent, forged, actor_token=actor_token_issued(scheduler))
    assert_refused(response, "invalid_grant", "subject_token_unknown")


def test_subject_token_signed_with_another_key_is_refused(user, client_app, agent, scheduler):
    first = delegate(user, client_app, agent)
    claims = verified_claims(first["access_token"])
    private_key, _ = rsa_jwk("other")
    kid = keys.signing_key().kid
    forged = jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"})
    response = exchange(agent, forged, actor_token=actor_token_issued(scheduler))
    assert_refused(response, "invalid_grant", "subject_token_signature")


def test_actor_token_is_not_a_subject_token(user, client_app, agent, scheduler):
    response = exchange(agent, actor_token_issued(agent), actor_token=actor_token_issued(scheduler))
    assert_refused(response, "invalid_grant", "subject_token_not_delegated")


def test_subject_token_after_the_grant_expired_is_refused(user, client_app, agent, scheduler):
    first = delegate(user, client_app, agent)
    AgentGrant.objects.update(expires_at=timezone.now())
    response = exchange(agent, first["access_token"], actor_token=actor_token_issued(scheduler))
    assert_refused(response, "invalid_grant", "grant_expired")


def test_subject_token_after_the_grant_was_revoked_is_refused(user, client_app, agent, scheduler):
    first = delegate(user, client_app, agent)
    delegation.revoke_grant(AgentGrant.objects.get(), by=user)
    response = exchange(agent, first["access_token"], actor_token=actor_token_issued(scheduler))
    assert_refused(response, "invalid_grant", "subject_token_revoked")


def test_expired_earlier_actor_stops_the_chain(user, client_app, agent, scheduler, mailer):
    first = delegate(user, client_app, agent)
    second = hand_over(agent, first["access_token"], scheduler)
    Agent.objects.filter(pk=agent.model.pk).update(valid_until=timezone.now())
    response = exchange(scheduler, second, actor_token=actor_token_issued(mailer))
    assert_refused(response, "invalid_grant", "agent_expired")


def test_disabled_next_agent_cannot_join(user, client_app, agent, scheduler):
    first = delegate(user, client_app, agent)
    Agent.objects.filter(pk=scheduler.model.pk).update(is_active=False)
    response = exchange(agent, first["access_token"], actor_token=actor_assertion(scheduler))
    assert_refused(response, "invalid_grant", "agent_disabled")


def test_delegated_token_is_not_an_actor_token(user, client_app, agent, scheduler):
    first = delegate(user, client_app, agent)
    response = exchange(agent, first["access_token"], actor_token=first["access_token"])
    assert_refused(response, "invalid_grant", "actor_token_is_delegated")


# --- the request parameters -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"subject_token": ""}, "subject_token_missing"),
        (
            {"subject_token_type": "urn:ietf:params:oauth:token-type:id_token"},
            "unsupported_subject_token_type",
        ),
        ({"subject_token_type": ""}, "unsupported_subject_token_type"),
        (
            {"requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token"},
            "unsupported_requested_token_type",
        ),
        ({"actor_token_type": "urn:ietf:params:oauth:token-type:jwt"}, "actor_token_missing"),
    ],
)
def test_malformed_exchange_requests_are_invalid_request(user, client_app, agent, change, reason):
    params = dict(change)
    subject_token = params.pop("subject_token", delegate(user, client_app, agent)["access_token"])
    response = exchange(agent, subject_token, **params)
    assert_refused(response, "invalid_request", reason)


def test_requesting_an_access_token_explicitly_is_fine(user, client_app, agent, scheduler):
    first = delegate(user, client_app, agent)
    response = exchange(
        agent,
        first["access_token"],
        actor_token=actor_token_issued(scheduler),
        requested_token_type=ACCESS_TOKEN_TYPE,
    )
    assert response.status_code == 200, response.content


def test_repeated_audience_is_refused(user, client_app, agent):
    first = delegate(user, client_app, agent)
    response = Client().post(
        "/o/token/",
        f"grant_type={TOKEN_EXCHANGE}&subject_token={first['access_token']}"
        f"&subject_token_type={ACCESS_TOKEN_TYPE}&audience=a&audience=b",
        content_type="application/x-www-form-urlencoded",
        **agent.app.basic(),
    )
    assert_refused(response, "invalid_request", "duplicate_parameter")


# --- scope, audience and lifetime only narrow --------------------------------------------------------


def test_scope_cannot_widen(user, client_app, agent, scheduler):
    first = delegate(user, client_app, agent, scope="calendar.read")
    response = exchange(
        agent,
        first["access_token"],
        actor_token=actor_token_issued(scheduler),
        scope="calendar.read calendar.write",
    )
    assert_refused(response, "invalid_scope", "scope_widened")


def test_scope_may_narrow(user, client_app, agent, scheduler):
    first = delegate(user, client_app, agent, scope="calendar.read calendar.write")
    token = hand_over(agent, first["access_token"], scheduler, scope="calendar.read")
    assert verified_claims(token)["scope"] == "calendar.read"


def test_next_agent_never_gets_scopes_beyond_its_registration(user, client_app, agent):
    reader = make_agent("agent:reader", scopes="calendar.read", name="Reader")
    accepts(reader, agent)
    first = delegate(user, client_app, agent, scope="calendar.read calendar.write")
    response = exchange(agent, first["access_token"], actor_token=actor_token_issued(reader))
    assert_refused(response, "invalid_scope", "scope_beyond_actor")
    token = hand_over(agent, first["access_token"], reader, scope="calendar.read")
    assert verified_claims(token)["scope"] == "calendar.read"


def test_resource_and_audience_select_allowed_targets(settings, user, client_app, agent, scheduler):
    settings.AGENT_OBO = {
        **settings.AGENT_OBO,
        "EXCHANGE_AUDIENCES": ["https://mail.example/api", "https://files.example/", "calendar-backend"],
    }
    first = delegate(user, client_app, agent)
    token = hand_over(agent, first["access_token"], scheduler, audience="calendar-backend")
    assert verified_claims(token)["aud"] == "calendar-backend"
    response = Client().post(
        "/o/token/",
        {
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": first["access_token"],
            "subject_token_type": ACCESS_TOKEN_TYPE,
            "resource": ["https://mail.example/api", "https://files.example/"],
        },
        **agent.app.basic(),
    )
    assert response.status_code == 200, response.content
    assert verified_claims(response.json()["access_token"])["aud"] == [
        "https://mail.example/api",
        "https://files.example/",
    ]


def test_unknown_target_is_invalid_target(user, client_app, agent, scheduler):
    first = delegate(user, client_app, agent)
    response = exchange(
        agent,
        first["access_token"],
        actor_token=actor_token_issued(scheduler),
        resource="https://elsewhere.example/",
    )
    assert_refused(response, "invalid_target", "target_not_allowed")
    response = exchange(agent, first["access_token"], audience="anything")
    assert_refused(response, "invalid_target", "target_not_allowed")


def test_malformed_resource_is_invalid_target(user, client_app, agent):
    first = delegate(user, client_app, agent)
    response = exchange(agent, first["access_token"], resource="not-a-uri")
    assert_refused(response, "invalid_target", "resource_malformed")


def test_default_audience_stays_allowed(user, client_app, agent, scheduler):
    first = delegate(user, client_app, agent)
    token = hand_over(agent, first["access_token"], scheduler, resource=API)
    assert verified_claims(token)["aud"] == API


def test_exchanged_token_never_outlives_its_subject(settings, user, client_app, agent, scheduler):
    first = delegate(user, client_app, agent)
    settings.AGENT_OBO = {**settings.AGENT_OBO, "AGENT_ACCESS_TOKEN_EXPIRE_SECONDS": 86400}
    response = exchange(agent, first["access_token"], actor_token=actor_token_issued(scheduler))
    assert response.status_code == 200, response.content
    subject_exp = verified_claims(first["access_token"])["exp"]
    assert verified_claims(response.json()["access_token"])["exp"] <= subject_exp
    assert response.json()["expires_in"] <= first["expires_in"]
    assert (
        record_of(response.json()["access_token"]).expires_at <= record_of(first["access_token"]).expires_at
    )
