"""The device authorization grant with an actor (RFC 8628): a request's life to one token.

``create`` binds DOT's new ``DeviceGrant`` to the requested actor, details and DPoP key and
audits it; ``decide`` records the user's answer as consent does (the standing grant and
``consent.granted``, or ``consent.denied``); ``claim`` is the token endpoint's look under the
row lock: expiry, the interval (§3.5 ``slow_down``), the decision, and the single claim of an
approval. Protocol glue: ``oauth/device_views.py`` (the pages and the endpoint) and
``oauth/device.py`` (the grant type).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from . import audit, delegation
from .adapter import DelegationRefused, get_adapter
from .backchannel import SLOW_DOWN_STEP_SECONDS, PollRefused
from .models import Agent, AuditEvent, DeviceAuthorization, Event
from .registration import awaiting_approval


def create(
    *,
    device_grant: Any,
    application: Any,
    agent: Agent | None,
    authorization_details: list[dict[str, Any]] | None,
    dpop_jkt: str,
    interval: int,
    ip: str | None,
) -> DeviceAuthorization:
    """Bind a device request DOT just stored (RFC 8628 §3.2) and audit ``device.requested``.
    Run it in the transaction that created ``device_grant``."""
    device_grant.interval = interval
    device_grant.save(update_fields=["interval"])
    row = DeviceAuthorization.objects.create(
        device_grant=device_grant,
        application=application,
        agent=agent,
        authorization_details=authorization_details,
        dpop_jkt=dpop_jkt,
        interval=interval,
        expires_at=device_grant.expires,
    )
    audit.record(
        Event.DEVICE_REQUESTED,
        client_id=application.client_id,
        actor_chain=[agent.actor_id] if agent else [],
        scope=device_grant.scope.split(),
        ip=ip,
        detail={"request": row.pk},
    )
    return row


class NotPending(Exception):
    """The request was already answered, has expired, or is not this user's to answer."""


def decide(device_grant: Any, user: Any, *, allow: bool, duration_seconds: int | None, ip: str | None) -> str:
    """Record the user's answer to a device request they entered the code of, once (RFC 8628
    §3.3). An approval re-checks the client's approval (``REGISTRATION_REQUIRES_APPROVAL``) and
    the agent as consent does and records it as consent does
    (:func:`~django_agent_obo.delegation.record_consent`); a refused re-check denies."""
    with transaction.atomic():
        model = type(device_grant)
        locked = model.objects.select_for_update().filter(
            pk=device_grant.pk, user_id=user.pk, status=model.AUTHORIZATION_PENDING
        )
        grant = locked.first()
        row = (
            DeviceAuthorization.objects.select_related("application", "agent")
            .filter(device_grant_id=device_grant.pk)
            .first()
        )
        if grant is None or row is None or grant.expires <= timezone.now():
            raise NotPending
        scopes = grant.scope.split()
        chain = [row.agent.actor_id] if row.agent else []
        reason = "user_denied"
        if allow and awaiting_approval(row.application):  # rejected since it asked
            allow, reason = False, "client_pending_approval"
        if allow and row.agent is not None:
            try:
                get_adapter().resolve_requested_actor(row.agent.actor_id, row.application, scopes, user)
            except DelegationRefused as refusal:
                allow, reason = False, refusal.reason
        if allow:
            row.agent_grant = delegation.record_consent(
                application=row.application,
                user=user,
                scopes=scopes,
                agent=row.agent,
                duration_seconds=duration_seconds,
                ip=ip,
                authorization_details=row.authorization_details,
            )
            row.save(update_fields=["agent_grant"])
            grant.status = model.AUTHORIZED
        else:
            audit.record(
                Event.CONSENT_DENIED,
                outcome=AuditEvent.FAILURE,
                reason=reason,
                user=user,
                client_id=row.application.client_id,
                actor_chain=chain,
                scope=scopes,
                ip=ip,
                detail={"device_request": row.pk},
            )
            grant.status = model.DENIED
        grant.save(update_fields=["status"])
    return str(grant.status)


def claim(device_code: str, application: Any) -> DeviceAuthorization:
    """Claim an approved request for its one token, or say why not (RFC 8628 §3.5).

    Runs in the token endpoint's transaction, the request's row locked first so concurrent
    polls queue on it (the interval holds across processes); the claim itself is a conditional
    update of ``redeemed_at``, so of many redemptions exactly one wins on any database.
    """
    row = (
        DeviceAuthorization.objects.select_for_update(of=("self",))
        .select_related("device_grant", "device_grant__user", "agent", "agent_grant")
        .filter(device_grant__device_code=device_code, application_id=application.pk)
        .first()
    )
    if row is None:
        raise PollRefused("invalid_grant", "device_code_unknown", "The device_code is not valid.")
    grant = row.device_grant
    now = timezone.now()
    if row.redeemed_at is not None:
        raise PollRefused("invalid_grant", "device_code_used", "A token was already issued for this code.")
    if grant.status == grant.DENIED:
        raise PollRefused("access_denied", "user_denied", "The user denied the request.")
    if grant.expires <= now:
        raise PollRefused("expired_token", "device_code_expired", "The device_code has expired.")
    if row.next_poll_at is not None and now < row.next_poll_at:
        row.interval += SLOW_DOWN_STEP_SECONDS  # RFC 8628 §3.5: the interval grows by 5 s
        row.next_poll_at = now + timedelta(seconds=row.interval)
        row.save(update_fields=["interval", "next_poll_at"])
        raise PollRefused(
            "slow_down", "polled_too_fast", f"Poll at most every {row.interval} seconds.", keep_writes=True
        )
    row.next_poll_at = now + timedelta(seconds=row.interval)
    if grant.status != grant.AUTHORIZED:
        row.save(update_fields=["next_poll_at"])
        raise PollRefused(
            "authorization_pending",
            "authorization_pending",
            "The user has not answered yet.",
            keep_writes=True,
        )
    claimed = DeviceAuthorization.objects.filter(pk=row.pk, redeemed_at__isnull=True).update(
        redeemed_at=now, next_poll_at=row.next_poll_at
    )
    if not claimed:
        raise PollRefused("invalid_grant", "device_code_used", "A token was already issued for this code.")
    return row
