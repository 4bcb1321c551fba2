"""Agents' registered public keys (RFC 7517 JWK Sets): what we accept at registration."""

from __future__ import annotations

from typing import Any

import jwt

ASYMMETRIC_KTY = ("RSA", "EC", "OKP")


class KeySetError(ValueError):
    pass


def validate_jwks(document: Any) -> dict[str, Any]:
    """Accept only public asymmetric keys with distinct kids; return the cleaned set."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list) or not document["keys"]:
        raise KeySetError('expected {"keys": [...]} with at least one key')
    kids = set()
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or jwk.get("kty") not in ASYMMETRIC_KTY:
            raise KeySetError("every key must be an RSA, EC or OKP public key")
        if "d" in jwk or "p" in jwk or "k" in jwk:
            raise KeySetError("the set contains private or symmetric key material; register public keys only")
        try:
            jwt.PyJWK(jwk)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
            raise KeySetError(f"key {jwk.get('kid', '?')} cannot be parsed: {exc}") from exc
        kid = jwk.get("kid")
        if kid in kids:
            raise KeySetError(f"duplicate kid {kid!r}")
        kids.add(kid)
    if len(document["keys"]) > 1 and None in kids:
        raise KeySetError("with several keys, every key needs a kid")
    return {"keys": document["keys"]}
