"""Every rule of local access-token validation (RFC 9068 §4, RFC 8725), on real and forged tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jwt as jwcrypto_jwt

from django_agent_obo import keys
from django_agent_obo.resource import TokenError, validate_access_token
from tests.conftest import actor_token_issued
from tests.fixtures_resource import API_AUDIENCE, configure, delegated_token, mint, user_token


def refusal(token: str) -> str:
    with pytest.raises(TokenError) as caught:
        validate_access_token(token)
    assert caught.value.error == "invalid_token"
    return caught.value.reason


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_delegated_token_shows_user_client_and_actor_apart(user, client_app, agent):
    info = validate_access_token(delegated_token(user, client_app, agent))
    assert info.sub == str(user.pk)
    assert info.client_id == client_app.client_id
    assert info.actor == agent.actor_id
    assert info.actor_chain == (agent.actor_id,)
    assert info.scopes == {"calendar.read"}
    assert info.audience == (API_AUDIENCE,)
    assert info.user == user
    assert info.is_agent and info.kind == "delegated"


def test_user_token_has_no_actor(user, client_app):
    info = validate_access_token(user_token(user, client_app))
    assert info.actor is None and info.actor_chain == ()
    assert info.user == user
    assert not info.is_agent


def test_agents_own_token_is_an_agent_without_a_user(agent):
    info = validate_access_token(actor_token_issued(agent, resource=API_AUDIENCE))
    assert info.actor is None
    assert info.agent_id == agent.actor_id
    assert info.is_agent
    assert not info.user.is_authenticated


def test_nested_chain_lists_current_actor_first(client_app, user):
    info = validate_access_token(mint(client_app, user=user, chain=["agent:c", "agent:b", "agent:a"]))
    assert info.actor == "agent:c"
    assert info.actor_chain == ("agent:c", "agent:b", "agent:a")
    assert info.chain_depth == 3


def test_forged_signature_is_refused(client_app):
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert refusal(mint(client_app, key=other_key, alg="RS256")) == "token_signature"


def test_alg_none_is_refused(client_app):
    token = mint(client_app)
    _, payload, _ = token.split(".")
    header = b64(json.dumps({"alg": "none", "typ": "at+jwt", "kid": keys.signing_key().kid}).encode())
    assert refusal(f"{header}.{payload}.") == "token_alg"


def test_hs256_signed_with_the_public_key_is_refused(client_app):
    public_pem = keys.signing_key().public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _, payload, _ = mint(client_app).split(".")
    header = b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": keys.signing_key().kid}).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert refusal(f"{header}.{payload}.{b64(signature)}") == "token_alg"


def test_wrong_audience_is_refused(client_app):
    assert refusal(mint(client_app, aud="https://other.example/api/")) == "token_aud"


def test_audience_list_naming_this_resource_is_accepted(client_app):
    info = validate_access_token(mint(client_app, aud=["https://other.example/", API_AUDIENCE]))
    assert API_AUDIENCE in info.audience


def test_configured_audience_replaces_the_default(settings, client_app):
    configure(settings, RS_AUDIENCE="https://calendar.example/")
    assert refusal(mint(client_app)) == "token_aud"
    assert validate_access_token(mint(client_app, aud="https://calendar.example/"))


def test_wrong_issuer_is_refused(client_app):
    assert refusal(mint(client_app, iss="https://evil.example")) == "token_iss"


def test_expired_token_is_refused(client_app):
    now = int(time.time())
    assert refusal(mint(client_app, iat=now - 600, exp=now - 120)) == "token_expired"


def test_expiry_within_leeway_is_accepted(client_app):
    now = int(time.time())
    assert validate_access_token(mint(client_app, iat=now - 600, exp=now - 5))


def test_token_not_valid_yet_is_refused(client_app):
    assert refusal(mint(client_app, nbf=int(time.time()) + 600)) == "token_not_yet_valid"


def test_typ_other_than_at_jwt_is_refused(client_app):
    assert refusal(mint(client_app, headers={"typ": "JWT"})) == "token_typ"
    assert refusal(mint(client_app, headers={"typ": None})) == "token_typ"


def test_typ_as_full_media_type_is_accepted(client_app):
    assert validate_access_token(mint(client_app, headers={"typ": "application/at+jwt"}))


def test_unknown_kid_is_refused(client_app):
    assert refusal(mint(client_app, headers={"kid": "no-such-key"})) == "token_kid"


def test_key_headers_are_refused_not_followed(client_app):
    assert refusal(mint(client_app, headers={"jku": "https://evil.example/jwks"})) == "token_header"


def test_missing_required_claims_are_refused(client_app):
    assert refusal(mint(client_app, client_id=None)) == "token_claims"
    assert refusal(mint(client_app, record=False, jti=None)) == "token_claims"


def test_malformed_act_is_refused(client_app):
    assert refusal(mint(client_app, act={"client": "x"})) == "token_act"


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "e30.e30.", "x" * 9000])
def test_garbage_is_refused_as_malformed(garbage):
    assert refusal(garbage) in ("token_malformed", "token_alg", "token_kid")


def test_token_signed_but_never_recorded_is_refused(client_app):
    assert refusal(mint(client_app, record=False)) == "token_unknown"


def test_token_from_a_rotated_out_key_still_validates_while_published(client_app):
    token = mint(client_app)
    keys.rotate()
    assert validate_access_token(token)
    assert validate_access_token(mint(client_app))


def test_another_jose_library_verifies_our_tokens(user, client_app, agent):
    token = delegated_token(user, client_app, agent)
    jwks = Client().get("/o/jwks/").content.decode()
    verified = jwcrypto_jwt.JWT(
        jwt=token,
        key=jwcrypto_jwk.JWKSet.from_json(jwks),
        algs=[keys.signing_key().alg],
        expected_type="JWS",
        check_claims={"aud": API_AUDIENCE, "iss": "http://127.0.0.1:8000"},
    )
    claims = json.loads(verified.claims)
    assert claims == jwt.decode(token, options={"verify_signature": False})
    assert claims["act"] == {"sub": agent.actor_id}
    assert json.loads(verified.token.objects["protected"])["typ"] == "at+jwt"
