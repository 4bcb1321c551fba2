"""What our record says about an issued token, and its cached copy, shared by the
authorization server (which evicts the copies when it revokes) and the resource toolkit
(which reads them, ``resource/revocation.py``); it imports neither.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache

from .conf import agent_obo_settings
from .models import IssuedToken

CACHE_PREFIX = "agent_obo:rs:jti:"


@dataclass(frozen=True)
class TokenStatus:
    """What our record says about a token: revoked or not, its kind and its user (if any)."""

    revoked: bool
    kind: str
    user_id: Any


def load_status(jti: str) -> TokenStatus | None:
    """One query: the record of ``jti``, or None when we never recorded it."""
    row = IssuedToken.objects.filter(jti=jti).values_list("revoked_at", "kind", "user_id").first()
    if row is None:
        return None
    return TokenStatus(revoked=row[0] is not None, kind=row[1], user_id=row[2])


def cache_key(jti: str) -> str:
    return CACHE_PREFIX + jti


# What a revoked token's cache entry says; kind and user are never read for a revoked token.
REVOKED = (True, "", None)


def evict(jtis: Iterable[str]) -> None:
    """Overwrite the cached statuses of revoked tokens with :data:`REVOKED`; ``delegation``
    calls this after commit.

    Not a delete: a resource server that read the row just before the commit caches what it
    read with ``cache.add``, which cannot replace this entry, while this ``set`` replaces
    whatever it cached first. Either order ends revoked.

    Except in Django's database cache, which writes each entry in a transaction of its own
    (seconds for a grant of 10,000 tokens): there the entries are deleted in one statement.
    Its every read is a query, so a resource server on it gains nothing over ``database``
    mode, which has no such race (``agent_obo.W193``).
    """
    keys = [cache_key(jti) for jti in jtis]
    if not keys:
        return
    cache = caches[agent_obo_settings.RS_REVOCATION_CACHE_ALIAS]
    if isinstance(cache, DatabaseCache):
        cache.delete_many(keys)
    else:
        cache.set_many(dict.fromkeys(keys, REVOKED), int(agent_obo_settings.RS_REVOCATION_CACHE_SECONDS))
