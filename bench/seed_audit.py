"""The audit table of the audit benchmarks (imported by them; not a benchmark itself).

``seed(n)`` fills the audit table up to ``n`` rows spread over the last year (kept between
runs on PostgreSQL, so a second run starts fast). Django itself is set up by ``_common``.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta

EVENTS = ["token.issued"] * 6 + ["token.refreshed"] * 2 + ["consent.granted", "code.issued", "token.refused"]
REASONS = ["actor_token_expired", "grant_expired", "actor_mismatch", "invalid_client"]


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
