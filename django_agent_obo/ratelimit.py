"""A fixed-window rate limit in Django's cache, so it holds across processes (e.g. Redis)."""

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


def hit(scope: str, key: str, rate: str) -> tuple[int, int]:
    """Count one request; return (requests in this window, seconds until the window ends).

    The caller compares the count with the limit. Only the count is stored: one integer per
    key and window, expiring with the window.
    """
    limit_window = parse_rate(rate)[1]
    now = int(time.time())
    window = now // limit_window
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    cache_key = f"agent_obo:rl:{scope}:{digest}:{window}"
    if cache.add(cache_key, 1, timeout=limit_window + 1):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.add(cache_key, 1, timeout=limit_window + 1)
            count = 1
    return count, (window + 1) * limit_window - now
