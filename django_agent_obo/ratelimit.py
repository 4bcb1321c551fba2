"""A fixed-window rate limit that holds across processes: in Django's cache (Redis, Memcached),
or with ``RATE_LIMIT_STORE = "database"`` in :class:`~django_agent_obo.models.RateCounter` rows,
one statement to count (where the cache would be Django's database cache: its ``incr`` is a read,
a cull count and a write)."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

from django.core.cache import cache

from .conf import agent_obo_settings


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
    cache_key, left = _cache_key(scope, key, window), (window + 1) * limit_window - now
    if _in_database():
        from .models import RateCounter

        return RateCounter.objects.filter(key=cache_key).values_list("count", flat=True).first() or 0, left
    return int(cache.get(cache_key) or 0), left


def hit(scope: str, key: str, rate: str) -> tuple[int, int]:
    """Count one request; return (requests in this window, seconds until the window ends).

    The caller compares the count with the limit. Only the count is stored: one integer per
    key and window, expiring with the window.
    """
    limit_window = parse_rate(rate)[1]
    now = int(time.time())
    window = now // limit_window
    cache_key = _cache_key(scope, key, window)
    if _in_database():
        from . import rows
        from .models import RateCounter

        until = datetime.fromtimestamp((window + 1) * limit_window + 1, tz=UTC)
        return rows.count_up(RateCounter, cache_key, until), (window + 1) * limit_window - now
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


def _in_database() -> bool:
    return agent_obo_settings.RATE_LIMIT_STORE == "database"
