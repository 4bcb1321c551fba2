"""``export_audit`` over a million audit rows: memory stays flat (a benchmark, not a test).

Seeds the audit table (see ``seed_audit.py``), then runs the export in fresh child
processes over a small and over the full range and reports each child's peak RSS
(``resource.getrusage``) and throughput. Flat memory means the two peaks are about equal.
Seeding runs in a child too: a forked process starts with its parent's peak RSS, so the
parent must stay small for the children's figures to mean anything.

Run: ``.venv/bin/python bench/audit_export.py [ROWS] [--format jsonl|csv]``
(default 1,000,000 rows, throw-away SQLite; set ``DATABASE_URL`` for PostgreSQL).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

from _common import migrate, prepare_environment, setup_django
from seed_audit import seed


def run_child(*args: str) -> dict[str, object]:
    """Run this script with ``args`` in a fresh process; return the JSON it prints last."""
    command = [sys.executable, __file__, *args]
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def prepare(rows: int) -> None:
    """Child: migrate and seed (memory-hungry, so kept out of the parent whose children we measure)."""
    database = setup_django()
    migrate()
    total = seed(rows)
    from django_agent_obo.models import AuditEvent

    since = AuditEvent.objects.order_by("-at").values_list("at", flat=True)[10_000 - 1]
    print(json.dumps({"database": database, "total": total, "since": since.isoformat()}))


def export(fmt: str, since: str | None) -> None:
    """Child: run one export (output discarded) and print its time and peak RSS."""
    setup_django()
    from django.core.management import call_command

    args = ["--format", fmt] + (["--since", since] if since else [])
    began = time.perf_counter()
    with open(os.devnull, "w") as sink:
        call_command("export_audit", *args, stdout=sink)
    seconds = time.perf_counter() - began
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_rss_mib": peak_kib / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument("--child", choices=("prepare", "export"), help=argparse.SUPPRESS)
    parser.add_argument("--since", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child == "prepare":
        prepare(options.rows)
        return
    if options.child == "export":
        export(options.format, options.since)
        return
    prepare_environment()
    print(f"seeding up to {options.rows:,} rows (in a child process)...", flush=True)
    setup = run_child("--child", "prepare", str(options.rows))
    total = int(str(setup["total"]))
    print(f"database: {setup['database']}, {total:,} audit rows")
    print(f"export_audit --format {options.format}, each in a fresh process, output to /dev/null:")
    for label, since, rows in (
        ("newest 10,000 rows", str(setup["since"]), 10_000),
        (f"all {total:,} rows", None, total),
    ):
        args = ["--child", "export", "--format", options.format] + (["--since", since] if since else [])
        result = run_child(*args)
        seconds, peak = float(str(result["seconds"])), float(str(result["peak_rss_mib"]))
        print(
            f"  {label:>22}: {seconds:7.1f} s, {rows / seconds:9,.0f} rows/s, peak RSS {peak:6.1f} MiB",
            flush=True,
        )


if __name__ == "__main__":
    main()
