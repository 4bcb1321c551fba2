"""The admin audit list over a million rows: milliseconds per page (a benchmark, not a test).

Seeds the audit table (see ``seed_audit.py``), signs a superuser in through Django's test
client and times full page renders (queries, template, response) of the change list:
unfiltered, filtered by event, outcome, agent, client, a month, a jti search and a deep
page. Reports the median and the worst of the timed runs and the queries per page.

Run: ``DATABASE_URL=postgres://... .venv/bin/python bench/admin_audit_list.py [ROWS] [RUNS]``
(default 1,000,000 rows and 15 runs; without ``DATABASE_URL`` it runs on SQLite and says so).
"""

from __future__ import annotations

import argparse
import statistics
import time

from _common import migrate, setup_django
from seed_audit import seed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="?", type=int, default=1_000_000)
    parser.add_argument("runs", nargs="?", type=int, default=15)
    options = parser.parse_args()
    database = setup_django()
    print(f"database: {database}")
    migrate()
    total = seed(options.rows)

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from django_agent_obo.models import AuditEvent

    admin = get_user_model()._default_manager.filter(username="bench-admin").first()
    if admin is None:
        admin = get_user_model()._default_manager.create_superuser("bench-admin", "bench@example.com", "x")
    browser = Client()
    browser.force_login(admin)
    newest = AuditEvent.objects.order_by("-at").first()
    assert newest is not None
    url = "/admin/django_agent_obo/auditevent/"
    pages = {
        "unfiltered, newest first": {},
        "event = token.refused": {"event": "token.refused"},
        "outcome = failure": {"outcome": "failure"},
        "agent = agent:7": {"actor": "agent:7"},
        "client = client-3": {"client": "client-3"},
        "one month": {"at__year": newest.at.year, "at__month": newest.at.month},
        "search by jti": {"q": newest.jti},
        "page 50": {"p": 50},
    }
    print(f"GET {url} with {total:,} rows, {options.runs} timed runs each (after one warm-up)")
    print(f"  {'page':<26} {'median ms':>10} {'worst ms':>9} {'queries':>8}")
    for label, params in pages.items():
        with CaptureQueriesContext(connection) as queries:  # also the warm-up
            response = browser.get(url, params)
        assert response.status_code == 200, (label, response.status_code)
        count = len(queries)  # read now: the next request clears Django's query log
        timings = []
        for _ in range(options.runs):
            began = time.perf_counter()
            browser.get(url, params)
            timings.append((time.perf_counter() - began) * 1000)
        print(f"  {label:<26} {statistics.median(timings):10.1f} {max(timings):9.1f} {count:8d}")


if __name__ == "__main__":
    main()
