"""private_key_jwt (RFC 7523 §2.2): agents and key-registering clients authenticate with a
signed assertion at the token, introspection and revocation endpoints; every refusal is
``invalid_client`` with its audit reason."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from django_agent_obo.client_assertions import CLIENT_ASSERTION_TYPE
from django_agent_obo.models import AuditEvent, ClientKeySet
from tests.conftest import (
    ISSUER,
    REDIRECT_URI,
    TOKEN_URL,
    AgentFixture,
    get_code,
    logged_in,
    make_agent,
    make_app,
    rsa_jwk,
)

INTROSPECT_URL = "/o/introspect/"
REVOKE_URL = "/o/revoke_token/"


def assertion(client_id: str, key: Any, kid: str, alg: str = "ES256", **overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": ISSUER + TOKEN_URL,
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    headers = {"kid": kid, **overrides.pop("headers", {})}
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm=alg, headers=headers)


def of_agent(agent: AgentFixture, **overrides: Any) -> str:
    return assertion(agent.app.client_id, agent.private_key, agent.kid, **overrides)


def auth(signed: str, **extra: str) -> dict[str, str]:
    return {"client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": signed, **extra}


def actor_token_by_assertion(signed: str, **headers: str) -> Any:
    return Client().post(TOKEN_URL, {"grant_type": "client_credentials", **auth(signed)}, **headers)


def refusal_reason() -> str:
    row = AuditEvent.objects.filter(outcome=AuditEvent.FAILURE).order_by("-id").first()
    assert row is not None, "no audit row for the refusal"
    return str(row.reason)


@pytest.fixture
def keyed_client():
    """A plain client that registered an RS256 key instead of using its secret."""
    app = make_app("Keyed client")
    private_key, jwk = rsa_jwk("client-key-1")
    ClientKeySet.objects.create(application=app.model, jwks={"keys": [jwk]})
    return app, private_key


# --- success at the three endpoints ------------------------------------------------------


def test_an_agent_obtains_its_actor_token_with_a_signed_assertion(agent):
    response = actor_token_by_assertion(of_agent(agent))
    assert response.status_code == 200, response.content
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["sub"] == agent.actor_id and claims["client_id"] == agent.app.client_id
    issued = AuditEvent.objects.get(event="token.issued")
    assert issued.client_id == agent.app.client_id


def test_aud_may_be_the_issuer_and_client_id_may_be_sent_too(agent):
    signed = of_agent(agent, aud=ISSUER)
    response = Client().post(
        TOKEN_URL, {"grant_type": "client_credentials", "client_id": agent.app.client_id, **auth(signed)}
    )
    assert response.status_code == 200, response.content


def test_a_client_with_registered_keys_redeems_a_code_without_its_secret(user, keyed_client):
    app, private_key = keyed_client
    code, verifier = get_code(logged_in(user), app)
    data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    data.update(
        redirect_uri=REDIRECT_URI, **auth(assertion(app.client_id, private_key, "client-key-1", "RS256"))
    )
    response = Client().post(TOKEN_URL, data)
    assert response.status_code == 200, response.content
    token = response.json()["access_token"]

    introspected = Client().post(
        INTROSPECT_URL,
        {"token": token, **auth(assertion(app.client_id, private_key, "client-key-1", "RS256"))},
    )
    assert introspected.status_code == 200, introspected.content
    assert introspected.json()["active"] is True and introspected.json()["client_id"] == app.client_id

    revoked = Client().post(
        REVOKE_URL, {"token": token, **auth(assertion(app.client_id, private_key, "client-key-1", "RS256"))}
    )
    assert revoked.status_code == 200, revoked.content
    again = Client().post(INTROSPECT_URL, {"token": token}, **app.basic())
    assert again.json() == {"active": False}


def test_an_agent_introspects_and_revokes_its_own_token_with_assertions(agent):
    token = actor_token_by_assertion(of_agent(agent)).json()["access_token"]
    introspected = Client().post(INTROSPECT_URL, {"token": token, **auth(of_agent(agent))})
    assert introspected.status_code == 200 and introspected.json()["active"] is True
    assert Client().post(REVOKE_URL, {"token": token, **auth(of_agent(agent))}).status_code == 200
    assert Client().post(INTROSPECT_URL, {"token": token, **auth(of_agent(agent))}).json() == {
        "active": False
    }


# --- every refusal: 401 invalid_client, audited with its reason -----------------------------


def _hmac_with_public_key(agent: AgentFixture) -> str:
    public_jwk = agent.model.jwks["keys"][0]
    return jwt.encode(
        {
            "iss": agent.app.client_id,
            "sub": agent.app.client_id,
            "aud": ISSUER,
            "exp": int(time.time()) + 60,
            "jti": uuid.uuid4().hex,
        },
        str(public_jwk["x"]).encode() * 2,
        algorithm="HS256",
        headers={"kid": agent.kid},
    )


def _unsigned(agent: AgentFixture) -> str:
    return jwt.encode(
        {
            "iss": agent.app.client_id,
            "sub": agent.app.client_id,
            "aud": ISSUER,
            "exp": int(time.time()) + 60,
            "jti": uuid.uuid4().hex,
        },
        None,
        algorithm="none",
        headers={"kid": agent.kid},
    )


REFUSALS = {
    "alg none": (_unsigned, "client_assertion_alg"),
    "HMAC": (_hmac_with_public_key, "client_assertion_alg"),
    "unknown kid": (lambda a: of_agent(a, headers={"kid": "not-registered"}), "client_assertion_kid"),
    "wrong aud": (lambda a: of_agent(a, aud="https://elsewhere.example/o/token/"), "client_assertion_aud"),
    "expired": (
        lambda a: of_agent(a, iat=int(time.time()) - 400, exp=int(time.time()) - 300),
        "client_assertion_expired",
    ),
    "too long-lived": (lambda a: of_agent(a, exp=int(time.time()) + 3600), "client_assertion_lifetime"),
    "no exp": (lambda a: of_agent(a, exp=None), "client_assertion_missing_exp"),
    "no jti": (lambda a: of_agent(a, jti=None), "client_assertion_missing_jti"),
    "jku header": (
        lambda a: of_agent(a, headers={"jku": "https://evil.example/jwks"}),
        "client_assertion_header_jku",
    ),
    "embedded jwk": (
        lambda a: of_agent(a, headers={"jwk": a.model.jwks["keys"][0]}),
        "client_assertion_header_jwk",
    ),
    "sub differs from iss": (lambda a: of_agent(a, sub="someone-else"), "client_assertion_sub"),
    "wrong iss": (
        lambda a: of_agent(a, iss="no-such-client", sub="no-such-client"),
        "client_assertion_unknown_client",
    ),
    "signed by another key": (
        lambda a: assertion(a.app.client_id, make_agent("agent:other").private_key, a.kid),
        "client_assertion_signature",
    ),
    "not a JWT": (lambda a: "not.a.jwt", "client_assertion_malformed"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_bad_assertion_is_invalid_client_with_its_reason(agent, case):
    build, reason = REFUSALS[case]
    response = actor_token_by_assertion(build(agent))
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "invalid_client"
    assert refusal_reason() == reason
    assert AuditEvent.objects.filter(event="token.refused", reason=reason).count() == 1
    assert not AuditEvent.objects.filter(event="token.issued").exists()


def test_a_replayed_assertion_is_refused_in_any_process(agent):
    signed = of_agent(agent)
    assert actor_token_by_assertion(signed).status_code == 200
    replay = actor_token_by_assertion(signed)
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"
    assert refusal_reason() == "client_assertion_replayed"


def test_an_assertion_for_another_client_is_refused(agent, client_app):
    """The request names one client, the assertion another (RFC 7521 §4.2)."""
    data = {"grant_type": "client_credentials", "client_id": client_app.client_id, **auth(of_agent(agent))}
    response = Client().post(TOKEN_URL, data)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert refusal_reason() == "client_assertion_client_id"


def test_one_agent_cannot_sign_for_another_agents_client(agent):
    other = make_agent("agent:other")
    forged = assertion(other.app.client_id, agent.private_key, agent.kid)  # other's id, our key
    response = actor_token_by_assertion(forged)
    assert response.status_code == 401
    assert refusal_reason() == "client_assertion_kid"


def test_a_client_without_registered_keys_cannot_use_an_assertion(client_app, keyed_client):
    _, private_key = keyed_client
    response = actor_token_by_assertion(assertion(client_app.client_id, private_key, "client-key-1", "RS256"))
    assert response.status_code == 401
    assert refusal_reason() == "client_assertion_no_keys"


def test_a_disabled_agent_cannot_authenticate(agent):
    agent.model.is_active = False
    agent.model.save()
    response = actor_token_by_assertion(of_agent(agent))
    assert response.status_code == 401
    assert refusal_reason() == "agent_disabled"


def test_an_assertion_with_a_secret_as_well_is_refused(agent):
    response = actor_token_by_assertion(of_agent(agent), **agent.app.basic())
    assert response.status_code == 401
    assert refusal_reason() == "client_auth_multiple"


def test_a_wrong_assertion_type_is_refused(agent):
    data = {"grant_type": "client_credentials", **auth(of_agent(agent))}
    data["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
    response = Client().post(TOKEN_URL, data)
    assert response.status_code == 401
    assert refusal_reason() == "client_assertion_type"


def test_a_repeated_assertion_parameter_is_refused(agent):
    signed = of_agent(agent)
    body = f"grant_type=client_credentials&client_assertion_type={CLIENT_ASSERTION_TYPE}"
    body += f"&client_assertion={signed}&client_assertion={signed}"
    response = Client().post(TOKEN_URL, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert refusal_reason() == "duplicate_parameter"


def test_nul_bytes_in_the_assertion_are_refused_cleanly(agent):
    """A control character is refused before any client lookup, as in every parameter (#12)."""
    response = actor_token_by_assertion("eyJhbGciOiJFUzI1NiJ9\x00.x.y")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert refusal_reason() == "parameter_control_character"


@pytest.mark.parametrize("url", [INTROSPECT_URL, REVOKE_URL])
def test_refusals_at_introspection_and_revocation_are_invalid_client_and_audited(agent, url):
    token = actor_token_by_assertion(of_agent(agent)).json()["access_token"]
    expired = of_agent(agent, iat=int(time.time()) - 400, exp=int(time.time()) - 300)
    response = Client().post(url, {"token": token, **auth(expired)})
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "invalid_client"
    row = AuditEvent.objects.get(event="client.refused")
    assert row.reason == "client_assertion_expired" and row.detail["endpoint"] == url
    replay_source = of_agent(agent)
    assert Client().post(url, {"token": token, **auth(replay_source)}).status_code == 200
    assert Client().post(url, {"token": token, **auth(replay_source)}).status_code == 401
    assert refusal_reason() == "client_assertion_replayed"


# --- metadata and registration ------------------------------------------------------------


def test_metadata_advertises_private_key_jwt_and_only_asymmetric_algorithms():
    data = Client().get("/.well-known/oauth-authorization-server").json()
    for endpoint in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
        assert "private_key_jwt" in data[f"{endpoint}_auth_methods_supported"]
        algorithms = data[f"{endpoint}_auth_signing_alg_values_supported"]
        assert "ES256" in algorithms and "RS256" in algorithms
        assert not {"none", "HS256", "HS384", "HS512"} & set(algorithms)
    assert "client_secret_basic" in data["token_endpoint_auth_methods_supported"]


def test_a_key_set_with_private_key_material_is_refused_at_registration(client_app):
    private_key, jwk = rsa_jwk("k1")
    private_jwk = jwt.algorithms.RSAAlgorithm.to_jwk(private_key, as_dict=True)
    with pytest.raises(ValidationError):
        ClientKeySet(application=client_app.model, jwks={"keys": [private_jwk]}).full_clean()
    with pytest.raises(ValidationError):
        ClientKeySet(application=client_app.model, jwks={"keys": []}).full_clean()
    ClientKeySet(application=client_app.model, jwks={"keys": [jwk]}).full_clean()
