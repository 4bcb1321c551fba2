"""The demo's chapter "a token a thief cannot use": DPoP (RFC 9449; docs/dpop.md)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from ...resource import validate_access_token
from ._demo_common import DEMO_ACTOR_ID, bearer, expect


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class ProofKey:
    """An ES256 key pair and the DPoP proofs it signs (RFC 9449 §4.2)."""

    def __init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.public_jwk: dict[str, str] = json.loads(ECAlgorithm.to_jwk(self.private_key.public_key()))

    @property
    def jkt(self) -> str:
        """The RFC 7638 thumbprint: SHA-256 of the required members, sorted, no whitespace."""
        members = {name: self.public_jwk[name] for name in ("crv", "kty", "x", "y")}
        canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
        return b64url(hashlib.sha256(canonical.encode()).digest())

    def proof(self, htm: str, htu: str, access_token: str | None = None) -> str:
        claims: dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "htm": htm,
            "htu": htu,
            "iat": int(time.time()),
        }
        if access_token is not None:  # §4.2: at a resource server, the hash of the token
            claims["ath"] = b64url(hashlib.sha256(access_token.encode()).digest())
        header = {"typ": "dpop+jwt", "jwk": self.public_jwk}
        return jwt.encode(claims, self.private_key, algorithm="ES256", headers=header)


class DPoPChapter:
    """Steps run by ``obo_demo`` after the device chapter; they reuse its consent steps."""

    app: Any
    server: dict[str, Any]
    token: str
    token_type: str
    say: Callable[[str], None]
    show: Callable[[str, Any], None]
    show_http: Callable[[Any], None]
    authorization_url: Callable[..., None]
    redeem: Callable[..., None]
    api_call: Callable[..., None]

    def dpop_authorization_url(self) -> None:
        """§10: ``dpop_jkt`` binds the code to the key, so a stolen code is no use either."""
        self.key = ProofKey()
        self.show("the agent's new key", f"ES256, RFC 7638 thumbprint {self.key.jkt}")
        self.authorization_url(dpop_jkt=self.key.jkt)

    def dpop_redeem(self) -> None:

        proof = self.key.proof("POST", self.server["token_endpoint"])
        header, claims = (
            jwt.get_unverified_header(proof),
            jwt.decode(proof, options={"verify_signature": False}),
        )
        self.show(
            "DPoP proof (header and claims, abridged)",
            {
                "typ": header["typ"],
                "alg": header["alg"],
                "jwk": {name: header["jwk"][name] for name in ("kty", "crv")},
                "htm": claims["htm"],
                "htu": claims["htu"],
            },
        )
        self.redeem(HTTP_DPOP=proof)
        expect(self.token_type == "DPoP", f"token_type is {self.token_type!r}")
        info = validate_access_token(self.token)
        expect(info.claims.get("cnf") == {"jkt": self.key.jkt}, f"cnf is {info.claims.get('cnf')}")
        expect(info.actor_chain == (DEMO_ACTOR_ID,), f"act is {info.claims.get('act')}")
        self.show("claims", {k: info.claims[k] for k in ("sub", "client_id", "act", "cnf")})
        self.say("cnf.jkt = the thumbprint of the agent's key: the token is bound to it")

    def _dpop(self, method: str, path: str) -> dict[str, str]:
        """The credentials of one request: the token as ``DPoP`` and a fresh proof for it."""
        proof = self.key.proof(method, self.app.origin + path, self.token)
        self.last_request = (path, {"HTTP_AUTHORIZATION": f"DPoP {self.token}", "HTTP_DPOP": proof})
        return self.last_request[1]

    def dpop_api_call(self) -> None:
        self.api_call(self._dpop)

    def dpop_thief(self) -> None:

        captured_path, captured = self.last_request
        thief = ProofKey()
        attempts = [
            ("the stolen token as Bearer", "/api/whoami/", bearer(self.token), 'error="invalid_token"'),
            (
                "the stolen token with a proof of the thief's own key",
                "/api/whoami/",
                {
                    "HTTP_AUTHORIZATION": f"DPoP {self.token}",
                    "HTTP_DPOP": thief.proof("GET", self.app.origin + "/api/whoami/", self.token),
                },
                'error="invalid_dpop_proof"',
            ),
            (
                "the agent's last request replayed, proof and all",
                captured_path,
                captured,
                'error="invalid_dpop_proof"',
            ),
        ]
        for label, path, headers, error in attempts:
            response = self.app.get(path, **headers)
            self.say(f"{label}: GET {path}")
            self.show_http(response)
            expect(response.status_code == 401, f"{label}: expected 401, got {response.status_code}")
            expect(error in response.get("WWW-Authenticate", ""), f"{label}: no {error} challenge")
