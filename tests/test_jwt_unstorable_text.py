"""Text no database can store (NUL, a lone surrogate) inside a JWT a caller signs itself: a
DPoP proof, a client assertion, a self-signed actor token. Their claims reach the replay store
or a lookup by ``iss``; each is refused as malformed, never a 500, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client

from django_agent_obo.models import AuditEvent
from tests.conftest import (
    ISSUER,
    TOKEN_URL,
    actor_assertion,
    error_of,
    get_code,
    logged_in,
    make_app,
    redeem,
)
from tests.fixtures_dpop import DPoPKey
from tests.test_client_assertions import auth, of_agent

UNSTORABLE = ["\x00", "abcdefgh\x00", "\ud800", "abcdefgh\udfff"]


def refusal() -> AuditEvent:
    row = AuditEvent.objects.filter(outcome=AuditEvent.FAILURE).order_by("-id").first()
    assert row is not None, "no audit row for the refusal"
    return row


@pytest.mark.parametrize("store", ["database", "cache"])
@pytest.mark.parametrize("value", UNSTORABLE)
def test_a_dpop_proof_with_unstorable_text_is_malformed(settings, store, value):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "DPOP_REPLAY_STORE": store}
    machine = make_app("Machine client", grant="client-credentials")
    for proof in (DPoPKey().proof(jti=value), DPoPKey().proof(extra=value)):
        response = Client(raise_request_exception=False).post(
            TOKEN_URL, {"grant_type": "client_credentials"}, **machine.basic(), HTTP_DPOP=proof
        )
        assert response.status_code == 400, response.content[:300]
        assert error_of(response) == "invalid_dpop_proof"
        assert refusal().reason == "dpop_malformed"


@pytest.mark.parametrize("value", UNSTORABLE)
@pytest.mark.parametrize("url", [TOKEN_URL, "/o/introspect/", "/o/revoke_token/", "/o/bc-authorize/"])
def test_a_client_assertion_with_unstorable_text_is_invalid_client(agent, url, value):
    now = int(time.time())
    stranger = jwt.encode(  # anyone can sign this: the client is looked up by its iss
        {"iss": value, "sub": value, "aud": ISSUER + TOKEN_URL, "exp": now + 60, "jti": uuid.uuid4().hex},
        ec.generate_private_key(ec.SECP256R1()),
        algorithm="ES256",
        headers={"kid": "k"},
    )
    for signed in (stranger, of_agent(agent, jti=value)):
        data = {"grant_type": "client_credentials", "token": "t", "login_hint": "u", "scope": "calendar.read"}
        response = Client(raise_request_exception=False).post(url, {**data, **auth(signed)})
        assert response.status_code in (400, 401), response.content[:300]
        assert response.json()["error"] == "invalid_client"
        expected = (
            "client_authentication_failed" if url == "/o/bc-authorize/" else "client_assertion_malformed"
        )
        assert refusal().reason == expected


@pytest.mark.parametrize("value", UNSTORABLE)
def test_a_self_signed_actor_token_with_unstorable_text_is_malformed(user, client_app, agent, value):
    for claims in ({"iss": value, "sub": value}, {"jti": value}):
        code, verifier = get_code(logged_in(user), client_app, actor=agent.actor_id)
        response = redeem(client_app, code, verifier, actor_token=actor_assertion(agent, **claims))
        assert response.status_code == 400, response.content[:300]
        assert error_of(response) == "invalid_grant"
        assert refusal().reason == "actor_token_malformed"
