"""What a new token depends on (its agent, grant and parent token), share-locked in the one
order every lock is taken in (agent, grant, tokens) and read afresh, so a revocation either
sees the new token and revokes it or is seen by the issuance (RFC 7009 §2.1).

Revocations (``delegation.py``) take the same rows ``FOR UPDATE``: the two never deadlock on
our rows (``tests/test_lock_order.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.db.models import Model
from django.utils import timezone

from . import rows
from .models import Agent, AgentGrant, IssuedToken

# A grant's last use is stamped at most once a minute: the pages show it to the minute.
LAST_USED_PRECISION = timedelta(minutes=1)


class Dependent(Protocol):
    """What a new token depends on (an :class:`~django_agent_obo.issuance.Issuance`)."""

    agent: Agent | None
    agent_grant: AgentGrant | None
    parent: IssuedToken | None


@dataclass
class Dependencies:
    """Rows to lock before the token they will support is known (a refresh, see the validator)."""

    agent: Agent | None = None
    agent_grant: AgentGrant | None = None
    parent: IssuedToken | None = None


# What a new token depends on, in the order every lock is taken here (agent, grant, tokens),
# and the columns read afresh under the lock.
_DEPENDENCIES: tuple[tuple[str, type[Model], tuple[str, ...]], ...] = (
    ("agent", Agent, ("pending_approval", "is_active", "valid_until")),
    ("agent_grant", AgentGrant, ("revoked_at", "expires_at", "last_used_at")),
    ("parent", IssuedToken, ("revoked_at", "expires_at")),
)


def lock_dependencies(context: Dependent) -> dict[str, Any] | None:
    """Share-lock the agent, grant and parent token a new token depends on, in one statement,
    and read them afresh as locked. Call it before writing any token row.

    Revocations (``FOR UPDATE``) wait for the lock, and it for them, while issuances of the
    same agent or grant do not wait for each other (``rows.lock_for_key_share``). Returns
    ``{attribute: row}`` for the attributes of ``context`` that are set (the rows hold only
    the columns above), or None if one of the rows no longer exists.
    """
    wanted = [(name, model, columns) for name, model, columns in _DEPENDENCIES if getattr(context, name)]
    if not wanted:
        return {}
    locked = rows.lock_for_key_share(
        [(model, getattr(context, name).pk, columns) for name, model, columns in wanted]
    )
    if locked is None:
        return None
    return {name: row for (name, _, _), row in zip(wanted, locked, strict=True)}


def hold_for_issuance(context: Dependent, locked: dict[str, Any] | None = None) -> str | None:
    """Lock what a new token depends on (agent, grant, parent token) and read it afresh.

    Returns why the token must not be issued, or None. Called in the transaction that
    stores the token, so a concurrent kill switch, grant revocation or token revocation
    either sees the new token and revokes it, or is seen here (RFC 7009 §2.1). Also stamps
    the grant's last use, to the minute (as the pages show it).

    ``locked``: what :func:`lock_dependencies` returned earlier in this transaction (the
    refresh path locks before DOT writes): those rows stay locked until commit, so when they
    are the context's own they are as fresh as a second read, which is then skipped.
    """
    fresh = locked if locked is not None and _covers(locked, context) else lock_dependencies(context)
    if fresh is None:
        return "grant_missing"
    now = timezone.now()
    reason = None
    if "agent" in fresh:
        reason = fresh["agent"].unusable_reason(now)
    if reason is None and "agent_grant" in fresh:
        reason = fresh["agent_grant"].dead_reason(now)
    if reason is None and "parent" in fresh and not fresh["parent"].is_live(now):
        reason = "subject_token_revoked"
    grant = fresh.get("agent_grant")
    if reason is None and grant is not None and not _used_since(grant.last_used_at, now):
        AgentGrant.objects.filter(pk=grant.pk).update(last_used_at=now)
    return reason


def _covers(locked: dict[str, Any], context: Dependent) -> bool:
    """Whether ``locked`` holds exactly the rows ``context`` depends on."""
    wanted = {name: getattr(context, name).pk for name, _, _ in _DEPENDENCIES if getattr(context, name)}
    return wanted.keys() == locked.keys() and all(locked[name].pk == pk for name, pk in wanted.items())


def _used_since(last_used_at: datetime | None, now: datetime) -> bool:
    return last_used_at is not None and now - last_used_at < LAST_USED_PRECISION
