""" "What it did for you": an agent's doings for one user, summarised for a person.

Three parts, each one query whatever the number of agents:

* what it did with the user's data: ``resource.accessed`` rows counted per day and kind
  (the scopes the API demanded, in words, or the HTTP method), refusals with their reason;
* the user's decisions: consents given or refused, revocations;
* the protocol detail (tokens issued, renewed, refused, passed on), folded away on the page.

Client ids become application names (one more query, only for clients the grants did not name).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Count, F, Q, Window
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import RowNumber, TruncDate
from oauth2_provider.models import get_application_model

from ..adapter import get_adapter
from ..models import AuditEvent, Event
from .words import EVENT_WORDS, REVOKE_REASONS, reason_words, times

DAYS_PER_AGENT = 10
DECISIONS_PER_AGENT = 10
TECHNICAL_PER_AGENT = 10
DECISIONS = (
    Event.CONSENT_GRANTED,
    Event.CONSENT_DENIED,
    Event.BACKCHANNEL_APPROVED,
    Event.BACKCHANNEL_DENIED,
    Event.GRANT_REVOKED,
)


@dataclass
class AccessLine:
    words: str
    count: int
    refused_because: str = ""

    @property
    def text(self) -> str:
        if self.refused_because:
            return f"{self.words}: refused {times(self.count)} ({self.refused_because})"
        return f"{self.words}: {times(self.count)}"


@dataclass
class AccessDay:
    day: date
    lines: list[AccessLine] = field(default_factory=list)


@dataclass
class Line:
    """One decision or protocol event, in words."""

    event: AuditEvent
    words: str
    through: str
    result: str


@dataclass
class Activity:
    days: list[AccessDay] = field(default_factory=list)
    decisions: list[Line] = field(default_factory=list)
    technical: list[Line] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.days or self.decisions or self.technical)


def build(
    user: Any, actor_ids: list[str], since: datetime, app_names: dict[str, str], scope_words: dict[str, str]
) -> dict[str, Activity]:
    if not actor_ids:
        return {}
    found = {actor_id: Activity() for actor_id in actor_ids}
    mine = AuditEvent.objects.filter(user_id=user.pk, actor_id__in=actor_ids, at__gte=since)
    _accesses(mine, found, scope_words)
    decisions = _latest(mine.filter(event__in=DECISIONS), DECISIONS_PER_AGENT)
    technical = _latest(
        mine.exclude(event__in=(*DECISIONS, Event.RESOURCE_ACCESSED)),
        TECHNICAL_PER_AGENT,
    )
    names = _names(app_names, [e.client_id for e in decisions + technical])
    for event in decisions:
        found[event.actor_id].decisions.append(_decision(event, names, scope_words))
    for event in technical:
        found[event.actor_id].technical.append(_technical(event, names))
    return found


def _accesses(events: Any, found: dict[str, Activity], scope_words: dict[str, str]) -> None:
    rows = (
        events.filter(event=Event.RESOURCE_ACCESSED)
        .annotate(
            day=TruncDate("at"),
            method=KeyTextTransform("method", "detail"),
            required=KeyTextTransform("required_scope", "detail"),
        )
        .order_by()
        .values("actor_id", "day", "method", "required", "outcome", "reason")
        .annotate(n=Count("id"))
        .order_by("-day", "-n")
    )
    adapter = get_adapter()
    for row in rows[: 50 * len(found)]:
        activity = found[row["actor_id"]]
        if not activity.days or activity.days[-1].day != row["day"]:
            if len(activity.days) == DAYS_PER_AGENT:
                continue
            activity.days.append(AccessDay(row["day"]))
        words = adapter.describe_access(
            method=row["method"] or "",
            required_scopes=(row["required"] or "").split(),
            scope_words=scope_words,
        )
        refused = reason_words(row["reason"]) if row["outcome"] == AuditEvent.FAILURE else ""
        activity.days[-1].lines.append(AccessLine(words, row["n"], refused))


def _latest(events: Any, per_agent: int) -> list[AuditEvent]:
    ranked = events.annotate(
        rank=Window(RowNumber(), partition_by=[F("actor_id")], order_by=[F("at").desc(), F("id").desc()])
    )
    return list(ranked.filter(rank__lte=per_agent).order_by("-at", "-id"))


def _names(known: dict[str, str], client_ids: list[str]) -> dict[str, str]:
    missing = {c for c in client_ids if c and c not in known}
    names = dict(known)
    if missing:
        for client_id, name in (
            get_application_model().objects.filter(Q(client_id__in=missing)).values_list("client_id", "name")
        ):
            names[client_id] = name or "an application"
    return names


def _decision(event: AuditEvent, names: dict[str, str], scope_words: dict[str, str]) -> Line:
    through = names.get(event.client_id, "an application")
    if event.event == Event.CONSENT_GRANTED:
        allowed = ", ".join(scope_words.get(s, s).lower() for s in event.scope.split())
        return Line(event, f"You allowed it to act for you through {through}: {allowed}", through, "")
    if event.event == Event.GRANT_REVOKED:
        code = event.reason or str((event.detail or {}).get("reason", ""))
        why = REVOKE_REASONS.get(code) or reason_words(code) or "it was revoked"
        return Line(event, f"Its access through {through} ended: {why}", through, "")
    if event.reason == "user_denied":
        return Line(event, f"You said no to {through}", through, "")
    return Line(event, f"A request from {through} was refused: {reason_words(event.reason)}", through, "")


def _technical(event: AuditEvent, names: dict[str, str]) -> Line:
    result = "done" if event.outcome == AuditEvent.SUCCESS else f"refused: {reason_words(event.reason)}"
    through = names.get(event.client_id, "an application") if event.client_id else ""
    return Line(event, EVENT_WORDS.get(event.event, "Something else happened"), through, result)
