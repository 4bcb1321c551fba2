"""What the self-service page says, in words a person reads: events, reasons, revocations.

Audit rows carry stable machine identifiers (SPEC §8: event names and ``reason`` codes for log
pipelines); nothing here changes them, it only says them, in the one vocabulary declared by
:class:`~django_agent_obo.models.Event` (labels) and :mod:`django_agent_obo.refusals`. A reason
never appears as a raw code.
"""

from __future__ import annotations

from .. import refusals
from ..models import Event

EVENT_WORDS = {str(event.value): str(event.label) for event in Event}
REVOKE_REASONS = refusals.ENDINGS
reason_words = refusals.words


def times(count: int) -> str:
    return "once" if count == 1 else "twice" if count == 2 else f"{count} times"
