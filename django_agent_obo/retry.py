"""Retrying a transaction that PostgreSQL aborted to break a deadlock or a serialization
conflict. Concurrent token requests, refresh-token reuse and revocations lock overlapping
rows (DOT's own refresh rotation takes its locks in an order we do not control); the
database detects the cycle and aborts one side, which then simply runs again."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import OperationalError, transaction

T = TypeVar("T")
ATTEMPTS = 4
RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure


def is_retryable(error: OperationalError) -> bool:
    cause = error.__cause__
    return getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES


def atomic_with_retry(work: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """Run ``work`` in ``transaction.atomic()``; run it again if the database aborted it."""
    for attempt in range(attempts):
        try:
            with transaction.atomic():
                return work()
        except OperationalError as error:
            if (
                attempt == attempts - 1
                or not is_retryable(error)
                or transaction.get_connection().in_atomic_block
            ):
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


def transactional(func: Callable[..., T]) -> Callable[..., T]:
    """Decorator: the function runs as one transaction, retried like :func:`atomic_with_retry`."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        return atomic_with_retry(lambda: func(*args, **kwargs))

    return wrapper
