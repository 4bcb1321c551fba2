"""Every way an actor token can be wrong is refused with invalid_grant and audited (SPEC §3)."""

import base64
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from django_agent_obo import keys
from django_agent_obo.models import AuditEvent
from tests.conftest import (
    ISSUER,
    actor_assertion,
    actor_token_issued,
    error_of,
    get_code,
    logged_in,
    make_app,
    redeem,
)


@pytest.fixture
def bound_code(user, client_app, agent):
    return get_code(logged_in(user), client_app, actor=agent.actor_id)


def refused(client_app, bound_code, token, reason):
    code, verifier = bound_code
    response = redeem(client_app, code, verifier, actor_token=token)
    assert response.status_code == 400, response.content
    assert error_of(response) == "invalid_grant"
    row = AuditEvent.objects.get(event="token.refused")
    assert row.reason == reason, row.reason
    assert row.outcome == "failure"


def b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def valid_claims(agent, jti):
    now = int(time.time())
    return {
        "iss": agent.actor_id,
        "sub": agent.actor_id,
        "aud": ISSUER,
        "iat": now,
        "exp": now + 60,
        "jti": jti,
    }


def unsigned(agent):
    return b64({"alg": "none", "typ": "JWT"}) + "." + b64(valid_claims(agent, "j" * 16)) + "."


def test_alg_none_is_refused(client_app, bound_code, agent):
    refused(client_app, bound_code, unsigned(agent), "actor_token_alg")


def test_hmac_with_the_public_key_as_secret_is_refused(client_app, bound_code, agent):
    public_pem = agent.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = valid_claims(agent, "h" * 16)
    header = b64({"alg": "HS256", "kid": agent.kid})
    payload = b64(claims)
    import hashlib
    import hmac

    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    refused(client_app, bound_code, token, "actor_token_alg")


@pytest.mark.parametrize("header", ["jku", "x5u", "jwk", "x5c", "crit"])
def test_key_bearing_and_critical_headers_are_refused(client_app, bound_code, agent, header):
    value = {
        "jku": "https://evil.example/jwks",
        "x5u": "https://evil.example/cert",
        "jwk": {"kty": "EC"},
        "x5c": ["AAAA"],
        "crit": ["exp"],
    }[header]
    refused(
        client_app,
        bound_code,
        actor_assertion(agent, headers={header: value}),
        f"actor_token_header_{header}",
    )


def test_unknown_kid_is_refused(client_app, bound_code, agent):
    refused(client_app, bound_code, actor_assertion(agent, headers={"kid": "nope"}), "actor_token_kid")


def test_signature_by_an_unregistered_key_is_refused(client_app, bound_code, agent):
    rogue = ec.generate_private_key(ec.SECP256R1())
    refused(client_app, bound_code, actor_assertion(agent, key=rogue), "actor_token_signature")


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"exp": int(time.time()) - 600}, "actor_token_expired"),
        ({"exp": None}, "actor_token_missing_exp"),
        ({"iat": None}, "actor_token_missing_iat"),
        ({"jti": None}, "actor_token_missing_jti"),
        ({"aud": None}, "actor_token_missing_aud"),
        ({"aud": "https://other-server.example"}, "actor_token_aud"),
        ({"nbf": int(time.time()) + 600}, "actor_token_not_yet_valid"),
        ({"sub": "agent:someone-else"}, "actor_token_sub"),
        ({"iat": int(time.time()) - 10, "exp": int(time.time()) + 3600}, "actor_token_lifetime"),
        ({"iat": int(time.time()) + 600, "exp": int(time.time()) + 650}, "actor_token_not_yet_valid"),
    ],
)
def test_bad_claims_are_refused(client_app, bound_code, agent, override, reason):
    refused(client_app, bound_code, actor_assertion(agent, **override), reason)


def test_unregistered_issuer_is_refused(client_app, bound_code, agent):
    refused(
        client_app, bound_code, actor_assertion(agent, iss="agent:ghost", sub="agent:ghost"), "unknown_actor"
    )


def test_token_endpoint_url_is_an_accepted_audience(client_app, bound_code, agent):
    code, verifier = bound_code
    response = redeem(
        client_app, code, verifier, actor_token=actor_assertion(agent, aud=ISSUER + "/o/token/")
    )
    assert response.status_code == 200, response.content


def test_replayed_assertion_is_refused(user, client_app, agent, bound_code):
    assertion = actor_assertion(agent)
    code, verifier = bound_code
    assert redeem(client_app, code, verifier, actor_token=assertion).status_code == 200
    second = get_code(logged_in(user), client_app, actor=agent.actor_id)
    refused(client_app, second, assertion, "actor_token_replayed")


def test_inactive_agent_token_is_refused(client_app, bound_code, agent):
    token = actor_token_issued(agent)
    agent.model.is_active = False
    agent.model.save()
    refused(client_app, bound_code, token, "agent_disabled")


def test_revoked_actor_token_is_refused(client_app, bound_code, agent):
    from django_agent_obo import delegation
    from django_agent_obo.models import IssuedToken

    token = actor_token_issued(agent)
    delegation.revoke_token(IssuedToken.objects.get(kind="actor"))
    refused(client_app, bound_code, token, "actor_token_revoked")


def test_actor_token_of_the_agents_former_credentials_is_refused(client_app, bound_code, agent):
    token = actor_token_issued(agent)
    agent.model.credentials = make_app("Replacement credentials", grant="client-credentials").model
    agent.model.save()
    refused(client_app, bound_code, token, "actor_token_sub")


def test_a_users_delegated_access_token_is_not_an_actor_token(user, client_app, agent, bound_code):
    code, verifier = get_code(logged_in(user), client_app, actor=agent.actor_id)
    delegated = redeem(client_app, code, verifier, actor_token=actor_assertion(agent)).json()["access_token"]
    refused(client_app, bound_code, delegated, "actor_token_is_delegated")


def test_a_plain_user_token_is_not_an_actor_token(user, client_app, bound_code):
    code, verifier = get_code(logged_in(user), client_app)
    plain = redeem(client_app, code, verifier).json()["access_token"]
    refused(client_app, bound_code, plain, "not_an_actor_token")


def test_an_ordinary_clients_token_is_not_an_actor_token(client_app, bound_code):
    from django.test import Client

    service = make_app("Service", grant="client-credentials")
    token = (
        Client()
        .post("/o/token/", {"grant_type": "client_credentials"}, **service.basic())
        .json()["access_token"]
    )
    refused(client_app, bound_code, token, "not_an_actor_token")


def test_an_id_token_shaped_jwt_signed_by_us_is_refused(client_app, bound_code, agent):
    key = keys.signing_key()
    now = int(time.time())
    id_token = jwt.encode(
        {
            "iss": ISSUER,
            "sub": agent.actor_id,
            "aud": client_app.client_id,
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
        },
        key.private_key,
        algorithm=key.alg,
        headers={"kid": key.kid, "typ": "JWT"},
    )
    refused(client_app, bound_code, id_token, "actor_token_typ")


def test_garbage_is_refused_not_a_500(client_app, bound_code):
    refused(client_app, bound_code, "not.a.jwt", "actor_token_malformed")


def test_oversized_token_is_refused_by_the_parser(agent, settings):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "TOKEN_PARAMETER_MAX_BYTES": 10**6}
    from django_agent_obo.actors import ActorTokenError, verify_actor_token

    with pytest.raises(ActorTokenError) as caught:
        verify_actor_token("a" * 10000, None, ISSUER)
    assert caught.value.reason == "actor_token_malformed"


def test_oversized_token_is_refused_at_the_endpoint(client_app, bound_code):
    code, verifier = bound_code
    response = redeem(client_app, code, verifier, actor_token="a" * 10000)
    assert response.status_code == 400 and error_of(response) == "invalid_request"
    assert AuditEvent.objects.get(event="token.refused").reason == "parameter_too_large"


def test_self_signed_assertion_with_at_jwt_type_is_refused(client_app, bound_code, agent):
    refused(client_app, bound_code, actor_assertion(agent, headers={"typ": "at+jwt"}), "actor_token_typ")


def test_rsa_agent_key_from_jwks_works(user, client_app):
    from tests.conftest import make_agent, rsa_jwk

    rsa_agent = make_agent("agent:rsa", clients=(client_app,))
    private_key, jwk = rsa_jwk("rsa-1")
    rsa_agent.model.jwks = {"keys": [jwk]}
    rsa_agent.model.save()
    code, verifier = get_code(logged_in(user), client_app, actor="agent:rsa")
    assertion = actor_assertion(rsa_agent, key=private_key, alg="RS256", headers={"kid": "rsa-1"})
    assert redeem(client_app, code, verifier, actor_token=assertion).status_code == 200


def test_key_registered_for_another_algorithm_is_refused(user, client_app):
    from tests.conftest import make_agent, rsa_jwk

    rsa_agent = make_agent("agent:rsa2", clients=(client_app,))
    private_key, jwk = rsa_jwk("rsa-2")
    rsa_agent.model.jwks = {"keys": [jwk]}
    rsa_agent.model.save()
    code = get_code(logged_in(user), client_app, actor="agent:rsa2")
    assertion = actor_assertion(rsa_agent, key=private_key, alg="PS256", headers={"kid": "rsa-2"})
    refused(client_app, code, assertion, "actor_token_alg")
