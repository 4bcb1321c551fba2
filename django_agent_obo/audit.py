"""``record()``: the only writer of :class:`~django_agent_obo.models.AuditEvent` (SPEC §8)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from . import refusals
from .models import AuditEvent, Event
from .signals import audit_event_recorded

log = logging.getLogger("django_agent_obo.audit")


def client_ip(request: Any) -> str | None:
    """The peer address of a Django or oauthlib request (no proxy headers are trusted)."""
    if isinstance(request, HttpRequest):
        return request.META.get("REMOTE_ADDR") or None
    headers = getattr(request, "headers", None) or {}
    return headers.get("REMOTE_ADDR") or None


def _storable(value: Any) -> Any:
    """Text a database can store: a refusal may quote hostile input (a NUL breaks PostgreSQL)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return value


def record(
    event: str,
    *,
    outcome: str = AuditEvent.SUCCESS,
    reason: str = "",
    user: Any = None,
    client_id: str = "",
    actor_chain: Iterable[str] = (),
    scope: str | Iterable[str] = "",
    jti: str = "",
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit row. Call it inside the transaction of the action it records.

    A failure always carries a machine-readable ``reason``, declared in
    :mod:`~django_agent_obo.refusals` (an undeclared one is logged, never refused).
    """
    if event not in Event.values:
        raise ValueError(f"Unknown audit event {event!r}")
    if outcome == AuditEvent.FAILURE and not reason:
        raise ValueError("A failure event needs a reason")
    if reason:
        refusals.get(reason)  # logs an undeclared reason; the test suite fails on one
    chain = [_storable(actor) for actor in actor_chain]
    if not isinstance(scope, str):
        scope = " ".join(scope)
    scope, client_id, reason, jti = (str(_storable(v)) for v in (scope, client_id or "", reason, jti))
    user_obj = user if getattr(user, "pk", None) is not None else None
    row = AuditEvent.objects.create(
        at=timezone.now(),
        event=str(event),
        outcome=outcome,
        reason=reason,
        user=user_obj,
        username=user_obj.get_username() if user_obj is not None else "",
        client_id=client_id or "",
        actor_id=chain[0] if chain else "",
        actor_chain=chain,
        scope=scope,
        jti=jti,
        ip=ip,
        detail=_storable(detail or {}),
    )
    log.info("%s %s %s", event, outcome, reason or "")
    audit_event_recorded.send(sender=AuditEvent, event=row)
    return row
