"""Shared set-up of the audit benchmarks (imported by them; not a benchmark itself).

Django with the example project's settings on ``DATABASE_URL`` when set (PostgreSQL),
otherwise on a throw-away SQLite file; ``seed(n)`` fills the audit table up to ``n`` rows
spread over the last year (kept between runs on PostgreSQL, so a second run starts fast).
"""

from __future__ import annotations

import atexit
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ["token.issued"] * 6 + ["token.refreshed"] * 2 + ["consent.granted", "code.issued", "token.refused"]
REASONS = ["actor_token_expired", "grant_expired", "actor_mismatch", "invalid_client"]


def prepare_environment() -> None:
    """The example project's settings and a scratch folder (SQLite file, signing keys).

    Without Django, so a parent process that only starts children stays small.
    """
    sys.path.insert(0, str(ROOT))
    if "OBO_VAR_DIR" not in os.environ:  # ours to remove; child processes inherit and keep it
        os.environ["OBO_VAR_DIR"] = tempfile.mkdtemp(prefix="obo-bench-")
        atexit.register(shutil.rmtree, os.environ["OBO_VAR_DIR"], ignore_errors=True)
    os.environ["DJANGO_SETTINGS_MODULE"] = "example_project.settings"
    os.environ.setdefault("DJANGO_DEBUG", "0")  # as in production: no query log, no debug pages


def setup_django() -> str:
    """Configure and start Django; return a description of the database in use."""
    prepare_environment()
    os.environ.pop("OBO_SIGNING_KEY_DIR", None)
    import django

    django.setup()
    from django.db import connection

    return f"{connection.vendor} ({connection.settings_dict['NAME']})"


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(total: int, batch: int = 5000) -> int:
    """Add rows until the table holds ``total``; return how many it holds."""
    from django.db import connection
    from django.utils import timezone

    from django_agent_obo.models import AuditEvent

    have = AuditEvent.objects.count()
    if have >= total:
        return have
    rng = random.Random(have)
    start = timezone.now() - timedelta(days=365)
    step = timedelta(days=365) / total
    began = time.perf_counter()
    for first in range(have, total, batch):
        rows = []
        for i in range(first, min(first + batch, total)):
            event = rng.choice(EVENTS)
            failed = event == "token.refused"
            actor = f"agent:{rng.randrange(20)}"
            rows.append(
                AuditEvent(
                    at=start + step * i,
                    event=event,
                    outcome="failure" if failed else "success",
                    reason=rng.choice(REASONS) if failed else "",
                    username=f"user{rng.randrange(1000)}",
                    client_id=f"client-{rng.randrange(10)}",
                    actor_id=actor,
                    actor_chain=[actor],
                    scope="calendar.read",
                    jti=f"{i:012d}{rng.getrandbits(64):016x}",
                    ip=f"192.0.2.{rng.randrange(1, 255)}",
                )
            )
        AuditEvent.objects.bulk_create(rows)
        done = first + len(rows)
        if done % 100_000 < batch:
            print(f"  seeded {done:,} rows ({time.perf_counter() - began:.0f}s)", flush=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {AuditEvent._meta.db_table}")
    return total
