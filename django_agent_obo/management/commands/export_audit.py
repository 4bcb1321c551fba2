"""``export_audit``: the audit trail, oldest first, as JSON Lines or CSV (SPEC §6, §8).

Rows are read by keyset pagination on ``(at, id)`` in fixed-size pages, so memory stays
flat however many millions of rows there are, no server-side cursor or long transaction
is held, and each page is an index range scan.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime, time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from ...models import Agent, AuditEvent

FIELDS = (
    "at",
    "event",
    "outcome",
    "user",
    "client_id",
    "actor_id",
    "actor_chain",
    "scope",
    "jti",
    "reason",
    "ip",
    "detail",
)
# The columns read per row: the id for the keyset, the username kept even after a user is deleted.
COLUMNS = ("id", "username", *(name for name in FIELDS if name != "user"))
PAGE_SIZE = 2000
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def parse_since(value: str) -> datetime:
    """An ISO 8601 date or date-time; without a zone it is read in the site's time zone."""
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise ValueError(value)
        moment = datetime.combine(day, time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def stream(queryset: QuerySet[AuditEvent]) -> Iterator[dict[str, Any]]:
    """Every row of ``queryset`` as a dict, oldest first, ``PAGE_SIZE`` rows in memory at a time."""
    page_size = PAGE_SIZE
    last: tuple[datetime, int] | None = None
    while True:
        page = queryset.order_by("at", "id")
        if last is not None:
            page = page.filter(at__gte=last[0]).exclude(at=last[0], id__lte=last[1])
        rows = list(page.values(*COLUMNS)[:page_size])
        yield from rows
        if len(rows) < page_size:
            return
        last = (rows[-1]["at"], rows[-1]["id"])


def as_record(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "at": row["at"].astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "event": row["event"],
        "outcome": row["outcome"],
        "user": row["username"],
        "client_id": row["client_id"],
        "actor_id": row["actor_id"],
        "actor_chain": list(row["actor_chain"] or []),
        "scope": row["scope"],
        "jti": row["jti"],
        "reason": row["reason"],
        "ip": row["ip"],
        "detail": row["detail"] or {},
    }


class Command(BaseCommand):
    help = "Export the audit trail, oldest first, one event per line (JSON Lines or CSV)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="Only events at or after this ISO 8601 date or date-time")
        parser.add_argument("--user", metavar="USERNAME", help="Only events of this user")
        parser.add_argument("--agent", metavar="ACTOR_ID", help="Only events whose current actor is this")
        parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")

    def handle(self, *args: Any, **options: Any) -> None:
        events = self.select(options)
        if options["format"] == "csv":
            self.write_csv(events)
        else:
            write = self.stdout.write
            for row in stream(events):
                write(json.dumps(as_record(row), separators=(",", ":"), ensure_ascii=False))

    def select(self, options: dict[str, Any]) -> QuerySet[AuditEvent]:
        events = AuditEvent.objects.all()
        if options["since"]:
            try:
                events = events.filter(at__gte=parse_since(options["since"]))
            except ValueError as exc:
                raise CommandError(
                    f"--since {options['since']!r} is not an ISO 8601 date or date-time."
                ) from exc
        username = options["user"]
        if username is not None:
            found = get_user_model()._default_manager.filter(**{get_user_model().USERNAME_FIELD: username})
            user = found.first()
            # A deleted user's rows keep their username (the foreign key is cleared).
            events = events.filter(user=user) if user is not None else events.filter(username=username)
            if user is None and not events.exists():
                raise CommandError(f"No user {username!r} and no audit events for that username.")
        actor_id = options["agent"]
        if actor_id is not None:
            events = events.filter(actor_id=actor_id)
            if not Agent.objects.filter(actor_id=actor_id).exists() and not events.exists():
                raise CommandError(f"No agent {actor_id!r} and no audit events for that actor id.")
        return events

    def write_csv(self, events: QuerySet[AuditEvent]) -> None:
        """RFC 4180 rows for spreadsheets: a cell that would start a formula gets a leading
        ``'`` (client ids and scopes are recorded as an unauthenticated request claimed them);
        JSON Lines keep the exact values."""
        out = self.stdout
        # "\r\n" as the terminator, so a cell holding either is quoted (RFC 4180 §2.6).
        writer = csv.writer(_LineSink(out), lineterminator="\r\n")
        writer.writerow(FIELDS)
        for row in stream(events):
            record = as_record(row)
            record["actor_chain"] = " ".join(record["actor_chain"])
            record["ip"] = record["ip"] or ""
            record["detail"] = json.dumps(record["detail"], separators=(",", ":"), ensure_ascii=False)
            writer.writerow([_cell(record[name]) for name in FIELDS])


def _cell(value: Any) -> Any:
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


class _LineSink:
    """Adapts Django's OutputWrapper (which appends the newline) to ``csv.writer``."""

    def __init__(self, out: Any) -> None:
        self.out = out

    def write(self, line: str) -> None:
        self.out.write(line.removesuffix("\r\n"))
