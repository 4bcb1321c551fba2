"""System checks ``agent_obo.E190`` to ``W193`` on the caches that hold state every process must share.

Used DPoP proof ``jti`` values (RFC 9449 §11.1), the token endpoint's rate limits and the
resource servers' revocation cache can live in Django's cache. A cache alias that does not exist
fails the first request that needs it; Django's ``DummyCache`` stores nothing, so every replayed
proof would pass and no limit would ever trip; ``LocMemCache`` is one per process, so a proof
used at one worker could be replayed at another and each worker counts its own limit (a warning
of ``check --deploy``: one process is a legitimate deployment).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import checks

from .conf import agent_obo_settings

DATABASE = "django.core.cache.backends.db.DatabaseCache"
DUMMY = "django.core.cache.backends.dummy.DummyCache"
PER_PROCESS = "django.core.cache.backends.locmem.LocMemCache"


@dataclass(frozen=True)
class CacheUse:
    """One piece of shared state kept in the cache ``alias``: ``what`` it is, for the message;
    ``must_store``: whether a cache that keeps nothing (or keeps it per process) breaks it."""

    setting: str
    alias: str
    what: str
    must_store: bool


def cache_uses() -> list[CacheUse]:
    """The caches this site's settings put shared state in."""
    uses = []
    serves_tokens = agent_obo_settings.AUTHORIZATION_SERVER
    if serves_tokens and agent_obo_settings.DPOP_REPLAY_STORE == "cache":
        uses.append(
            CacheUse(
                "DPOP_REPLAY_CACHE_ALIAS",
                agent_obo_settings.DPOP_REPLAY_CACHE_ALIAS,
                "used DPoP proofs at the token endpoint",
                True,
            )
        )
    if serves_tokens and agent_obo_settings.RATE_LIMIT_STORE == "cache":
        uses.append(CacheUse("RATE_LIMIT_STORE", "default", "the token endpoint's rate limits", True))
    if agent_obo_settings.RS_DPOP_REPLAY_STORE == "cache":
        uses.append(
            CacheUse(
                "RS_DPOP_REPLAY_CACHE_ALIAS",
                agent_obo_settings.RS_DPOP_REPLAY_CACHE_ALIAS,
                "used DPoP proofs at resource servers",
                True,
            )
        )
    if agent_obo_settings.RS_REVOCATION_MODE == "cache":
        uses.append(
            CacheUse(
                "RS_REVOCATION_CACHE_ALIAS",
                agent_obo_settings.RS_REVOCATION_CACHE_ALIAS,
                "revocation state at resource servers",
                False,  # a miss reads the database: nothing stored is only slower
            )
        )
    return uses


def _backend(alias: str) -> str | None:
    config = getattr(settings, "CACHES", {}).get(alias)
    return str(config.get("BACKEND", "")) if isinstance(config, dict) else None


def check_caches(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E190: the alias is not in ``CACHES``; E191: it is a ``DummyCache`` where state must be kept."""
    errors: list[checks.CheckMessage] = []
    for use in cache_uses():
        backend = _backend(use.alias)
        if backend is None:
            errors.append(
                checks.Error(
                    f"AGENT_OBO['{use.setting}'] names the cache {use.alias!r}, which is not in CACHES.",
                    hint=f"Add {use.alias!r} to CACHES (a cache shared by every process, e.g. Redis).",
                    id="agent_obo.E190",
                )
            )
        elif use.must_store and backend == DUMMY:
            errors.append(
                checks.Error(
                    f"The cache {use.alias!r} that holds {use.what} is a DummyCache, which keeps nothing.",
                    hint="Use a cache shared by every process (Redis, Memcached, the database cache), "
                    "or the 'database' store.",
                    id="agent_obo.E191",
                )
            )
    return errors


def check_revocation_cache(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """W193: ``cache`` revocation mode on Django's database cache, where every cache read is a
    query (nothing gained over ``database`` mode) and a revocation deletes the entries rather
    than overwriting them (``token_status.evict``): a request reading the row as it is revoked
    may cache it as live for ``RS_REVOCATION_CACHE_SECONDS``."""
    alias = agent_obo_settings.RS_REVOCATION_CACHE_ALIAS
    if agent_obo_settings.RS_REVOCATION_MODE != "cache" or _backend(alias) != DATABASE:
        return []
    return [
        checks.Warning(
            f"RS_REVOCATION_MODE is 'cache' on {alias!r}, a DatabaseCache: each cache read is a query.",
            hint="Use RS_REVOCATION_MODE 'database' (the same one query, and revocations are seen at "
            "once), or a Redis or Memcached cache shared with the authorization server.",
            id="agent_obo.W193",
        )
    ]


def check_caches_for_deployment(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """W192 (``check --deploy``): state that must hold across processes in a per-process cache."""
    return [
        checks.Warning(
            f"The cache {use.alias!r} that holds {use.what} is a LocMemCache: each process keeps its own.",
            hint="With more than one process, use a cache they share (Redis, Memcached, the database "
            "cache) or the 'database' store; silence agent_obo.W192 if you run one process.",
            id="agent_obo.W192",
        )
        for use in cache_uses()
        if use.must_store and _backend(use.alias) == PER_PROCESS
    ]
