"""An independent DPoP client (RFC 9449), built on jwcrypto rather than on our code or PyJWT,
completes the authorization-code flow with ``dpop_jkt`` and calls the example API."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from django.test import Client
from jwcrypto import jwk, jws

from tests.conftest import (
    AUTHORIZE_URL,
    ISSUER,
    REDIRECT_URI,
    TOKEN_URL,
    actor_token_issued,
    authorize_params,
    hidden_fields,
    logged_in,
    pkce,
    redirect_params,
)


class JwcryptoDPoPClient:
    """The client side of RFC 9449 as its text reads, on jwcrypto alone."""

    def __init__(self) -> None:
        self.key = jwk.JWK.generate(kty="EC", crv="P-256")
        self.nonce: str | None = None

    @property
    def jkt(self) -> str:
        return str(self.key.thumbprint())  # RFC 7638, SHA-256

    def proof(self, method: str, url: str, access_token: str | None = None) -> str:
        claims: dict[str, Any] = {
            "jti": str(uuid.uuid4()),
            "htm": method,
            "htu": url,
            "iat": int(time.time()),
        }
        if access_token is not None:
            digest = hashlib.sha256(access_token.encode("ascii")).digest()
            claims["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if self.nonce is not None:
            claims["nonce"] = self.nonce
        signer = jws.JWS(json.dumps(claims).encode())
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.key.export_public(as_dict=True)}
        signer.add_signature(self.key, alg="ES256", protected=json.dumps(header))
        return str(signer.serialize(compact=True))


def test_independent_client_completes_code_flow_and_calls_the_api(user, client_app, agent, settings):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "DPOP_NONCE_REQUIRED": True}
    dpop_client = JwcryptoDPoPClient()
    browser = logged_in(user)
    verifier, challenge = pkce()
    params = authorize_params(client_app, challenge, agent.actor_id, dpop_jkt=dpop_client.jkt)
    form = hidden_fields(browser.get(AUTHORIZE_URL + "?" + urlencode(params)).content.decode())
    code = redirect_params(browser.post(AUTHORIZE_URL, {**form, "allow": "Authorize"}))["code"]

    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        "actor_token": actor_token_issued(agent),
    }
    token_endpoint = ISSUER + TOKEN_URL
    first = Client().post(
        TOKEN_URL, data, HTTP_DPOP=dpop_client.proof("POST", token_endpoint), **client_app.basic()
    )
    assert first.status_code == 400 and first.json()["error"] == "use_dpop_nonce"  # RFC 9449 §8
    dpop_client.nonce = first["DPoP-Nonce"]
    answer = Client().post(
        TOKEN_URL, data, HTTP_DPOP=dpop_client.proof("POST", token_endpoint), **client_app.basic()
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["token_type"] == "DPoP"
    access_token = answer.json()["access_token"]
    segment = access_token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    assert claims["cnf"] == {"jkt": dpop_client.jkt}

    dpop_client.nonce = None  # the example API asks for none
    url = "http://testserver/api/whoami/"
    api = Client().get(
        "/api/whoami/",
        HTTP_AUTHORIZATION=f"DPoP {access_token}",
        HTTP_DPOP=dpop_client.proof("GET", url, access_token),
    )
    assert api.status_code == 200, api.content
    assert api.json()["actor"] == agent.actor_id

    # The same token, stolen without the key, is refused.
    assert Client().get("/api/whoami/", HTTP_AUTHORIZATION=f"Bearer {access_token}").status_code == 401
    replay = Client().get("/api/whoami/", HTTP_AUTHORIZATION=f"DPoP {access_token}")
    assert replay.status_code == 401 and 'DPoP error="invalid_dpop_proof"' in replay["WWW-Authenticate"]
