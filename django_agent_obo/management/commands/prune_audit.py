"""``prune_audit --older-than DAYS``: the only way audit rows are ever deleted (SPEC §8).

Deletes in batches of primary keys, each batch its own short transaction, so pruning
millions of rows neither holds one huge lock nor builds one huge statement.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from ...models import AuditEvent

log = logging.getLogger("django_agent_obo.audit")
BATCH_SIZE = 10_000


class Command(BaseCommand):
    help = "Delete audit events older than DAYS days (the only deletion path of the audit trail)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS")
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be deleted")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["older_than"]
        if days < 1:
            raise CommandError("--older-than must be at least 1 day.")
        cutoff = timezone.now() - timedelta(days=days)
        old = AuditEvent.objects.filter(at__lt=cutoff)
        if options["dry_run"]:
            self.stdout.write(
                f"{old.count()} audit event(s) older than {cutoff.isoformat()} would be deleted."
            )
            return
        deleted = 0
        while True:
            ids = list(old.order_by().values_list("id", flat=True)[:BATCH_SIZE])
            if not ids:
                break
            with transaction.atomic():
                deleted += AuditEvent.objects.filter(id__in=ids)._prune()
        log.warning("prune_audit deleted %d audit event(s) older than %s", deleted, cutoff.isoformat())
        self.stdout.write(f"Deleted {deleted} audit event(s) older than {cutoff.isoformat()}.")
