"""``prune_expired --older-than DAYS``: delete the bookkeeping rows nothing needs any more.

Six kinds of rows grow with every token request and are never read once their rows have expired:

* ``IssuedToken`` (our token records): a token past ``expires_at`` fails every check by its
  ``exp`` alone, and exchanged tokens never outlive their parent. A record stays as long as
  DOT keeps its refresh token (its ``cleartokens`` deletes them): a refresh, and the audit row
  of a replayed one, carry the agent, grant and chain over from it; without the record an
  agent's refresh token would come back as a plain user's.
* ``CodeBinding``: a code lives a minute; its binding stays while tokens issued with it do, so
  a replayed code still revokes them (RFC 6749 §4.1.2).
* ``UsedAssertion``: a self-signed assertion's ``jti`` is refused by its ``exp`` once expired.
* ``RateCounter`` (``RATE_LIMIT_STORE = "database"``): a window's count, read only in its window.
* ``BackchannelRequest`` (CIBA): a request past ``expires_at`` answers ``expired_token`` only
  while it exists; its grant, tokens and audit rows do not depend on it.
* DOT's ``DeviceGrant`` (RFC 8628) and our ``DeviceAuthorization`` beside it, which goes with
  it: an expired device code answers ``expired_token`` only while it exists.

The audit trail keeps the history (``prune_audit`` prunes it on its own schedule). Rows are
deleted in batches, each its own short transaction (``management.pruning``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from oauth2_provider.models import get_device_grant_model

from ...models import BackchannelRequest, CodeBinding, IssuedToken, RateCounter, UsedAssertion
from ..pruning import PruneCommand, delete_in_batches

BATCH_SIZE = 5_000


def prunable(cutoff: datetime) -> dict[str, QuerySet[Any]]:
    """What may go, by kind: records expired before ``cutoff`` without a refresh token,
    bindings expired before it none of whose records stay, assertions and backchannel requests
    expired before it."""
    records = IssuedToken.objects.filter(expires_at__lt=cutoff, refresh_token__isnull=True)
    records_that_stay = IssuedToken.objects.filter(
        Q(expires_at__gte=cutoff) | Q(refresh_token__isnull=False), code_binding=OuterRef("pk")
    )
    return {
        "backchannel request(s)": BackchannelRequest.objects.filter(expires_at__lt=cutoff),
        "device request(s)": get_device_grant_model().objects.filter(expires__lt=cutoff),
        "rate-limit counter(s)": RateCounter.objects.filter(expires_at__lt=cutoff),
        "token record(s)": records,
        "code binding(s)": CodeBinding.objects.filter(expires_at__lt=cutoff).exclude(
            Exists(records_that_stay)
        ),
        "used assertion(s)": UsedAssertion.objects.filter(expires_at__lt=cutoff),
    }


class Command(PruneCommand):
    help = (
        "Delete token records, code bindings, used assertions, backchannel and device requests that"
        " expired"
        " over DAYS days ago."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        cutoff = self.cutoff(options)
        if options["dry_run"]:
            counts = {kind: rows.count() for kind, rows in prunable(cutoff).items()}
            verb = "would be deleted"
        else:
            counts = {
                kind: delete_in_batches(rows, _delete_counting(rows.model), BATCH_SIZE)
                for kind, rows in prunable(cutoff).items()
            }
            verb = "deleted"
        summary = ", ".join(f"{count} {kind}" for kind, count in counts.items())
        self.stdout.write(f"Expired before {cutoff.isoformat()}: {summary} {verb}.")


def _delete_counting(model: type[Model]) -> Callable[[QuerySet[Any]], int]:
    """Delete a batch; count the rows of ``model`` gone (exchanged tokens go with a parent)."""
    return lambda batch: batch.delete()[1].get(model._meta.label, 0)
