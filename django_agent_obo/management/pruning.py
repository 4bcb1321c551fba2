"""What the pruning commands share: ``--older-than DAYS`` (at least 1), ``--dry-run``, and
deletion in batches of primary keys, each batch its own short transaction, so pruning millions
of rows neither holds one huge lock nor builds one huge statement."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone


class PruneCommand(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS")
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be deleted")

    @staticmethod
    def cutoff(options: dict[str, Any]) -> datetime:
        """The moment ``--older-than`` DAYS ago; fewer than 1 day is refused."""
        days = options["older_than"]
        if days < 1:
            raise CommandError("--older-than must be at least 1 day.")
        return timezone.now() - timedelta(days=days)


def delete_in_batches(rows: QuerySet[Any], delete: Callable[[QuerySet[Any]], int], batch_size: int) -> int:
    """Delete ``rows`` with ``delete`` (given one batch, returns how many it deleted)."""
    deleted = 0
    while True:
        ids = list(rows.order_by().values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        with transaction.atomic():
            deleted += delete(rows.model._default_manager.filter(pk__in=ids))
