"""Local validation of our RFC 9068 access tokens, and what a resource server learns from one.

:func:`validate_access_token` runs the one verifier, :func:`~django_agent_obo.jose.verify`,
with this resource's key set (``keysets``): size and JWS shape; no
``crit``/``jku``/``x5u``/``jwk``/``x5c`` header; ``alg`` allow-listed; a ``kid``; ``typ`` is
``at+jwt`` (RFC 9068 §4); the key of the set for ``kid`` and ``alg``; the signature; ``iss``;
``aud`` names this resource; ``exp``/``nbf``/``iat`` with leeway; required claims. Then the
claims' types, a well-formed ``act`` chain (RFC 8693 §4.1) and revocation in the configured
mode. Any failure is a :class:`TokenError` whose ``reason`` is a stable identifier.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .. import jose
from ..claims import ACCESS_TOKEN_TYP, MAX_CHAIN_DEPTH, default_audience, flatten_act, issuer
from ..conf import agent_obo_settings
from ..models import IssuedToken
from . import revocation
from .keysets import key_set

REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"]

DESCRIPTIONS = {
    "token_malformed": "The access token is not a well-formed JWT.",
    "token_typ": "The token is not an RFC 9068 access token (typ at+jwt).",
    "token_header": "The token carries a header this resource does not accept.",
    "token_alg": "The token's signature algorithm is not accepted.",
    "token_kid": "The token was signed with an unknown key.",
    "token_signature": "The token's signature does not verify.",
    "token_iss": "The token was issued by another issuer.",
    "token_aud": "The token is not meant for this resource.",
    "token_expired": "The access token has expired.",
    "token_not_yet_valid": "The access token is not valid yet.",
    "token_claims": "The access token lacks a required claim.",
    "token_act": "The token's act claim is malformed.",
    "token_revoked": "The access token has been revoked.",
    "token_unknown": "The access token is not known to the issuer.",
}


class TokenError(Exception):
    """The bearer token is not acceptable (RFC 6750 §3.1 ``invalid_token``)."""

    error = "invalid_token"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.description = DESCRIPTIONS.get(reason, "The access token is invalid.")


@dataclass(frozen=True)
class AccessTokenInfo:
    """A validated access token: the three identities kept apart (SPEC §1).

    ``sub`` is the user (or, for an agent's own token, the agent; for a bare client, the
    client); ``client_id`` the client that ran the flow; ``actor_chain`` the agents,
    current actor first. ``user`` is resolved from our record on first access only.
    """

    claims: Mapping[str, Any]
    sub: str
    client_id: str
    jti: str
    scopes: frozenset[str]
    actor_chain: tuple[str, ...]
    audience: tuple[str, ...]
    expires_at: int
    status: revocation.TokenStatus | None = field(default=None, repr=False)
    proven: bool = False  # RFC 9449 §7: presented as DPoP with a valid proof of its key

    @property
    def dpop_jkt(self) -> str | None:
        """The key the token is bound to (``cnf.jkt``, RFC 9449 §6.1), or None for a bearer token."""
        return jkt_of(self.claims)

    @property
    def scope(self) -> str:
        return str(self.claims.get("scope", ""))

    @property
    def authorization_details(self) -> list[dict[str, Any]]:
        """The RFC 9396 objects the token carries (``[]`` without the claim)."""
        value = self.claims.get("authorization_details")
        return [dict(detail) for detail in value] if isinstance(value, list) else []

    @property
    def actor(self) -> str | None:
        """The current actor (``act.sub``), or None for a token without ``act``."""
        return self.actor_chain[0] if self.actor_chain else None

    @property
    def chain_depth(self) -> int:
        return len(self.actor_chain)

    @cached_property
    def record(self) -> revocation.TokenStatus | None:
        """Our record of the token (read now if the revocation mode did not read it)."""
        return self.status if self.status is not None else revocation.load_status(self.jti)

    @property
    def kind(self) -> str | None:
        """``delegated``, ``actor``, ``user`` or ``client``; None when we hold no record."""
        if self.actor_chain:
            return IssuedToken.KIND_DELEGATED
        return self.record.kind if self.record is not None else None

    @property
    def is_agent(self) -> bool:
        """An agent is calling: acting for a user (``act``) or as itself (its actor token)."""
        return bool(self.actor_chain) or self.kind == IssuedToken.KIND_ACTOR

    @property
    def agent_id(self) -> str | None:
        """The agent calling: the current actor, or ``sub`` of an agent's own token."""
        if self.actor_chain:
            return self.actor_chain[0]
        return self.sub if self.kind == IssuedToken.KIND_ACTOR else None

    @cached_property
    def user(self) -> Any:
        """The user the token was issued for, or ``AnonymousUser`` (agent or client tokens)."""
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import AnonymousUser

        record = self.record
        if record is None or record.user_id is None:
            return AnonymousUser()
        found = get_user_model()._default_manager.filter(pk=record.user_id).first()
        return found if found is not None else AnonymousUser()

    def has_scopes(self, required: tuple[str, ...] | list[str], match: str = "all") -> bool:
        if not required:
            return True
        if match == "any":
            return not self.scopes.isdisjoint(required)
        return self.scopes.issuperset(required)


def jkt_of(claims: Mapping[str, Any]) -> str | None:
    """``cnf.jkt`` of a token's claims (RFC 9449 §6.1), or None."""
    cnf = claims.get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, Mapping) else None
    return jkt if isinstance(jkt, str) else None


def expected_issuer() -> str:
    return str(agent_obo_settings.RS_ISSUER or issuer()).rstrip("/")


def expected_audience() -> list[str]:
    value = agent_obo_settings.RS_AUDIENCE or default_audience()
    return [value] if isinstance(value, str) else list(value)


def _reason(refusal: jose.JWTRefused) -> str:
    """Our JOSE refusals in this module's vocabulary (``token_*``, see TokenError)."""
    reason = refusal.reason
    if reason.startswith("header_"):
        return "token_header"
    if reason.startswith("missing_"):
        return "token_claims"
    return "token_malformed" if reason == "invalid" else f"token_{reason}"


def validate_access_token(token: str, *, audience: list[str] | None = None) -> AccessTokenInfo:
    """Validate a bearer token for this resource; raises :class:`TokenError` (RFC 6750 §3.1).

    ``audience``: the ``aud`` values accepted here (a resource of its own, such as an MCP
    server); None: ``RS_AUDIENCE``.
    """
    return checked_token(token, audience, None)


def checked_token(
    token: str, audience: list[str] | None, prove: Callable[[str | None], object] | None
) -> AccessTokenInfo:
    """:func:`validate_access_token`, and with ``prove`` the proof of possession too:
    ``prove(cnf_jkt)`` is called once every token check has passed, raises to refuse, and
    the result says ``proven=True`` (RFC 9449 §7, ``resource/proof.py``)."""
    try:
        claims = jose.verify(
            token,
            key_set(),
            typ=ACCESS_TOKEN_TYP,
            issuer=expected_issuer(),
            audience=audience or expected_audience(),
            leeway=agent_obo_settings.RS_LEEWAY_SECONDS,
            require=REQUIRED_CLAIMS,
            algorithms=agent_obo_settings.RS_ALGORITHMS,
            max_bytes=agent_obo_settings.RS_MAX_TOKEN_BYTES,
        )
    except jose.JWTRefused as exc:
        raise TokenError(_reason(exc)) from exc
    sub, client_id, jti, scope = claims["sub"], claims["client_id"], claims["jti"], claims.get("scope", "")
    if not (isinstance(sub, str) and isinstance(client_id, str) and isinstance(jti, str)):
        raise TokenError("token_claims")
    if not isinstance(scope, str):
        raise TokenError("token_claims")
    details = claims.get("authorization_details", [])  # RFC 9396 §9.1: an array of objects with type
    if not isinstance(details, list) or not all(
        isinstance(d, dict) and isinstance(d.get("type"), str) for d in details
    ):
        raise TokenError("token_claims")
    act = claims.get("act")
    try:
        chain = tuple(flatten_act(act, MAX_CHAIN_DEPTH)) if act is not None else ()
    except ValueError as exc:
        raise TokenError("token_act") from exc
    try:
        status = revocation.check(jti, int(claims["exp"]))
    except revocation.TokenNotUsable as exc:
        raise TokenError(exc.reason) from exc
    if prove is not None:
        prove(jkt_of(claims))
    aud = claims["aud"]
    return AccessTokenInfo(
        claims=claims,
        sub=sub,
        client_id=client_id,
        jti=jti,
        scopes=frozenset(scope.split()),
        actor_chain=chain,
        audience=(aud,) if isinstance(aud, str) else tuple(aud),
        expires_at=int(claims["exp"]),
        status=status,
        proven=prove is not None,
    )
