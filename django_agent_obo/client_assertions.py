"""``verify_client_assertion()``: client authentication with a signed JWT (``private_key_jwt``).

RFC 7523 §2.2 and RFC 7521 §4.2: instead of a shared secret the client sends
``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`` and a
``client_assertion`` JWT it signed, with ``iss`` = ``sub`` = its client id, ``aud`` naming this
server (its issuer or token endpoint), a short ``exp`` and a ``jti`` used once (RFC 7523 §3).

The keys are the ones this server already holds for the client: an agent's own client signs
with the agent's registered keys (the same that sign its self-signed actor tokens), any other
client with the :class:`~django_agent_obo.models.ClientKeySet` an admin registered for it.
Headers are screened as for actor tokens (``jose.py``: no ``jku``, ``x5u``, ``jwk``, ``x5c``,
``crit``), only the asymmetric algorithms of ``ACTOR_TOKEN_ALGORITHMS`` verify, and the
``jti`` goes into the same database-backed replay store, so a replay fails in any process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from . import actors, jose, rows
from .conf import agent_obo_settings
from .models import Agent, ClientKeySet, UsedAssertion
from .refusals import Refusal
from .tokens import issuer

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
AUTH_METHOD = "private_key_jwt"
REPLAY_NAMESPACE = "client:"  # UsedAssertion.issuer of client assertions, apart from actor ids


class ClientAssertionError(Refusal):
    """The assertion does not authenticate the client; ``reason`` is the audit identifier."""

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(reason, description)


@dataclass(frozen=True)
class VerifiedClient:
    client: Any  # DOT's Application
    agent: Agent | None
    jti: str


def signing_algorithms() -> list[str]:
    """``token_endpoint_auth_signing_alg_values_supported`` (RFC 8414 §2)."""
    return list(agent_obo_settings.ACTOR_TOKEN_ALGORITHMS)


def verify_client_assertion(
    assertion: str,
    assertion_type: str | None,
    *,
    client_id: str | None,
    token_endpoint: str,
    load_client: Callable[[str], Any],
) -> VerifiedClient:
    """The client that ``assertion`` authenticates. ``client_id`` is the request's own
    parameter, if sent (RFC 7521 §4.2: it must name the same client); ``load_client`` finds a
    usable client by id or returns None. Raises :class:`ClientAssertionError`."""
    if assertion_type != CLIENT_ASSERTION_TYPE:
        raise ClientAssertionError(
            "client_assertion_type", f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}."
        )
    if not assertion or len(assertion.encode()) > agent_obo_settings.ACTOR_TOKEN_MAX_BYTES:
        raise ClientAssertionError(
            "client_assertion_malformed", "The client assertion is empty or too large."
        )
    try:
        header = jose.read_header(assertion)
        unverified = jose.unverified_claims(assertion)
    except jose.JWTRefused as exc:
        raise _refused(exc.reason) from exc
    alg = str(header.get("alg"))
    if alg not in agent_obo_settings.ACTOR_TOKEN_ALGORITHMS:
        raise ClientAssertionError(
            "client_assertion_alg", "The client assertion's algorithm is not accepted."
        )
    claimed = unverified.get("iss")
    if not isinstance(claimed, str) or not claimed or unverified.get("sub") != claimed:
        raise ClientAssertionError(
            "client_assertion_sub", "The client assertion needs iss = sub = the client id."
        )
    if client_id and client_id != claimed:
        raise ClientAssertionError(
            "client_assertion_client_id", "The client assertion is for another client."
        )
    client = load_client(claimed)
    if client is None:
        raise ClientAssertionError("client_assertion_unknown_client", "The client is not registered.")
    agent = Agent.objects.filter(credentials=client).first()
    key = _client_key(client, agent, header.get("kid"), alg)
    try:
        claims = jose.decode(
            assertion,
            key,
            alg,
            issuer=claimed,
            audience=[issuer(), token_endpoint],
            leeway=agent_obo_settings.CLOCK_SKEW_SECONDS,
            require=["exp", "sub", "iss", "aud", "jti"],
        )
    except jose.JWTRefused as exc:
        raise _refused(exc.reason) from exc
    _check_lifetime(claims)
    jti = claims["jti"]
    if not isinstance(jti, str) or not 8 <= len(jti) <= 200:
        raise ClientAssertionError("client_assertion_jti", "The client assertion's jti is not acceptable.")
    expires_at = datetime.fromtimestamp(int(claims["exp"]) + 60, tz=UTC)
    namespace = (REPLAY_NAMESPACE + claimed)[:255]
    if not rows.insert_unless_present(UsedAssertion, issuer=namespace, jti=jti, expires_at=expires_at):
        raise ClientAssertionError("client_assertion_replayed", "The client assertion has already been used.")
    return VerifiedClient(client=client, agent=agent, jti=jti)


def _client_key(client: Any, agent: Agent | None, kid: Any, alg: str) -> Any:
    """The agent's registered key for an agent's client; otherwise the client's key set."""
    try:
        if agent is not None:
            reason = agent.unusable_reason()
            if reason is not None:
                raise ClientAssertionError(reason, "This agent is not available.")
            return actors.agent_key(agent, kid, alg)
        key_set = ClientKeySet.objects.filter(application=client).first()
        if key_set is None:
            raise ClientAssertionError("client_assertion_no_keys", "The client has registered no keys.")
        return actors.registered_key(list((key_set.jwks or {}).get("keys", [])), kid, alg)
    except actors.ActorTokenError as exc:
        reason = exc.reason.removeprefix("actor_token_").removeprefix("actor_")
        raise ClientAssertionError(
            f"client_assertion_{reason}", _DESCRIPTIONS.get(reason, exc.description)
        ) from exc


def _check_lifetime(claims: dict[str, Any]) -> None:
    """``exp`` at most ``ACTOR_ASSERTION_MAX_LIFETIME_SECONDS`` ahead (and after ``iat``)."""
    now = timezone.now().timestamp()
    skew = agent_obo_settings.CLOCK_SKEW_SECONDS
    max_life = agent_obo_settings.ACTOR_ASSERTION_MAX_LIFETIME_SECONDS
    exp, iat = claims["exp"], claims.get("iat")
    if not isinstance(exp, int | float) or exp > now + max_life + skew:
        raise ClientAssertionError("client_assertion_lifetime", "The client assertion lives too long.")
    if iat is not None and (not isinstance(iat, int | float) or iat > now + skew or exp - iat > max_life):
        raise ClientAssertionError("client_assertion_iat", "The client assertion's iat is not acceptable.")


_DESCRIPTIONS = {
    "malformed": "The client assertion is not a JWT.",
    "expired": "The client assertion has expired.",
    "not_yet_valid": "The client assertion is not valid yet.",
    "aud": "The client assertion is not meant for this server.",
    "iss": "The client assertion's issuer is wrong.",
    "signature": "The client assertion's signature does not verify.",
    "kid": "The client assertion's key is not registered.",
    "alg": "The registered key does not fit the client assertion's algorithm.",
    "jwks_unavailable": "The agent's keys could not be fetched.",
}


def _refused(reason: str) -> ClientAssertionError:
    if reason.startswith("header_"):
        description = f"The '{reason[7:]}' header is not accepted."
    elif reason.startswith("missing_"):
        description = f"The client assertion has no '{reason[8:]}'."
    else:
        description = _DESCRIPTIONS.get(reason, "The client assertion is invalid.")
    return ClientAssertionError(f"client_assertion_{reason}", description)
