"""JWS checks shared by every verifier of a JWT here: header screening, PyJWT decoding,
refusals as stable reasons, and :func:`verify`, the one verifier of the tokens this server
signs (the authorization server and the resource toolkit call it with their key set).

Keys are never taken from a token's own headers: ``jku``, ``x5u``, ``jwk`` and ``x5c`` are
refused outright, and so is ``crit`` (we implement no extensions; RFC 7515 §4.1.11).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Collection, Mapping
from types import MappingProxyType
from typing import Any, Protocol

import jwt
from jwt.utils import base64url_decode

FORBIDDEN_HEADERS = ("jku", "x5u", "jwk", "x5c", "crit")
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

_PYJWT_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.InvalidAudienceError, "aud"),
    (jwt.InvalidIssuerError, "iss"),
    (jwt.InvalidSignatureError, "signature"),
)


class JWTRefused(Exception):
    """``reason``: malformed, header_<name>, typ, alg, kid, expired, not_yet_valid, aud, iss,
    missing_<claim>, signature or invalid."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeySet(Protocol):
    """Where a verifier finds a key (RFC 7517 JWK Set semantics): never in the token itself."""

    def get(self, kid: str, alg: str) -> Any | None:
        """The public key for ``kid`` if it is known and registered for ``alg``."""


def _unstorable(value: Any) -> bool:
    """A NUL or a lone surrogate anywhere in ``value`` (no database stores either)."""
    if isinstance(value, str):
        return UNSTORABLE.search(value) is not None
    if isinstance(value, dict):
        return any(_unstorable(k) or _unstorable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_unstorable(item) for item in value)
    return False


def json_segment(segment: str) -> dict[str, Any]:
    """A base64url-encoded JSON object (a JWS header or payload), or ``malformed``; not
    cached, for segments seen once (a DPoP proof's payload). UTF-8 (RFC 7515 §2) without
    NUL or lone surrogates: its claims may reach a lookup or the replay store."""
    try:
        text = base64url_decode(segment).decode("utf-8")
        value = json.loads(text)
        # Strict JSON has no raw control characters and strict UTF-8 no raw surrogates: only
        # an escape (\\u0000, \\ud800) makes them, so the walk runs only for text with one.
        unstorable = "\\u" in text and _unstorable(value)
    except (ValueError, TypeError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
        raise JWTRefused("malformed") from exc
    if not isinstance(value, dict) or unstorable:
        raise JWTRefused("malformed")
    return value


# Cached: the tokens of one key share their header segment, and a token is often read twice.
_json_object = functools.lru_cache(maxsize=128)(json_segment)


def _parse_header(segment: str) -> Mapping[str, Any]:
    return MappingProxyType(_json_object(segment))


def read_header(token: str) -> Mapping[str, Any]:
    """The JOSE header, refused if it carries a key source or ``crit`` (cached: the tokens
    of one key share their header segment)."""
    segment, dot, _ = token.partition(".")
    if not dot:
        raise JWTRefused("malformed")
    header = _parse_header(segment)
    for name in FORBIDDEN_HEADERS:
        if name in header:
            raise JWTRefused(f"header_{name}")
    return header


def embedded_key_header(token: str) -> Mapping[str, Any]:
    """The JOSE header of a token whose key travels in its own ``jwk`` header by design
    (a DPoP proof, RFC 9449 §4.2): ``jku``, ``x5u``, ``x5c`` and ``crit`` are still refused."""
    segment, dot, _ = token.partition(".")
    if not dot:
        raise JWTRefused("malformed")
    header = _parse_header(segment)
    for name in FORBIDDEN_HEADERS:
        if name in header and name != "jwk":
            raise JWTRefused(f"header_{name}")
    return header


def unverified_claims(token: str) -> dict[str, Any]:
    """Claims read before verification, only to choose how to verify (e.g. by ``iss``):
    the payload is decoded, nothing is checked; :func:`decode` then parses the token
    strictly and verifies it."""
    segments = token.split(".")
    if len(segments) != 3:
        raise JWTRefused("malformed")
    return _json_object(segments[1])


def decode(
    token: str,
    key: Any,
    alg: str,
    *,
    issuer: str,
    audience: list[str] | None,
    leeway: int,
    require: list[str],
) -> dict[str, Any]:
    """Verify signature, ``iss``, ``aud`` (skipped when ``audience`` is None) and the time
    claims with ``leeway`` (RFC 7519 §4.1); return the claims."""
    try:
        return dict(
            jwt.decode(
                token,
                key,
                algorithms=[alg],
                issuer=issuer,
                audience=audience,
                leeway=leeway,
                options={"require": require, "verify_aud": audience is not None},
            )
        )
    except jwt.MissingRequiredClaimError as exc:
        raise JWTRefused(f"missing_{exc.claim}") from exc
    except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
        reason = next((name for kind, name in _PYJWT_ERRORS if isinstance(exc, kind)), "invalid")
        raise JWTRefused(reason) from exc


def typ_matches(typ: Any, expected: str) -> bool:
    """``typ`` names the media type ``expected`` (RFC 7515 §4.1.9: compared without case, the
    ``application/`` prefix optional)."""
    return isinstance(typ, str) and typ.lower().removeprefix("application/") == expected


def verify(
    token: Any,
    keys: KeySet,
    *,
    typ: str,
    issuer: str,
    audience: list[str] | None,
    leeway: int,
    require: list[str],
    algorithms: Collection[str] | None = None,
    max_bytes: int | None = None,
) -> dict[str, Any]:
    """The claims of a JWT signed with a key of ``keys``, typed ``typ`` (RFC 8725 §3.11).

    In order: size (``max_bytes``) and shape, the screened header, ``alg`` in ``algorithms``
    (None: the key's own algorithm decides, another one being an unknown key), a ``kid``,
    ``typ``, the key of ``kid`` for that ``alg``, then :func:`decode`. Raises
    :class:`JWTRefused` with the first failing check.
    """
    if not isinstance(token, str) or (max_bytes is not None and len(token) > max_bytes):
        raise JWTRefused("malformed")
    header = read_header(token)
    alg, kid = header.get("alg"), header.get("kid")
    if algorithms is not None and (not isinstance(alg, str) or alg not in algorithms):
        raise JWTRefused("alg")
    if not isinstance(kid, str):
        raise JWTRefused("kid")
    if not typ_matches(header.get("typ"), typ):
        raise JWTRefused("typ")
    if not isinstance(alg, str) or (key := keys.get(kid, alg)) is None:
        raise JWTRefused("kid")  # no key of the set for this kid and alg
    return decode(token, key, alg, issuer=issuer, audience=audience, leeway=leeway, require=require)
