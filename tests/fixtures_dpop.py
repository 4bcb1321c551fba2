"""DPoP proofs for the tests (RFC 9449 §4.2), built with PyJWT; thumbprints with jwcrypto,
so the server's RFC 7638 code is checked against another implementation."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwcrypto import jwk as jwcrypto_jwk

from .conftest import ISSUER, TOKEN_URL

TOKEN_ENDPOINT = ISSUER + TOKEN_URL


class DPoPKey:
    """A client's DPoP key pair and the proofs it signs."""

    def __init__(self, alg: str = "ES256") -> None:
        self.alg = alg
        # What proof() claims unless told otherwise: a token request; a test at a resource
        # server points these at its request and token.
        self.htm, self.htu, self.access_token = "POST", TOKEN_ENDPOINT, None
        if alg.startswith("ES"):
            self.private_key: Any = ec.generate_private_key(
                ec.SECP256R1() if alg == "ES256" else ec.SECP384R1()
            )
        elif alg == "EdDSA":
            self.private_key = ed25519.Ed25519PrivateKey.generate()
        else:
            self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_jwk: dict[str, Any] = json.loads(
            str(jwt.get_algorithm_by_name(alg).to_jwk(self.private_key.public_key()))
        )

    def private_jwk(self) -> dict[str, Any]:
        return json.loads(str(jwt.get_algorithm_by_name(self.alg).to_jwk(self.private_key)))

    @property
    def jkt(self) -> str:
        return str(jwcrypto_jwk.JWK(**self.public_jwk).thumbprint())

    def proof(
        self,
        htm: str | None = None,
        htu: Any = None,
        *,
        access_token: str | None = None,
        nonce: str | None = None,
        headers: dict[str, Any] | None = None,
        drop: tuple[str, ...] = (),
        **claims: Any,
    ) -> str:
        body: dict[str, Any] = {
            "jti": uuid.uuid4().hex,
            "htm": htm or self.htm,
            "htu": self.htu if htu is None else htu,
            "iat": int(time.time()),
        }
        access_token = access_token or self.access_token
        if access_token is not None:
            body["ath"] = ath(access_token)
        if nonce is not None:
            body["nonce"] = nonce
        body.update(claims)
        for name in drop:
            body.pop(name, None)
        header: dict[str, Any] = {"typ": "dpop+jwt", "jwk": self.public_jwk}
        header.update(headers or {})
        header = {k: v for k, v in header.items() if v is not None}
        return jwt.encode(body, self.private_key, algorithm=self.alg, headers=header)


def ath(token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()


def unverified(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))
