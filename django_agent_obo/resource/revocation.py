"""Is this token still good? Three operator-selectable modes (``RS_REVOCATION_MODE``).

* ``database``: read our :class:`~django_agent_obo.models.IssuedToken` row by ``jti`` on
  every request; a revocation is refused on the very next request.
* ``cache``: the same row, kept in Django's cache (e.g. Redis) for at most
  ``RS_REVOCATION_CACHE_SECONDS``: a resource server sharing that cache with the
  authorization server sees a revocation at once (``delegation`` evicts the entries on
  commit, through ``token_status``); one with its own cache sees it within the configured
  staleness. Per request this costs one cache read and no database query.
* ``none``: signature and expiry only; a revoked token works until it expires.

A token we signed but never recorded (its transaction rolled back) is refused in the
``database`` and ``cache`` modes.
"""

from __future__ import annotations

import time

from django.core.cache import caches

from ..conf import agent_obo_settings
from ..refusals import Refusal
from ..token_status import TokenStatus, cache_key, load_status

MODES = ("database", "cache", "none")
_UNKNOWN: tuple[()] = ()


class TokenNotUsable(Refusal):
    """The record says no: ``reason`` is ``token_revoked`` or ``token_unknown``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, error="invalid_token")


def _cached_status(jti: str, exp: int) -> TokenStatus | None:
    cache = caches[agent_obo_settings.RS_REVOCATION_CACHE_ALIAS]
    key = cache_key(jti)
    cached = cache.get(key)
    if cached is not None:
        return TokenStatus(*cached) if cached else None
    status = load_status(jti)
    ttl = min(int(agent_obo_settings.RS_REVOCATION_CACHE_SECONDS), max(1, exp - int(time.time())))
    value = (status.revoked, status.kind, status.user_id) if status is not None else _UNKNOWN
    cache.add(key, value, ttl)  # never over a revocation written meanwhile (token_status.evict)
    return status


def check(jti: str, exp: int) -> TokenStatus | None:
    """The token's status in the configured mode; raises :class:`TokenNotUsable`.

    Returns None in ``none`` mode (nothing was read).
    """
    mode = agent_obo_settings.RS_REVOCATION_MODE
    if mode == "none":
        return None
    status = _cached_status(jti, exp) if mode == "cache" else load_status(jti)
    if status is None:
        raise TokenNotUsable("token_unknown")
    if status.revoked:
        raise TokenNotUsable("token_revoked")
    return status
