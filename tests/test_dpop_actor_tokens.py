"""A DPoP-bound actor token is only good with a proof of its key (RFC 9449 §4.3, §7 reasoning).

An agent that asks for its actor token with a DPoP proof gets one bound to its key
(``cnf.jkt``). Whoever steals that token (a log line, a prompt injection, a compromised tool)
must not be able to present it at the token endpoint on the agent's behalf: every request
presenting it carries a proof from that key (code redemption, refresh, CIBA, token exchange's
next actor), else ``invalid_grant`` with ``actor_token_dpop_required`` or
``actor_token_dpop_mismatch`` and a ``token.refused`` row.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from django_agent_obo.actors import verify_actor_token
from tests.conftest import (
    ISSUER,
    TOKEN_URL,
    AgentFixture,
    actor_token_issued,
    get_code,
    logged_in,
    make_agent,
    redeem,
)
from tests.fixtures_dpop import DPoPKey, unverified
from tests.fixtures_exchange import accepts, assert_refused, delegate, exchange
from tests.test_dpop_token_endpoint import redeem_proven

pytestmark = pytest.mark.django_db


def bound_actor_token(agent: AgentFixture, key: DPoPKey) -> str:
    """The agent's actor token, asked for with a proof of ``key``: bound to it."""
    response = Client().post(
        TOKEN_URL, {"grant_type": "client_credentials"}, **agent.app.basic(), HTTP_DPOP=key.proof()
    )
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "DPoP"
    return str(response.json()["access_token"])


def test_the_verified_actor_token_exposes_its_key(agent):
    key = DPoPKey()
    verified = verify_actor_token(bound_actor_token(agent, key), None, ISSUER + TOKEN_URL)
    assert verified.dpop_jkt == key.jkt
    assert verify_actor_token(actor_token_issued(agent), None, ISSUER + TOKEN_URL).dpop_jkt is None


def test_an_actor_token_with_a_key_binding_it_does_not_understand_is_refused(agent, monkeypatch):
    from django_agent_obo import actors
    from django_agent_obo.tokens import verify_access_token

    token = actor_token_issued(agent)
    claims = {**verify_access_token(token), "cnf": {"jkt": "not a thumbprint"}}
    monkeypatch.setattr(actors, "verify_access_token", lambda _token: claims)
    with pytest.raises(actors.ActorTokenError) as refused:
        verify_actor_token(token, None, ISSUER + TOKEN_URL)
    assert refused.value.reason == "actor_token_cnf"


# --- code redemption ------------------------------------------------------------------------


def test_a_stolen_bound_actor_token_without_a_proof_cannot_redeem_a_code(user, client_app, agent):
    key = DPoPKey()
    stolen = bound_actor_token(agent, key)
    code, verifier = get_code(logged_in(user), client_app, actor=agent.actor_id)
    assert_refused(
        redeem(client_app, code, verifier, actor_token=stolen), "invalid_grant", "actor_token_dpop_required"
    )
    # The refusal spent nothing: the agent itself, with its key, still redeems the code.
    response = redeem_proven(client_app, code, verifier, key.proof(), actor_token=stolen)
    assert response.status_code == 200, response.content
    assert unverified(response.json()["access_token"])["cnf"]["jkt"] == key.jkt


def test_a_stolen_bound_actor_token_with_a_proof_from_another_key_cannot_redeem_a_code(
    user, client_app, agent
):
    stolen = bound_actor_token(agent, DPoPKey())
    code, verifier = get_code(logged_in(user), client_app, actor=agent.actor_id)
    thief = DPoPKey()
    assert_refused(
        redeem_proven(client_app, code, verifier, thief.proof(), actor_token=stolen),
        "invalid_grant",
        "actor_token_dpop_mismatch",
    )


def test_a_bad_proof_with_a_bound_actor_token_is_an_invalid_dpop_proof(user, client_app, agent):
    key = DPoPKey()
    code, verifier = get_code(logged_in(user), client_app, actor=agent.actor_id)
    proof = key.proof(htu=ISSUER + "/elsewhere/")
    response = redeem_proven(client_app, code, verifier, proof, actor_token=bound_actor_token(agent, key))
    assert_refused(response, "invalid_dpop_proof", "dpop_htu")


def test_an_unbound_actor_token_needs_no_proof(user, client_app, agent):
    assert "access_token" in delegate(user, client_app, agent)


# --- refresh, when it asks for the actor token again (REFRESH_REQUIRES_ACTOR_TOKEN) --------------


def refresh(client_app: Any, refresh_token: str, actor_token: str, proof: str | None) -> Any:
    headers = {"HTTP_DPOP": proof} if proof is not None else {}
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "actor_token": actor_token}
    return Client().post(TOKEN_URL, data, **client_app.basic(), **headers)


def test_refresh_with_a_stolen_bound_actor_token_needs_its_key(user, client_app, agent):
    key = DPoPKey()
    actor_token = bound_actor_token(agent, key)
    code, verifier = get_code(logged_in(user), client_app, actor=agent.actor_id)
    tokens = redeem_proven(client_app, code, verifier, key.proof(), actor_token=actor_token).json()
    refresh_token = tokens["refresh_token"]
    assert_refused(
        refresh(client_app, refresh_token, actor_token, None), "invalid_grant", "actor_token_dpop_required"
    )
    assert_refused(
        refresh(client_app, refresh_token, actor_token, DPoPKey().proof()),
        "invalid_grant",
        "actor_token_dpop_mismatch",
    )
    assert refresh(client_app, refresh_token, actor_token, key.proof()).status_code == 200


# --- token exchange: the next actor's token ---------------------------------------------------


@pytest.fixture
def scheduler(agent: AgentFixture) -> AgentFixture:
    found = make_agent("agent:scheduler", name="Scheduler")
    accepts(found, agent)
    return found


def test_a_stolen_bound_actor_token_cannot_name_the_next_actor_of_an_exchange(
    user, client_app, agent, scheduler
):
    key = DPoPKey()
    stolen = bound_actor_token(scheduler, key)
    subject = delegate(user, client_app, agent)["access_token"]
    assert_refused(exchange(agent, subject, actor_token=stolen), "invalid_grant", "actor_token_dpop_required")
    response = Client().post(
        TOKEN_URL,
        {
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": subject,
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "actor_token": stolen,
        },
        **agent.app.basic(),
        HTTP_DPOP=DPoPKey().proof(),
    )
    assert_refused(response, "invalid_grant", "actor_token_dpop_mismatch")


def test_the_next_actors_proof_binds_the_exchanged_token_to_its_key(user, client_app, agent, scheduler):
    key = DPoPKey()
    subject = delegate(user, client_app, agent)["access_token"]
    response = Client().post(
        TOKEN_URL,
        {
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": subject,
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "actor_token": bound_actor_token(scheduler, key),
        },
        **agent.app.basic(),
        HTTP_DPOP=key.proof(),
    )
    assert response.status_code == 200, response.content
    claims = unverified(response.json()["access_token"])
    assert claims["cnf"]["jkt"] == key.jkt and claims["act"]["sub"] == scheduler.actor_id


# --- CIBA: the token request of an approved backchannel request --------------------------------


def test_ciba_with_a_stolen_bound_actor_token_needs_its_key(user, client_app, agent, settings):
    from tests.fixtures_backchannel import CIBA, answer
    from tests.test_backchannel import start

    settings.AGENT_OBO = {**settings.AGENT_OBO, "BACKCHANNEL_INTERVAL_SECONDS": 0}
    key = DPoPKey()
    actor_token = bound_actor_token(agent, key)
    body, row = start(client_app, agent)
    answer(user, row.pk)

    def poll(proof: str | None) -> Any:
        headers = {"HTTP_DPOP": proof} if proof is not None else {}
        data = {"grant_type": CIBA, "auth_req_id": body["auth_req_id"], "actor_token": actor_token}
        return Client().post(TOKEN_URL, data, **client_app.basic(), **headers)

    assert_refused(poll(None), "invalid_grant", "actor_token_dpop_required")
    assert_refused(poll(DPoPKey().proof()), "invalid_grant", "actor_token_dpop_mismatch")
    response = poll(key.proof())
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "DPoP"
    assert unverified(response.json()["access_token"])["cnf"]["jkt"] == key.jkt
