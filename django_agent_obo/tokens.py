"""RFC 9068 JWT access tokens: claims, signing, DOT's generator hook, and their verification
with our keys (the ``act`` chain, issuer and audience helpers are in :mod:`.claims`).

DOT calls :func:`generate_access_token` (its ``ACCESS_TOKEN_GENERATOR`` setting) with the
oauthlib request once the grant has been validated. What the token is *for* (a user, an
agent acting for a user, an agent proving itself, a bare client) arrives on the request as
a :class:`TokenContext` set by the validator; the claims follow from it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jwt
from django.utils import timezone

from . import jose
from .adapter import get_adapter
from .claims import ACCESS_TOKEN_TYP, default_audience, issuer, nest_act
from .conf import agent_obo_settings
from .keys import server_keys, signing_key
from .models import Agent, AgentGrant, CodeBinding, IssuedToken

# RFC 9068 §5: a client's own token has a `sub` no user's can equal; users' subjects never start so.
CLIENT_SUBJECT_PREFIX = "client:"
RESERVED_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "azp", "scope", "act", "auth_time", "cnf"}
)


@dataclass
class TokenContext:
    """What the validator decided a token is for; read by the generator and the recorder."""

    kind: str
    agent: Agent | None = None
    agent_grant: AgentGrant | None = None
    code_binding: CodeBinding | None = None
    parent: IssuedToken | None = None
    actor_chain: list[str] = field(default_factory=list)
    audience: list[str] | None = None  # None: from RFC 8707 `resource` or the default
    max_expires_at: datetime | None = None
    dpop_jkt: str | None = None  # RFC 9449 §6.1: the key the token is bound to (cnf.jkt)
    authorization_details: list[dict[str, Any]] = field(default_factory=list)  # RFC 9396, settled


@dataclass
class SignedToken:
    """A token the generator signed, waiting for DOT to store it (then recorded by jti)."""

    jti: str
    claims: dict[str, Any]
    context: TokenContext


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


def build_claims(request: Any, context: TokenContext, now: int) -> dict[str, Any]:
    client = request.client
    exp = now + int(request.expires_in)
    audience = context.audience or list(getattr(request, "resource", None) or [])
    if context.kind == IssuedToken.KIND_ACTOR:
        assert context.agent is not None
        subject = context.agent.actor_id
        audience = audience or actor_token_audience()
    elif request.user is not None and context.kind != IssuedToken.KIND_CLIENT:
        subject = user_subject(request.user)
    else:
        subject = client_subject(client.client_id)
    audience = audience or default_audience()
    claims: dict[str, Any] = {
        "iss": issuer(),
        "sub": subject,
        "aud": audience[0] if len(audience) == 1 else audience,
        "client_id": client.client_id,
        "azp": client.client_id,
        "scope": " ".join(request.scopes or []),
        "iat": now,
        "exp": exp,
        "jti": secrets.token_urlsafe(24),
    }
    last_login = getattr(request.user, "last_login", None) if context.kind != IssuedToken.KIND_ACTOR else None
    if last_login is not None:
        claims["auth_time"] = int(last_login.timestamp())
    act = nest_act(context.actor_chain)
    if act is not None:
        claims["act"] = act
    if context.dpop_jkt:
        claims["cnf"] = {"jkt": context.dpop_jkt}
    for name, value in get_adapter().extra_claims(request).items():
        if name not in RESERVED_CLAIMS:
            claims[name] = value
    claims.pop("authorization_details", None)  # only what was approved (RFC 9396 §9.1)
    if context.authorization_details:
        claims["authorization_details"] = context.authorization_details
    return claims


def lifetime(request: Any) -> int:
    """Seconds until expiry (oauthlib's ``expires_in`` callable): agent tokens are shorter,
    and no token outlives the delegation, the subject token it derives from, or its agent's
    ``valid_until``."""
    from oauth2_provider.settings import oauth2_settings

    context: TokenContext | None = getattr(request, "agent_obo_context", None)
    if context is None or context.kind == IssuedToken.KIND_USER or context.kind == IssuedToken.KIND_CLIENT:
        return int(oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS)
    if context.kind == IssuedToken.KIND_ACTOR:
        seconds = int(agent_obo_settings.ACTOR_TOKEN_EXPIRE_SECONDS)
    else:
        seconds = int(agent_obo_settings.AGENT_ACCESS_TOKEN_EXPIRE_SECONDS)
    valid_until = context.agent.valid_until if context.agent is not None else None
    ends = [end for end in (context.max_expires_at, valid_until) if end is not None]
    if ends:
        remaining = int((min(ends) - timezone.now()).total_seconds())
        seconds = max(1, min(seconds, remaining))
    return seconds


def generate_access_token(request: Any) -> str:
    """DOT ``ACCESS_TOKEN_GENERATOR``: sign the JWT and leave it on the request for recording."""
    import time

    context: TokenContext | None = getattr(request, "agent_obo_context", None)
    if context is None:
        context = TokenContext(kind=IssuedToken.KIND_USER if request.user else IssuedToken.KIND_CLIENT)
    claims = build_claims(request, context, int(time.time()))
    token = sign(claims)
    request.agent_obo_signed = SignedToken(jti=claims["jti"], claims=claims, context=context)
    return token
