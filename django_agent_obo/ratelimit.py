"""A fixed-window rate limit in Django's cache, so it holds across processes (Redis, or Django's
database cache as in the example project)."""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache


def parse_rate(rate: str) -> tuple[int, int]:
    """``"60/min"`` → (60, 60). Units: s, sec, min, h, hour, day."""
    count, _, unit = rate.partition("/")
    seconds = {
        "s": 1,
        "sec": 1,
        "second": 1,
        "m": 60,
        "min": 60,
        "minute": 60,
        "h": 3600,
        "hour": 3600,
        "day": 86400,
    }
    return int(count), seconds[unit.strip()]


def _cache_key(scope: str, key: str, window: int) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"agent_obo:rl:{scope}:{digest}:{window}"


def peek(scope: str, key: str, rate: str) -> tuple[int, int]:
    """(requests counted so far in this window, seconds until it ends), counting nothing.

    For a decision taken inside a transaction that may roll back (with a database cache the
    count would roll back with it): count with :func:`hit` after the transaction.
    """
    limit_window = parse_rate(rate)[1]
    now = int(time.time())
    window = now // limit_window
    return int(cache.get(_cache_key(scope, key, window)) or 0), (window + 1) * limit_window - now


def hit(scope: str, key: str, rate: str) -> tuple[int, int]:
    """Count one request; return (requests in this window, seconds until the window ends).

    The caller compares the count with the limit. Only the count is stored: one integer per
    key and window, expiring with the window.
    """
    limit_window = parse_rate(rate)[1]
    now = int(time.time())
    window = now // limit_window
    cache_key = _cache_key(scope, key, window)
    # The counter usually exists: incr first (with the database cache, add-then-incr was twice
    # the statements); the first request of a window adds it, a lost race to add counts on.
    try:
        count = cache.incr(cache_key)
    except ValueError:
        if cache.add(cache_key, 1, timeout=limit_window + 1):
            count = 1
        else:
            count = cache.incr(cache_key)
    return count, (window + 1) * limit_window - now
