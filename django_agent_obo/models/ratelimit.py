"""Rate-limit counters in the database (``RATE_LIMIT_STORE = "database"``), one per key and window."""

from django.db import models


class RateCounter(models.Model):
    """Requests counted for one key in one fixed window (``ratelimit.py``); a row, not process
    memory, so every process behind a load balancer counts together. Counted up in one
    statement (``rows.count_up``); ``prune_expired`` deletes past windows."""

    key = models.CharField(max_length=100, primary_key=True)
    count = models.PositiveIntegerField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
