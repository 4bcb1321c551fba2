"""What a security reviewer reads about one agent or one user, newest first.

Each figure is one indexed query: events by ``(actor_id, at)`` or ``(user, at)``, grants by
agent or user, live tokens by ``(agent, revoked_at)``. Events page by keyset (``before`` =
the id of the last row shown), so the thousandth page costs what the first does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from .models import AgentGrant, AuditEvent, IssuedToken

PAGE_SIZE = 100
SUMMARY_DAYS = 30
TOP = 10


@dataclass
class Timeline:
    events: list[AuditEvent]
    next_before: int | None
    grants: list[AgentGrant]
    grant_counts: dict[str, int]
    live_tokens: int
    since: datetime
    outcomes: dict[str, int]
    by_event: list[dict[str, Any]]
    failure_reasons: list[dict[str, Any]]
    ips: list[dict[str, Any]]
    counterparts: list[dict[str, Any]] = field(default_factory=list)


def build(
    events: QuerySet[AuditEvent],
    grants: QuerySet[AgentGrant],
    tokens: QuerySet[IssuedToken],
    *,
    counterpart: str,
    before: str | None = None,
    failures_only: bool = False,
) -> Timeline:
    """``counterpart`` is the column that names the other side (``actor_id`` for a user,
    ``username`` for an agent): who the subject dealt with most in the summary period."""
    now = timezone.now()
    since = now - timedelta(days=SUMMARY_DAYS)
    recent = events.filter(at__gte=since)
    page = events.filter(outcome=AuditEvent.FAILURE) if failures_only else events
    # ASCII digits only: str.isdigit alone takes "²", which int() refuses.
    pk = int(before) if before and before.isascii() and before.isdigit() else None
    cursor = page.filter(pk=pk).values("at", "pk").first() if pk is not None else None
    if cursor is not None:
        page = page.filter(at__lte=cursor["at"]).exclude(at=cursor["at"], pk__gte=cursor["pk"])
    rows = list(page.order_by("-at", "-id")[: PAGE_SIZE + 1])
    live = Q(revoked_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    counts = grants.aggregate(
        total=Count("id"),
        live=Count("id", filter=live),
        revoked=Count("id", filter=Q(revoked_at__isnull=False)),
    )
    counts["expired"] = counts["total"] - counts["live"] - counts["revoked"]
    outcomes = {row["outcome"]: row["n"] for row in _top(recent, "outcome")}
    return Timeline(
        events=rows[:PAGE_SIZE],
        next_before=rows[PAGE_SIZE - 1].pk if len(rows) > PAGE_SIZE else None,
        grants=list(
            grants.select_related("user", "agent", "application").order_by("-created_at")[:PAGE_SIZE]
        ),
        grant_counts=counts,
        live_tokens=tokens.filter(revoked_at__isnull=True, expires_at__gt=now).count(),
        since=since,
        outcomes={"success": outcomes.get("success", 0), "failure": outcomes.get("failure", 0)},
        by_event=_top(recent, "event", "outcome", limit=50),
        failure_reasons=_top(recent.filter(outcome=AuditEvent.FAILURE), "reason"),
        ips=_top(recent.exclude(ip__isnull=True), "ip"),
        counterparts=_top(recent.exclude(**{counterpart: ""}), counterpart),
    )


def _top(events: QuerySet[AuditEvent], *columns: str, limit: int = TOP) -> list[dict[str, Any]]:
    return list(events.order_by().values(*columns).annotate(n=Count("id")).order_by("-n", *columns)[:limit])
