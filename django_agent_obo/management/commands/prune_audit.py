"""``prune_audit --older-than DAYS``: the only way audit rows are ever deleted (SPEC §8).

Deletes in batches, each its own short transaction (``management.pruning``).
"""

from __future__ import annotations

import logging
from typing import Any, cast

from ...models import AuditEvent
from ...models.audit import AuditEventQuerySet
from ..pruning import PruneCommand, delete_in_batches

log = logging.getLogger("django_agent_obo.audit")
BATCH_SIZE = 10_000


class Command(PruneCommand):
    help = "Delete audit events older than DAYS days (the only deletion path of the audit trail)."

    def handle(self, *args: Any, **options: Any) -> None:
        cutoff = self.cutoff(options)
        old = AuditEvent.objects.filter(at__lt=cutoff)
        if options["dry_run"]:
            self.stdout.write(
                f"{old.count()} audit event(s) older than {cutoff.isoformat()} would be deleted."
            )
            return
        deleted = delete_in_batches(old, lambda batch: cast(AuditEventQuerySet, batch)._prune(), BATCH_SIZE)
        log.warning("prune_audit deleted %d audit event(s) older than %s", deleted, cutoff.isoformat())
        self.stdout.write(f"Deleted {deleted} audit event(s) older than {cutoff.isoformat()}.")
