"""``export_audit`` over a million audit rows: memory stays flat (a benchmark, not a test).

Seeds the audit table (see ``seed_audit.py``), then runs the export in fresh child
processes over a small and over the full range and reports each child's peak RSS
(``resource.getrusage``) and throughput. Flat memory means the two peaks are about equal.

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

from seed_audit import migrate, seed, setup_django


def child(fmt: str, since: str | None) -> None:
    """Run one export in this process (output discarded) and print what it cost."""
    setup_django()
    from django.core.management import call_command

    args = ["--format", fmt] + (["--since", since] if since else [])
    began = time.perf_counter()
    with open(os.devnull, "w") as sink:
        call_command("export_audit", *args, stdout=sink)
    seconds = time.perf_counter() - began
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_rss_mib": peak_kib / 1024}))


def measure(fmt: str, since: str | None) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", "--format", fmt] + (["--since", since] if since else [])
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--since", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child(options.format, options.since)
        return
    print(f"database: {setup_django()}")
    migrate()
    total = seed(options.rows)
    from django.utils import timezone

    from django_agent_obo.models import AuditEvent

    newest = AuditEvent.objects.order_by("-at").values_list("at", flat=True)[10_000]
    runs = [("newest 10,000 rows", newest.isoformat(), 10_000), (f"all {total:,} rows", None, total)]
    print(f"export_audit --format {options.format} (fresh process each; output to /dev/null)")
    for label, since, rows in runs:
        result = measure(options.format, since)
        rate = rows / result["seconds"] if result["seconds"] else 0
        print(
            f"  {label:>22}: {result['seconds']:7.1f} s, {rate:9,.0f} rows/s, "
            f"peak RSS {result['peak_rss_mib']:6.1f} MiB"
        )
    print(f"done at {timezone.now():%Y-%m-%d %H:%M:%S %Z}")


if __name__ == "__main__":
    main()
