"""DPoP at the token endpoint (RFC 9449 §4.3, §5, §10): each proof check, each binding, the policy."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest
from django.test import Client
from oauth2_provider.models import get_application_model

from django_agent_obo import dpop
from django_agent_obo.models import AuditEvent, ClientDPoPPolicy, IssuedToken
from tests.conftest import (
    AUTHORIZE_URL,
    ISSUER,
    REDIRECT_URI,
    TOKEN_URL,
    App,
    actor_token_issued,
    authorize_params,
    error_of,
    hidden_fields,
    logged_in,
    pkce,
    redeem,
    redirect_params,
)
from tests.fixtures_dpop import TOKEN_ENDPOINT, DPoPKey, unverified
from tests.fixtures_exchange import exchange

pytestmark = pytest.mark.django_db


def credentials_token(app: App, proof: str | None, **extra: Any) -> Any:
    headers = {"HTTP_DPOP": proof} if proof is not None else {}
    return Client().post(TOKEN_URL, {"grant_type": "client_credentials", **extra}, **app.basic(), **headers)


@pytest.fixture
def machine() -> App:
    from tests.conftest import make_app

    return make_app("Machine client", grant="client-credentials")


def redeem_proven(app: App, code: str, verifier: str, proof: str | None, **extra: str) -> Any:
    """``redeem`` with a ``DPoP`` header."""
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    headers = {"HTTP_DPOP": proof} if proof is not None else {}
    return Client().post(TOKEN_URL, {**data, **extra}, **app.basic(), **headers)


def exchange_proven(caller: Any, subject: str, proof: str | None) -> Any:
    from tests.fixtures_exchange import ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE

    data = {"grant_type": TOKEN_EXCHANGE, "subject_token": subject, "subject_token_type": ACCESS_TOKEN_TYPE}
    headers = {"HTTP_DPOP": proof} if proof is not None else {}
    return Client().post(TOKEN_URL, data, **caller.app.basic(), **headers)


def assert_dpop_refused(response: Any, reason: str, error: str = "invalid_dpop_proof") -> AuditEvent:
    assert response.status_code == 400, response.content
    assert error_of(response) == error
    assert "access_token" not in response.json()
    row = AuditEvent.objects.filter(event="token.refused").order_by("-id").first()
    assert row is not None and row.reason == reason, row and row.reason
    return row


# --- binding ---------------------------------------------------------------------------------


def test_a_proof_binds_the_access_token_to_its_key(machine):
    key = DPoPKey()
    response = credentials_token(machine, key.proof())
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "DPoP"
    claims = unverified(body["access_token"])
    assert claims["cnf"] == {"jkt": key.jkt}  # RFC 7638 thumbprint, as jwcrypto computes it
    assert IssuedToken.objects.get(jti=claims["jti"]).dpop_jkt == key.jkt


def test_without_a_proof_the_token_stays_a_bearer_token(machine):
    response = credentials_token(machine, None)
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"
    assert "cnf" not in unverified(response.json()["access_token"])


@pytest.mark.parametrize("alg", ["ES256", "ES384", "EdDSA", "RS256", "PS256"])
def test_every_advertised_algorithm_binds(machine, alg):
    key = DPoPKey(alg)
    response = credentials_token(machine, key.proof())
    assert response.status_code == 200, response.content
    assert unverified(response.json()["access_token"])["cnf"]["jkt"] == key.jkt


def test_htu_ignores_query_and_fragment_and_normalises_case_and_default_port(machine):
    key = DPoPKey()
    htu = "HTTP://127.0.0.1:8000/o/token/?x=1#frag"
    assert credentials_token(machine, key.proof(htu=htu)).status_code == 200
    with_port = ISSUER.replace("http://", "http://") + TOKEN_URL
    assert credentials_token(machine, key.proof(htu=with_port)).status_code == 200


# --- each check of RFC 9449 §4.3 ---------------------------------------------------------------


def _hs256_proof() -> str:
    body = {"jti": "x1", "htm": "POST", "htu": TOKEN_ENDPOINT, "iat": int(time.time())}
    return jwt.encode(
        body, "secret-secret-secret-secret-32b!", algorithm="HS256", headers={"typ": "dpop+jwt"}
    )


def _none_proof(key: DPoPKey) -> str:
    body = {"jti": "x2", "htm": "POST", "htu": TOKEN_ENDPOINT, "iat": int(time.time())}
    return jwt.encode(body, None, algorithm="none", headers={"typ": "dpop+jwt", "jwk": key.public_jwk})


def _swapped_signature(key: DPoPKey) -> str:
    other = DPoPKey().proof()
    head, body, _ = key.proof().split(".")
    return f"{head}.{body}.{other.split('.')[2]}"


def _es256_on_p384() -> str:
    """Signed with SHA-256 by a P-384 key: ES256 means P-256 (RFC 7518 §3.4)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    key = DPoPKey("ES384")
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.public_jwk}
    body = {"jti": "x4", "htm": "POST", "htu": TOKEN_ENDPOINT, "iat": int(time.time())}
    segments = [dpop.b64url(json.dumps(part).encode()) for part in (header, body)]
    der = key.private_key.sign(".".join(segments).encode(), ec.ECDSA(hashes.SHA256()))
    signature = b"".join(n.to_bytes(48, "big") for n in decode_dss_signature(der))
    return ".".join([*segments, dpop.b64url(signature)])


def _truncated_signature(key: DPoPKey) -> str:
    head, body, signature = key.proof().split(".")
    return f"{head}.{body}.{signature[:-8]}"


PROOF_CASES = {
    "two DPoP headers": (lambda k: k.proof() + ", " + k.proof(), "dpop_multiple"),
    "not a JWT": (lambda k: "not-a-jwt", "dpop_malformed"),
    "garbage segments": (lambda k: "e30.e30.e30", "dpop_claims"),
    "NUL byte": (lambda k: "ey\x00J.e30.x", "dpop_malformed"),
    "no jti": (lambda k: k.proof(drop=("jti",)), "dpop_claims"),
    "no htm": (lambda k: k.proof(drop=("htm",)), "dpop_claims"),
    "no htu": (lambda k: k.proof(drop=("htu",)), "dpop_claims"),
    "no iat": (lambda k: k.proof(drop=("iat",)), "dpop_claims"),
    "typ JWT": (lambda k: k.proof(headers={"typ": "JWT"}), "dpop_typ"),
    "no typ": (lambda k: k.proof(headers={"typ": None}), "dpop_typ"),
    "alg none": (_none_proof, "dpop_alg"),
    "alg HS256": (lambda k: _hs256_proof(), "dpop_alg"),
    "alg not allow-listed": (lambda k: DPoPKey("RS256").proof(headers={}) and _rs512(), "dpop_alg"),
    "no jwk": (lambda k: k.proof(headers={"jwk": None}), "dpop_jwk"),
    "private jwk": (lambda k: k.proof(headers={"jwk": k.private_jwk()}), "dpop_jwk"),
    "symmetric jwk": (lambda k: k.proof(headers={"jwk": {"kty": "oct", "k": "c2VjcmV0"}}), "dpop_jwk"),
    "jku header": (lambda k: k.proof(headers={"jku": "https://evil.example/jwks"}), "dpop_header"),
    "signature of another key": (_swapped_signature, "dpop_signature"),
    "jwk of another key": (lambda k: k.proof(headers={"jwk": DPoPKey().public_jwk}), "dpop_signature"),
    "signature truncated": (_truncated_signature, "dpop_signature"),
    "ES256 with a P-384 key": (lambda k: _es256_on_p384(), "dpop_jwk"),
    "htm GET": (lambda k: k.proof(htm="GET"), "dpop_htm"),
    "htu of another server": (lambda k: k.proof(htu="https://evil.example/o/token/"), "dpop_htu"),
    "htu of another path": (lambda k: k.proof(htu=ISSUER + "/o/introspect/"), "dpop_htu"),
    "htu not a URL": (lambda k: k.proof(htu=42), "dpop_htu"),
    "iat too old": (lambda k: k.proof(iat=int(time.time()) - 600), "dpop_iat"),
    "iat in the future": (lambda k: k.proof(iat=int(time.time()) + 600), "dpop_iat"),
    "iat a string": (lambda k: k.proof(iat="now"), "dpop_iat"),
    "jti empty": (lambda k: k.proof(jti=""), "dpop_jti"),
    "jti too long": (lambda k: k.proof(jti="j" * 300), "dpop_jti"),
}


def _rs512() -> str:
    key = DPoPKey("RS256")
    body = {"jti": "x3", "htm": "POST", "htu": TOKEN_ENDPOINT, "iat": int(time.time())}
    return jwt.encode(
        body, key.private_key, algorithm="RS512", headers={"typ": "dpop+jwt", "jwk": key.public_jwk}
    )


@pytest.mark.parametrize("case", sorted(PROOF_CASES))
def test_each_proof_check_refuses_with_invalid_dpop_proof_and_an_audit_reason(machine, case):
    build, reason = PROOF_CASES[case]
    response = credentials_token(machine, build(DPoPKey()))
    row = assert_dpop_refused(response, reason)
    assert row.client_id == machine.client_id


def test_a_replayed_proof_is_refused(machine):
    proof = DPoPKey().proof()
    assert credentials_token(machine, proof).status_code == 200
    assert_dpop_refused(credentials_token(machine, proof), "dpop_replayed")


def test_a_replayed_proof_is_refused_with_the_cache_store_too(machine, settings):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "DPOP_REPLAY_STORE": "cache"}
    proof = DPoPKey().proof()
    assert credentials_token(machine, proof).status_code == 200
    assert_dpop_refused(credentials_token(machine, proof), "dpop_replayed")


def test_a_proof_refused_for_another_check_does_not_use_up_its_jti(machine):
    key = DPoPKey()
    assert_dpop_refused(credentials_token(machine, key.proof(jti="same-jti", htm="GET")), "dpop_htm")
    assert credentials_token(machine, key.proof(jti="same-jti")).status_code == 200


# --- nonces (§8) -------------------------------------------------------------------------------


@pytest.fixture
def nonces_required(settings: Any) -> None:
    settings.AGENT_OBO = {**settings.AGENT_OBO, "DPOP_NONCE_REQUIRED": True}


def test_a_demanded_nonce_is_refused_with_use_dpop_nonce_then_accepted(machine, nonces_required):
    key = DPoPKey()
    first = credentials_token(machine, key.proof())
    assert_dpop_refused(first, "dpop_nonce", error="use_dpop_nonce")
    nonce = first["DPoP-Nonce"]
    second = credentials_token(machine, key.proof(nonce=nonce))
    assert second.status_code == 200, second.content
    assert second["DPoP-Nonce"]  # a fresh nonce on every answer (§8.2)


def test_a_nonce_holds_across_processes_and_expires_after_its_window(machine, nonces_required):
    """Any process with the same secret accepts it; the previous window still passes."""
    now = time.time()
    fresh = dpop.Nonces("as", 300, clock=lambda: now).current()
    assert dpop.Nonces("as", 300, clock=lambda: now + 300).accepts(fresh)
    assert not dpop.Nonces("as", 300, clock=lambda: now + 600).accepts(fresh)
    assert not dpop.Nonces("rs", 300, clock=lambda: now).accepts(fresh)
    assert not dpop.Nonces("as", 300, secret="other", clock=lambda: now).accepts(fresh)
    stale = dpop.Nonces("as", 300, clock=lambda: now - 1200).current()
    assert_dpop_refused(
        credentials_token(machine, DPoPKey().proof(nonce=stale)), "dpop_nonce", "use_dpop_nonce"
    )
    forged = fresh.split(".")[0] + ".AAAAAAAAAAAAAAAAAAAAAAAA"
    assert_dpop_refused(
        credentials_token(machine, DPoPKey().proof(nonce=forged)), "dpop_nonce", "use_dpop_nonce"
    )


# --- the authorization code bound with dpop_jkt (§10) -------------------------------------------


def dpop_code(user: Any, app: App, jkt: str, actor: str | None = None) -> tuple[str, str]:
    browser = logged_in(user)
    verifier, challenge = pkce()
    params = authorize_params(app, challenge, actor, dpop_jkt=jkt)
    page = browser.get(AUTHORIZE_URL + "?" + urlencode(params))
    assert page.status_code == 200, page.content[:500]
    form = hidden_fields(page.content.decode())
    form["allow"] = "Authorize"
    return redirect_params(browser.post(AUTHORIZE_URL, form))["code"], verifier


def test_dpop_jkt_binds_the_code_to_the_key(user, client_app, agent):
    key = DPoPKey()
    code, verifier = dpop_code(user, client_app, key.jkt, agent.actor_id)
    response = redeem_proven(client_app, code, verifier, key.proof(), actor_token=actor_token_issued(agent))
    assert response.status_code == 200, response.content
    claims = unverified(response.json()["access_token"])
    assert claims["cnf"] == {"jkt": key.jkt} and claims["act"]["sub"] == agent.actor_id
    assert response.json()["token_type"] == "DPoP"


def test_a_bound_code_without_a_proof_is_refused_and_stays_redeemable(user, client_app):
    key = DPoPKey()
    code, verifier = dpop_code(user, client_app, key.jkt)
    assert_dpop_refused(redeem(client_app, code, verifier), "dpop_missing")
    assert redeem_proven(client_app, code, verifier, key.proof()).status_code == 200


def test_a_bound_code_with_another_key_is_refused(user, client_app):
    code, verifier = dpop_code(user, client_app, DPoPKey().jkt)
    assert_dpop_refused(redeem_proven(client_app, code, verifier, DPoPKey().proof()), "dpop_key_mismatch")


def test_an_unbound_code_redeemed_with_a_proof_is_bound_then(user, client_app):
    key = DPoPKey()
    browser = logged_in(user)
    from tests.conftest import get_code

    code, verifier = get_code(browser, client_app)
    response = redeem_proven(client_app, code, verifier, key.proof())
    assert unverified(response.json()["access_token"])["cnf"]["jkt"] == key.jkt


@pytest.mark.parametrize("value", ["short", "x" * 43 + "=", "a b", ""])  # NUL: test_control_characters
def test_a_malformed_dpop_jkt_is_refused_at_the_authorization_endpoint(user, client_app, value):
    _verifier, challenge = pkce()
    params = authorize_params(client_app, challenge, dpop_jkt=value)
    answer = redirect_params(logged_in(user).get(AUTHORIZE_URL + "?" + urlencode(params)))
    assert answer["error"] == "invalid_request"
    assert AuditEvent.objects.filter(event="consent.denied", reason="dpop_jkt_malformed").exists()


def test_a_repeated_dpop_jkt_is_refused(user, client_app):
    _verifier, challenge = pkce()
    params = authorize_params(client_app, challenge)
    query = urlencode(params) + "&dpop_jkt=" + DPoPKey().jkt + "&dpop_jkt=" + DPoPKey().jkt
    answer = redirect_params(logged_in(user).get(AUTHORIZE_URL + "?" + query))
    assert answer["error"] == "invalid_request"


# --- refresh tokens of public clients (§5) -------------------------------------------------------


def public_app() -> App:
    Application = get_application_model()
    model = Application.objects.create(
        name="Public client",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=REDIRECT_URI,  # DOT's generated secret: a public client never sends it
    )
    return App(model=model, client_id=model.client_id, secret="")


def refresh(app: App, refresh_token: str, proof: str | None) -> Any:
    headers = {"HTTP_DPOP": proof} if proof is not None else {}
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": app.client_id}
    return Client().post(TOKEN_URL, data, **headers)


def public_tokens(user: Any, key: DPoPKey) -> tuple[App, dict[str, Any]]:
    from tests.conftest import get_code

    app = public_app()
    code, verifier = get_code(logged_in(user), app)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        "client_id": app.client_id,
    }
    response = Client().post(TOKEN_URL, data, HTTP_DPOP=key.proof())
    assert response.status_code == 200, response.content
    return app, response.json()


def test_a_public_clients_refresh_token_needs_a_proof_from_the_same_key(user):
    key = DPoPKey()
    app, tokens = public_tokens(user, key)
    assert_dpop_refused(refresh(app, tokens["refresh_token"], None), "dpop_missing")
    assert_dpop_refused(refresh(app, tokens["refresh_token"], DPoPKey().proof()), "dpop_key_mismatch")
    renewed = refresh(app, tokens["refresh_token"], key.proof())
    assert renewed.status_code == 200, renewed.content
    assert unverified(renewed.json()["access_token"])["cnf"]["jkt"] == key.jkt
    # the rotated refresh token is bound to the key as well
    assert_dpop_refused(refresh(app, renewed.json()["refresh_token"], DPoPKey().proof()), "dpop_key_mismatch")


def test_a_confidential_clients_refresh_may_bind_a_new_key(user, client_app):
    from tests.conftest import get_code

    code, verifier = get_code(logged_in(user), client_app)
    first = redeem_proven(client_app, code, verifier, DPoPKey().proof()).json()
    new_key = DPoPKey()
    data = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    renewed = Client().post(TOKEN_URL, data, HTTP_DPOP=new_key.proof(), **client_app.basic())
    assert renewed.status_code == 200, renewed.content
    assert unverified(renewed.json()["access_token"])["cnf"]["jkt"] == new_key.jkt


# --- token exchange (RFC 8693) of a bound subject token --------------------------------------


def bound_delegated_token(user: Any, client_app: App, agent: Any, key: DPoPKey) -> str:
    code, verifier = dpop_code(user, client_app, key.jkt, agent.actor_id)
    response = redeem_proven(client_app, code, verifier, key.proof(), actor_token=actor_token_issued(agent))
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])


def test_exchanging_a_bound_subject_token_needs_a_proof_from_its_key(user, client_app, agent):
    key = DPoPKey()
    subject = bound_delegated_token(user, client_app, agent, key)
    assert_dpop_refused(exchange(agent, subject), "dpop_missing")
    assert_dpop_refused(exchange_proven(agent, subject, DPoPKey().proof()), "dpop_key_mismatch")
    response = exchange_proven(agent, subject, key.proof())
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "DPoP"
    assert unverified(response.json()["access_token"])["cnf"]["jkt"] == key.jkt


def test_an_unbound_subject_token_exchanged_with_a_proof_is_bound_to_the_callers_key(user, client_app, agent):
    from tests.fixtures_exchange import delegate

    subject = delegate(user, client_app, agent)["access_token"]
    key = DPoPKey()
    response = exchange_proven(agent, subject, key.proof())
    assert response.status_code == 200, response.content
    assert unverified(response.json()["access_token"])["cnf"]["jkt"] == key.jkt


# --- policy: site-wide, per client, per agent ---------------------------------------------------


def test_site_wide_requirement_refuses_a_request_without_proof(machine, settings):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "DPOP_REQUIRED": True}
    assert_dpop_refused(credentials_token(machine, None), "dpop_required")
    assert credentials_token(machine, DPoPKey().proof()).status_code == 200


def test_a_client_policy_requires_dpop_for_that_client_only(machine, client_app):
    ClientDPoPPolicy.objects.create(application=machine.model, require_dpop=True)
    assert_dpop_refused(credentials_token(machine, None), "dpop_required")
    assert credentials_token(machine, DPoPKey().proof()).status_code == 200
    other = Client().post(TOKEN_URL, {"grant_type": "client_credentials"}, **make_cc_app().basic())
    assert other.status_code == 200


def make_cc_app() -> App:
    from tests.conftest import make_app

    return make_app("Other machine", grant="client-credentials")


def test_an_agent_that_requires_dpop_gets_no_bearer_token(agent, user, client_app):
    agent.model.require_dpop = True
    agent.model.save()
    assert_dpop_refused(credentials_token(agent.app, None), "dpop_required")
    response = credentials_token(agent.app, DPoPKey().proof())
    assert response.status_code == 200
    from tests.conftest import get_code

    code, verifier = get_code(logged_in(user), client_app, actor=agent.actor_id)
    actor_token = response.json()["access_token"]
    assert_dpop_refused(redeem(client_app, code, verifier, actor_token=actor_token), "dpop_required")


# --- metadata and introspection --------------------------------------------------------------------


def test_metadata_lists_the_dpop_algorithms():
    data = Client().get("/.well-known/oauth-authorization-server").json()
    assert data["dpop_signing_alg_values_supported"] == ["ES256", "ES384", "EdDSA", "RS256", "PS256"]


def test_introspection_returns_cnf_and_the_token_type(machine):
    key = DPoPKey()
    token = credentials_token(machine, key.proof()).json()["access_token"]
    answer = Client().post("/o/introspect/", {"token": token}, **machine.basic()).json()
    assert answer["active"] is True
    assert answer["cnf"] == {"jkt": key.jkt} and answer["token_type"] == "DPoP"
