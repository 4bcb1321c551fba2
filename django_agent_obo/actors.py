"""``verify_actor_token()``: the one place an agent's proof of identity is checked (SPEC §3).

Two kinds of actor token are accepted, told apart by ``iss`` before any key is chosen:

* **issued by this server**: an RFC 9068 JWT from ``client_credentials`` with the agent's
  own client; ``sub`` is the actor id. Verified with our keys and accepted only if our
  record says it was issued as an actor token (not a user's delegated token, not an ID
  token) and is not revoked.
* **self-signed by the agent** (RFC 7523 §3): ``iss`` = ``sub`` = the actor id, ``aud``
  names this server, lifetime at most five minutes, ``jti`` single-use (stored in the
  database until expiry so every process sees it).

Keys are only ever chosen from what this server already trusts: a token's ``jku``,
``x5u``, ``jwk`` or ``x5c`` header is refused, never followed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from django.core.cache import cache
from django.utils import timezone

from . import agent_documents, dpop, jose, rows
from .conf import agent_obo_settings
from .models import Agent, IssuedToken, UsedAssertion
from .refusals import Refusal
from .tokens import actor_token_audience, issuer, verify_access_token

log = logging.getLogger("django_agent_obo.actors")

TOKEN_TYPE_JWT = "urn:ietf:params:oauth:token-type:jwt"
TOKEN_TYPE_ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
ACTOR_TOKEN_TYPES = (TOKEN_TYPE_JWT, TOKEN_TYPE_ACCESS_TOKEN)
SELF_SIGNED_TYPS = (None, "JWT", "jwt")


class ActorTokenError(Refusal):
    """The actor token is not acceptable. ``reason`` is a stable audit identifier."""

    def __init__(self, reason: str, description: str = "The actor token is invalid.") -> None:
        super().__init__(reason, description)


@dataclass(frozen=True)
class VerifiedActor:
    agent: Agent
    kind: str  # "issued" or "self_signed"
    jti: str
    claims: dict[str, Any]
    # RFC 9449 §6.1: the key an issued actor token is bound to (its cnf.jkt), None if unbound;
    # a request presenting it must carry a proof of that key (oauth/dpop_binding.py).
    dpop_jkt: str | None = None


def verify_actor_token(token: str, token_type: str | None, token_endpoint: str) -> VerifiedActor:
    """Verify an actor token and return the agent it proves. Raises :class:`ActorTokenError`."""
    if token_type not in (None, "", *ACTOR_TOKEN_TYPES):
        raise ActorTokenError("unsupported_actor_token_type", "Unsupported actor_token_type.")
    if not token or len(token.encode()) > agent_obo_settings.ACTOR_TOKEN_MAX_BYTES:
        raise ActorTokenError("actor_token_malformed", "The actor token is empty or too large.")
    try:
        header = jose.read_header(token)
        unverified = jose.unverified_claims(token)
    except jose.JWTRefused as exc:
        raise _refused(exc) from exc
    alg = str(header.get("alg"))
    if alg not in agent_obo_settings.ACTOR_TOKEN_ALGORITHMS:
        raise ActorTokenError("actor_token_alg", "The actor token's algorithm is not accepted.")
    token_issuer = unverified.get("iss")
    if not isinstance(token_issuer, str):
        raise ActorTokenError("actor_token_iss", "The actor token has no issuer.")
    if token_issuer == issuer():
        return _verify_issued(token)
    return _verify_self_signed(token, header, alg, token_issuer, token_endpoint)


_DESCRIPTIONS = {
    "malformed": "The actor token is not a JWT.",
    "expired": "The actor token has expired.",
    "not_yet_valid": "The actor token is not valid yet.",
    "aud": "The actor token is not meant for this server.",
    "iss": "The actor token's issuer is wrong.",
    "signature": "The actor token's signature does not verify.",
}


def _refused(exc: jose.JWTRefused) -> ActorTokenError:
    if exc.reason.startswith("header_"):
        description = f"The '{exc.reason[7:]}' header is not accepted."
    elif exc.reason.startswith("missing_"):
        description = f"The actor token has no '{exc.reason[8:]}'."
    else:
        description = _DESCRIPTIONS.get(exc.reason, "The actor token is invalid.")
    return ActorTokenError(f"actor_token_{exc.reason}", description)


def _decode(token: str, key: Any, alg: str, *, issuer: str, audience: list[str]) -> dict[str, Any]:
    try:
        return jose.decode(
            token,
            key,
            alg,
            issuer=issuer,
            audience=audience,
            leeway=agent_obo_settings.CLOCK_SKEW_SECONDS,
            require=["exp", "iat", "sub", "iss", "aud", "jti"],
        )
    except jose.JWTRefused as exc:
        raise _refused(exc) from exc


def _usable_agent(agent: Agent | None) -> Agent:
    if agent is None:
        raise ActorTokenError("unknown_actor", "The actor is not registered.")
    reason = agent.unusable_reason()
    if reason is not None:
        raise ActorTokenError(reason, "The actor is not available.")
    return agent


def _verify_issued(token: str) -> VerifiedActor:
    try:
        claims = verify_access_token(token)
    except jose.JWTRefused as exc:
        raise ActorTokenError(
            f"actor_token_{exc.reason}", "The actor token is not a valid token of this server."
        ) from exc
    if "act" in claims:
        raise ActorTokenError("actor_token_is_delegated", "A delegated token cannot serve as an actor token.")
    try:
        record = IssuedToken.objects.select_related("agent").get(jti=claims["jti"])
    except IssuedToken.DoesNotExist:
        record = None
    if record is None or record.kind != IssuedToken.KIND_ACTOR:
        raise ActorTokenError("not_an_actor_token", "The token was not issued as an actor token.")
    if record.revoked_at is not None:
        raise ActorTokenError("actor_token_revoked", "The actor token has been revoked.")
    audience = claims.get("aud")
    if (audience if isinstance(audience, list) else [audience]) != actor_token_audience():
        # SPEC §4: a token of the agent meant for another resource could be replayed by it.
        raise ActorTokenError("actor_token_aud", "The token is not an actor token for this server (aud).")
    agent = _usable_agent(record.agent)
    # Issued to the agent's current credentials (its client_id claim is that client's, as signed).
    if claims["sub"] != agent.actor_id or record.application_id != agent.credentials_id:
        raise ActorTokenError("actor_token_sub", "The actor token does not name its agent.")
    cnf = claims.get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    if cnf is not None and not dpop.is_jkt(jkt):
        raise ActorTokenError("actor_token_cnf", "The actor token's key binding (cnf) is not understood.")
    return VerifiedActor(agent=agent, kind="issued", jti=claims["jti"], claims=claims, dpop_jkt=jkt)


def _verify_self_signed(
    token: str, header: Mapping[str, Any], alg: str, actor_id: str, token_endpoint: str
) -> VerifiedActor:
    if header.get("typ") not in SELF_SIGNED_TYPS:
        raise ActorTokenError("actor_token_typ", "A self-signed actor assertion must be typed JWT.")
    agent = _usable_agent(agent_documents.current_agent(actor_id))
    key = agent_key(agent, header.get("kid"), alg)
    claims = _decode(token, key, alg, issuer=actor_id, audience=[issuer(), token_endpoint])
    if claims["sub"] != actor_id:
        raise ActorTokenError("actor_token_sub", "A self-signed actor assertion needs iss = sub.")
    if not isinstance(claims["jti"], str) or not 8 <= len(claims["jti"]) <= 255:
        raise ActorTokenError("actor_token_jti", "The actor token's jti is not acceptable.")
    now = timezone.now().timestamp()
    skew = agent_obo_settings.CLOCK_SKEW_SECONDS
    max_life = agent_obo_settings.ACTOR_ASSERTION_MAX_LIFETIME_SECONDS
    if claims["exp"] - claims["iat"] > max_life or claims["exp"] > now + max_life + skew:
        raise ActorTokenError("actor_token_lifetime", "A self-signed actor assertion may live five minutes.")
    if claims["iat"] > now + skew:
        raise ActorTokenError("actor_token_iat", "The actor token was issued in the future.")
    _consume_jti(actor_id, claims["jti"], claims["exp"])
    return VerifiedActor(agent=agent, kind="self_signed", jti=claims["jti"], claims=claims)


def _consume_jti(actor_id: str, jti: str, exp: int) -> None:
    """Record the assertion's jti; a second use (in any process) is a replay (RFC 7523 §3)."""
    expires_at = datetime.fromtimestamp(exp + 60, tz=UTC)
    if not rows.insert_unless_present(UsedAssertion, issuer=actor_id, jti=jti, expires_at=expires_at):
        raise ActorTokenError("actor_token_replayed", "The actor token has already been used.")


def agent_key(agent: Agent, kid: Any, alg: str) -> Any:
    """The agent's registered public key for ``kid`` (or its only key), matching ``alg``."""
    return registered_key(list((agent.jwks or {}).get("keys", [])) or _remote_jwks(agent), kid, alg)


def registered_key(keys: list[dict[str, Any]], kid: Any, alg: str) -> Any:
    """The key of a registered JWK Set for ``kid`` (or its only key), matching ``alg``; also
    used for client assertions (RFC 7523 §2.2), whose refusals rename the reasons."""
    if kid is not None:
        keys = [k for k in keys if k.get("kid") == kid]
    elif len(keys) != 1:
        raise ActorTokenError("actor_token_kid", "The actor token must name its key (kid).")
    if not keys:
        raise ActorTokenError("actor_token_kid", "The actor token's key is not registered.")
    jwk = keys[0]
    if jwk.get("alg") not in (None, alg):
        raise ActorTokenError("actor_token_alg", "The key is registered for another algorithm.")
    if jwk.get("kty") not in ("RSA", "EC", "OKP") or "d" in jwk:
        raise ActorTokenError("actor_token_kid", "The registered key is not an asymmetric public key.")
    try:
        return jwt.PyJWK(jwk, algorithm=alg).key
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
        raise ActorTokenError("actor_token_alg", "The key does not fit the token's algorithm.") from exc


def _remote_jwks(agent: Agent) -> list[dict[str, Any]]:
    """Fetch an agent's ``jwks_uri`` (timeout, size cap, cached in Django's cache)."""
    if not agent.jwks_uri:
        return []
    cache_key = "agent_obo:jwks:" + hashlib.sha256(agent.jwks_uri.encode()).hexdigest()
    cached = cache.get(cache_key)
    if cached is not None:
        return list(cached)
    if not agent.jwks_uri.startswith(("https://", "http://")):
        return []
    try:
        with urllib.request.urlopen(  # noqa: S310 - scheme checked above
            agent.jwks_uri, timeout=agent_obo_settings.JWKS_FETCH_TIMEOUT_SECONDS
        ) as response:
            document = json.loads(response.read(256 * 1024))
        keys = [k for k in document.get("keys", []) if isinstance(k, dict)]
    except (OSError, ValueError, AttributeError) as exc:
        log.warning("Could not fetch jwks_uri of %s: %s", agent.actor_id, exc)
        raise ActorTokenError("actor_jwks_unavailable", "The actor's keys could not be fetched.") from exc
    cache.set(cache_key, keys, agent_obo_settings.JWKS_CACHE_SECONDS)
    return keys
