"""DPoP at the token endpoint (RFC 9449 §5): the proof, what it must match, what it binds.

:func:`bind_dpop_proof` runs after every grant's own checks (code, client credentials,
refresh, token exchange, CIBA, device, and any grant registered later, see ``server.py``),
when the request's :class:`~django_agent_obo.issuance.Issuance` says what the token is for:

* a ``DPoP`` header is verified (§4.3) for ``POST`` to the token endpoint under ``ISSUER``;
* the proof's key must be the one the request is already bound to: the code's
  ``dpop_jkt`` (§10), a public client's refresh token (§5), a DPoP-bound subject token
  of a token exchange;
* a DPoP-bound actor token (code, refresh, CIBA, the next actor of an exchange) needs a
  proof of its own key, else ``invalid_grant`` (:func:`check_actor_key`);
* a proof is required by ``DPOP_REQUIRED``, the client's policy or the agent's;
* the new access token is bound to the proof's key: ``cnf.jkt`` and ``token_type: DPoP``.

Refusals are ``invalid_dpop_proof`` (or ``use_dpop_nonce`` with a ``DPoP-Nonce`` header,
§8), 400, with the reason in the audit row.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.crypto import constant_time_compare

from .. import dpop, issuance
from ..conf import agent_obo_settings
from ..issuance import Issuance
from ..models import ClientDPoPPolicy, IssuedToken
from ..tokens import issuer
from .errors import nonces, refuse

HEADER = "HTTP_DPOP"


def token_endpoint_url() -> str:
    """``htu`` of a token request: the token endpoint under ``ISSUER`` (the URL clients use,
    whatever a proxy in front of this process rewrites)."""
    return issuer() + reverse("oauth2_provider:token")


def verify_request_proof(request: Any) -> dpop.Proof | None:
    """The verified proof of this token request, None without a ``DPoP`` header."""
    headers = getattr(request, "headers", None) or {}
    value = headers.get(HEADER)
    if value is None:
        return None
    try:
        return dpop.verify_proof(
            str(value),
            method="POST",
            urls=[token_endpoint_url()],
            algorithms=agent_obo_settings.DPOP_ALGORITHMS,
            max_age=int(agent_obo_settings.DPOP_PROOF_MAX_AGE_SECONDS),
            leeway=int(agent_obo_settings.CLOCK_SKEW_SECONDS),
            nonces=nonces() if agent_obo_settings.DPOP_NONCE_REQUIRED else None,
            consume=dpop.consume_jti(
                agent_obo_settings.DPOP_REPLAY_STORE, agent_obo_settings.DPOP_REPLAY_CACHE_ALIAS, "as"
            ),
        )
    except dpop.ProofError as exc:
        refuse(exc.reason, exc.description, request, error=exc.error)


def _refresh_origin(request: Any, current: Issuance) -> IssuedToken | None:
    refresh = getattr(request, "refresh_token_instance", None)
    origin = current.refresh_origin
    if refresh is None:
        return None
    if origin is None or origin.refresh_token_id != refresh.pk:
        origin = IssuedToken.objects.filter(refresh_token=refresh).first()
    return origin


def bound_key(request: Any, current: Issuance) -> str:
    """The thumbprint the proof must have, or "" when the request is not bound yet."""
    if current.parent is not None:  # token exchange: the subject token's key
        return current.parent.dpop_jkt
    if request.grant_type == "authorization_code" and current.code_binding is not None:
        return current.code_binding.dpop_jkt
    client = request.client
    if request.grant_type == "refresh_token" and client.client_type == client.CLIENT_PUBLIC:
        origin = _refresh_origin(request, current)
        return origin.dpop_jkt if origin is not None else ""
    return ""


def dpop_required(request: Any, current: Issuance) -> bool:
    """Site-wide default, then the client's policy, then the agent's."""
    if agent_obo_settings.DPOP_REQUIRED or (current.agent is not None and current.agent.require_dpop):
        return True
    client_pk = getattr(request.client, "pk", None)
    if client_pk is None:
        return False
    return ClientDPoPPolicy.objects.filter(application_id=client_pk, require_dpop=True).exists()


def check_actor_key(current: Issuance, proof: dpop.Proof | None, request: Any) -> None:
    """A DPoP-bound actor token (``cnf.jkt``, noted by the actor check) counts only with a
    proof of its key in this request: RFC 9449 §7's reasoning for a bound access token (a
    thief holds the token, not the key), applied where actor tokens are presented; §4.3
    allows one proof per request, so that proof must be the actor's."""
    jkt = current.actor_jkt
    if not jkt:
        return
    if proof is None:
        refuse(
            "actor_token_dpop_required",
            "The actor token is DPoP-bound: send a DPoP proof of its key.",
            request,
        )
    if not constant_time_compare(proof.jkt, jkt):
        refuse(
            "actor_token_dpop_mismatch",
            "The DPoP proof was made with another key than the actor token's.",
            request,
        )


def bind_dpop_proof(request: Any) -> None:
    """Post-token hook of every grant: verify, match, require, bind (see the module)."""
    proof = verify_request_proof(request)
    current = issuance.of(request)
    current.settle_profile(request.user)
    bound = bound_key(request, current)
    if bound and proof is None:
        refuse("dpop_missing", dpop.DESCRIPTIONS["dpop_missing"], request)
    if bound and proof is not None and proof.jkt != bound:
        refuse("dpop_key_mismatch", dpop.DESCRIPTIONS["dpop_key_mismatch"], request)
    if proof is None and dpop_required(request, current):
        refuse("dpop_required", dpop.DESCRIPTIONS["dpop_required"], request)
    check_actor_key(current, proof, request)
    if proof is None:
        return
    current.dpop_jkt = proof.jkt
    request.extra_credentials = {**(request.extra_credentials or {}), "token_type": dpop.TOKEN_TYPE}
