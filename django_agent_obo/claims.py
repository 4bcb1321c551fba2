"""Our RFC 9068 access tokens as both sides read them: their ``typ``, issuer and default
audience, and the ``act`` chain (RFC 8693 §4.1). Shared by the authorization server, which
writes them, and the resource toolkit, which reads them; it imports neither.
"""

from __future__ import annotations

from typing import Any

from .conf import agent_obo_settings

ACCESS_TOKEN_TYP = "at+jwt"  # RFC 9068 §2.1
MAX_CHAIN_DEPTH = 32


def issuer() -> str:
    value = agent_obo_settings.ISSUER
    if not value:
        raise RuntimeError("AGENT_OBO['ISSUER'] is not set")
    return str(value).rstrip("/")


def default_audience() -> list[str]:
    value = agent_obo_settings.DEFAULT_AUDIENCE or issuer()
    return [value] if isinstance(value, str) else list(value)


def nest_act(chain: list[str]) -> dict[str, Any] | None:
    """``["c", "b", "a"]`` → ``{"sub": "c", "act": {"sub": "b", "act": {"sub": "a"}}}`` (RFC 8693 §4.1)."""
    act: dict[str, Any] | None = None
    for actor_id in reversed(chain):
        act = {"sub": actor_id, **({"act": act} if act else {})}
    return act


def flatten_act(act: Any, max_depth: int = MAX_CHAIN_DEPTH) -> list[str]:
    """The inverse of :func:`nest_act`; refuses malformed or absurdly deep chains."""
    chain: list[str] = []
    while act is not None:
        if not isinstance(act, dict) or not isinstance(act.get("sub"), str) or len(chain) >= max_depth:
            raise ValueError("malformed act claim")
        chain.append(act["sub"])
        act = act.get("act")
    return chain
