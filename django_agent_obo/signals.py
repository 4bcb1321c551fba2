"""Signals for sites that forward delegation events (e.g. to a SIEM) without subclassing.

``audit_event_recorded`` is sent with ``sender=AuditEvent`` and ``event=<the saved row>``
after every audit row is written (inside the same transaction; use
``transaction.on_commit`` in the receiver to act only on committed events).
"""

from django.dispatch import Signal

audit_event_recorded = Signal()
