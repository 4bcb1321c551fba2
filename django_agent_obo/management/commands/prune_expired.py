"""``prune_expired --older-than DAYS``: delete the bookkeeping rows nothing needs any more.

Three tables grow with every token request and are never read once their rows have expired:

* ``IssuedToken`` (our token records): a token past ``expires_at`` fails every check by its
  ``exp`` alone, and exchanged tokens never outlive their parent. A record stays as long as
  DOT keeps its refresh token (its ``cleartokens`` deletes them): a refresh, and the audit row
  of a replayed one, carry the agent, grant and chain over from it; without the record an
  agent's refresh token would come back as a plain user's.
* ``CodeBinding``: a code lives a minute; its binding stays while tokens issued with it do, so
  a replayed code still revokes them (RFC 6749 §4.1.2).
* ``UsedAssertion``: a self-signed assertion's ``jti`` is refused by its ``exp`` once expired.

The audit trail keeps the history (``prune_audit`` prunes it on its own schedule). Rows are
deleted in batches, each in its own short transaction, as ``prune_audit`` does.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.utils import timezone

from ...models import CodeBinding, IssuedToken, UsedAssertion

BATCH_SIZE = 5_000


def prunable(cutoff: datetime) -> dict[str, QuerySet[Any]]:
    """What may go, by kind: records expired before ``cutoff`` without a refresh token,
    bindings expired before it none of whose records stay, assertions expired before it."""
    records = IssuedToken.objects.filter(expires_at__lt=cutoff, refresh_token__isnull=True)
    records_that_stay = IssuedToken.objects.filter(
        Q(expires_at__gte=cutoff) | Q(refresh_token__isnull=False), code_binding=OuterRef("pk")
    )
    return {
        "token record(s)": records,
        "code binding(s)": CodeBinding.objects.filter(expires_at__lt=cutoff).exclude(
            Exists(records_that_stay)
        ),
        "used assertion(s)": UsedAssertion.objects.filter(expires_at__lt=cutoff),
    }


def delete_in_batches(rows: QuerySet[Any]) -> int:
    model: type[Model] = rows.model
    deleted = 0
    while True:
        ids = list(rows.order_by().values_list("pk", flat=True)[:BATCH_SIZE])
        if not ids:
            return deleted
        with transaction.atomic():
            deleted += model._default_manager.filter(pk__in=ids).delete()[1].get(model._meta.label, 0)


class Command(BaseCommand):
    help = "Delete token records, code bindings and used assertions that expired over DAYS days ago."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS")
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be deleted")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["older_than"]
        if days < 1:
            raise CommandError("--older-than must be at least 1 day.")
        cutoff = timezone.now() - timedelta(days=days)
        if options["dry_run"]:
            counts = {kind: rows.count() for kind, rows in prunable(cutoff).items()}
            verb = "would be deleted"
        else:
            counts = {kind: delete_in_batches(rows) for kind, rows in prunable(cutoff).items()}
            verb = "deleted"
        summary = ", ".join(f"{count} {kind}" for kind, count in counts.items())
        self.stdout.write(f"Expired before {cutoff.isoformat()}: {summary} {verb}.")
