"""RFC 9068 JWT access tokens: claims, signing, DOT's generator hook, and their verification
with our keys (the ``act`` chain, issuer and audience helpers are in :mod:`.claims`).

oauthlib calls :func:`generate_access_token` (the server's token generator) with the request
once the grant has been validated. What the token is *for* (a user, an agent acting for a
user, an agent proving itself, a bare client) is the request's
:class:`~django_agent_obo.issuance.Issuance`, its profile set by the grant's hooks; the
claims follow from it.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import jwt

from . import jose
from .adapter import get_adapter
from .claims import ACCESS_TOKEN_TYP, issuer, nest_act
from .conf import agent_obo_settings
from .issuance import Issuance, Profile, Signed
from .issuance import of as issuance_of
from .keys import server_keys, signing_key

# RFC 9068 §5: a client's own token has a `sub` no user's can equal; users' subjects never start so.
CLIENT_SUBJECT_PREFIX = "client:"
RESERVED_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "azp", "scope", "act", "auth_time", "cnf"}
)


class SubjectReserved(Exception):
    """The adapter gave a user a ``sub`` in the namespace reserved for clients' own tokens."""


def client_subject(client_id: str) -> str:
    """``sub`` of a token a client obtained for itself (RFC 9068 §5): never a user's."""
    return CLIENT_SUBJECT_PREFIX + client_id


def user_subject(user: Any) -> str:
    """``sub`` of a user's token: the adapter's, refused when it would pass for a client's."""
    subject = str(get_adapter().get_subject(user))
    if subject.startswith(CLIENT_SUBJECT_PREFIX):
        raise SubjectReserved(subject)
    return subject


def actor_token_audience() -> list[str]:
    """``aud`` of an agent's actor token when it asked for no resource: this server (SPEC §4)."""
    return [issuer()]


def sign(claims: dict[str, Any]) -> str:
    key = signing_key()
    return jwt.encode(
        claims, key.private_key, algorithm=key.alg, headers={"kid": key.kid, "typ": ACCESS_TOKEN_TYP}
    )


def verify_access_token(token: str) -> dict[str, Any]:
    """The claims of a JWT access token this server signed (RFC 9068 §4): :func:`jose.verify`
    with our key ring, ``typ`` ``at+jwt``, our ``iss`` and the configured leeway, ``aud``
    unchecked; revocation is the caller's check against :class:`IssuedToken`. Raises
    :class:`~django_agent_obo.jose.JWTRefused` (malformed, typ, kid, expired, not_yet_valid,
    signature, missing_<claim>, invalid).
    """
    return jose.verify(
        token,
        server_keys,
        typ=ACCESS_TOKEN_TYP,
        issuer=issuer(),
        audience=None,
        leeway=agent_obo_settings.CLOCK_SKEW_SECONDS,
        require=["exp", "iat", "iss", "sub", "jti"],
    )


def _subject(request: Any, issuance: Issuance, profile: Profile) -> str:
    if profile.subject == "agent":
        assert issuance.agent is not None
        return issuance.agent.actor_id
    if profile.subject == "user" and request.user is not None:
        return user_subject(request.user)
    return client_subject(request.client.client_id)


def build_claims(request: Any, issuance: Issuance, now: int) -> dict[str, Any]:
    client = request.client
    profile = issuance.settle_profile(request.user)
    audience = issuance.audience or list(getattr(request, "resource", None) or []) or profile.audience()
    claims: dict[str, Any] = {
        "iss": issuer(),
        "sub": _subject(request, issuance, profile),
        "aud": audience[0] if len(audience) == 1 else audience,
        "client_id": client.client_id,
        "azp": client.client_id,
        "scope": " ".join(request.scopes or []),
        "iat": now,
        "exp": now + int(request.expires_in),
        "jti": secrets.token_urlsafe(24),
    }
    last_login = getattr(request.user, "last_login", None) if profile.auth_time else None
    if last_login is not None:
        claims["auth_time"] = int(last_login.timestamp())
    act = nest_act(issuance.actor_chain)
    if act is not None:
        claims["act"] = act
    if issuance.dpop_jkt:
        claims["cnf"] = {"jkt": issuance.dpop_jkt}
    for name, value in get_adapter().extra_claims(request).items():
        if name not in RESERVED_CLAIMS:
            claims[name] = value
    claims.pop("authorization_details", None)  # only what was approved (RFC 9396 §9.1)
    if issuance.authorization_details:
        claims["authorization_details"] = issuance.authorization_details
    return claims


def lifetime(request: Any) -> int:
    """Seconds until expiry (oauthlib's ``expires_in`` callable): the profile's
    (:meth:`~django_agent_obo.issuance.Issuance.lifetime`)."""
    issuance = issuance_of(request)
    issuance.settle_profile(request.user)
    return issuance.lifetime()


def generate_access_token(request: Any) -> str:
    """oauthlib's token generator: sign the JWT and keep its claims for recording."""
    issuance = issuance_of(request)
    claims = build_claims(request, issuance, int(time.time()))
    token = sign(claims)
    issuance.signed = Signed(jti=claims["jti"], claims=claims)
    return token
