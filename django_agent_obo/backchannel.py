"""Asynchronous approval (OpenID CIBA Core 1.0): a request's life from creation to one token.

``create`` stores a request and tells the user; ``decide`` records the user's answer (the
standing grant as consent makes it, the audit row, the ping to the client); ``poll`` is the
token endpoint's look at a request, under its row lock: the interval (CIBA §7.3), expiry,
the decision, and the single claim of an approval (CIBA §11). Protocol glue lives in
``oauth/bc_authorize.py`` (the endpoint) and ``oauth/backchannel.py`` (the grant type).
"""

from __future__ import annotations

import json
import logging
import secrets
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.core import signing
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from . import audit, delegation
from .adapter import DelegationRefused, get_adapter
from .conf import agent_obo_settings
from .models import Agent, AuditEvent, BackchannelClient, BackchannelRequest, Event
from .models.backchannel import notification_endpoint_problem
from .refusals import Refusal
from .registration import awaiting_approval

log = logging.getLogger("django_agent_obo.backchannel")

SLOW_DOWN_STEP_SECONDS = 5  # CIBA §11: the interval grows by at least 5 s on slow_down
_SIGNER = signing.Signer(salt="django_agent_obo.backchannel.auth_req_id")


def auth_req_id_of(row: BackchannelRequest) -> str:
    """The ``auth_req_id`` the client holds: the row's handle signed with the site's key."""
    return _SIGNER.sign(row.handle)


def handle_of(auth_req_id: str) -> str | None:
    """The handle inside a genuine ``auth_req_id``, or None for a forged or foreign one."""
    try:
        return _SIGNER.unsign(auth_req_id)
    except signing.BadSignature:
        return None


def approve_url() -> str:
    """Where the user answers: ``/agents/requests/`` on this site (absolute, for the e-mail)."""
    from .tokens import issuer

    try:
        return issuer() + reverse("agent_obo_selfservice:backchannel-requests")
    except NoReverseMatch:
        return issuer() + "/"


def pending_count(user: Any) -> int:
    """The user's requests that still wait for a decision (the badge on ``/agents/``)."""
    if getattr(user, "pk", None) is None:
        return 0
    return BackchannelRequest.objects.filter(
        user_id=user.pk, status=BackchannelRequest.PENDING, expires_at__gt=timezone.now()
    ).count()


# --- creation -------------------------------------------------------------------------------


@dataclass
class Created:
    auth_req_id: str
    expires_in: int
    interval: int


def create(
    *,
    application: Any,
    user: Any,
    agent: Agent | None,
    scopes: list[str],
    binding_message: str,
    authorization_details: list[dict[str, Any]] | None,
    expires_in: int,
    delivery_mode: str,
    client_notification_token: str,
    ip: str | None,
) -> Created:
    """Store a new request (CIBA §7.3), audit it and tell the user once it is committed."""
    interval = int(agent_obo_settings.BACKCHANNEL_INTERVAL_SECONDS)
    with transaction.atomic():
        row = BackchannelRequest.objects.create(
            handle=secrets.token_urlsafe(24),
            application=application,
            user=user,
            agent=agent,
            scope=" ".join(scopes),
            binding_message=binding_message,
            authorization_details=authorization_details,
            delivery_mode=delivery_mode,
            client_notification_token=client_notification_token,
            interval=interval,
            expires_at=timezone.now() + timedelta(seconds=expires_in),
        )
        audit.record(
            Event.BACKCHANNEL_REQUESTED,
            user=user,
            client_id=application.client_id,
            actor_chain=[agent.actor_id] if agent else [],
            scope=scopes,
            ip=ip,
            detail={"request": row.pk, "expires_in": expires_in, "mode": delivery_mode},
        )
        transaction.on_commit(partial(_notify_user, row))
    return Created(auth_req_id=auth_req_id_of(row), expires_in=expires_in, interval=interval)


def _notify_user(row: BackchannelRequest) -> None:
    try:
        get_adapter().notify_backchannel_request(row, approve_url())
    except Exception:  # a mail server down must not fail the client's request
        log.exception("notifying the user of backchannel request %s failed", row.pk)


# --- the user's decision ----------------------------------------------------------------------


class NotPending(Exception):
    """The request was already answered, has expired, or is not this user's."""


def decide(pk: int, user: Any, *, allow: bool, duration_seconds: int | None, ip: str | None) -> str:
    """Record the user's answer to their own pending request, once (a second answer, a
    stranger's or a late one raises :class:`NotPending`). Returns the new status.

    An approval re-checks the client's approval (``REGISTRATION_REQUIRES_APPROVAL``) and the
    agent as consent does, then creates or widens the standing
    :class:`~django_agent_obo.models.AgentGrant`; a refused re-check denies the request.
    """
    with transaction.atomic():
        row = (
            BackchannelRequest.objects.select_for_update(of=("self",))
            .select_related("application", "agent")
            .filter(pk=pk, user_id=user.pk)
            .first()
        )
        now = timezone.now()
        if row is None or row.status != BackchannelRequest.PENDING or row.is_expired(now):
            raise NotPending
        scopes = row.scope.split()
        chain = [row.agent.actor_id] if row.agent else []
        reason = "user_denied"
        if allow and awaiting_approval(row.application):  # rejected since it asked
            allow, reason = False, "client_pending_approval"
        if allow and row.agent is not None:
            try:
                get_adapter().resolve_requested_actor(row.agent.actor_id, row.application, scopes, user)
            except DelegationRefused as refusal:
                allow, reason = False, refusal.reason
        row.decided_at = now
        if allow:
            row.status = BackchannelRequest.APPROVED
            row.duration_seconds = duration_seconds
            if row.agent is not None:
                row.agent_grant = delegation.grant_standing(
                    user=user,
                    agent=row.agent,
                    application=row.application,
                    scopes=scopes,
                    duration_seconds=duration_seconds,
                )
            audit.record(
                Event.BACKCHANNEL_APPROVED,
                user=user,
                client_id=row.application.client_id,
                actor_chain=chain,
                scope=scopes,
                ip=ip,
                detail={"request": row.pk, "duration_seconds": duration_seconds},
            )
        else:
            row.status = BackchannelRequest.DENIED
            audit.record(
                Event.BACKCHANNEL_DENIED,
                outcome=AuditEvent.FAILURE,
                reason=reason,
                user=user,
                client_id=row.application.client_id,
                actor_chain=chain,
                scope=scopes,
                ip=ip,
                detail={"request": row.pk},
            )
        row.save(update_fields=["status", "decided_at", "duration_seconds", "agent_grant"])
        if row.delivery_mode == BackchannelClient.MODE_PING:
            transaction.on_commit(partial(ping_client, row))
    return row.status


# --- ping mode (CIBA §10.2) -------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def ping_client(row: BackchannelRequest) -> bool:
    """POST ``{"auth_req_id": …}`` with the client's ``client_notification_token`` as bearer
    token to its registered notification endpoint (https, or http on loopback: checked
    before the call). Returns whether the client answered 2xx; failures are logged."""
    registration = getattr(row.application, "backchannel", None)
    endpoint = getattr(registration, "client_notification_endpoint", "")
    if not endpoint or notification_endpoint_problem(endpoint):
        log.warning("backchannel request %s: no usable client notification endpoint", row.pk)
        return False
    body = json.dumps({"auth_req_id": auth_req_id_of(row)}).encode()
    http = urllib.request.Request(  # noqa: S310 - scheme checked by notification_endpoint_problem
        endpoint,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {row.client_notification_token}",
        },
    )
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))
    try:
        with opener.open(
            http, timeout=float(agent_obo_settings.BACKCHANNEL_NOTIFICATION_TIMEOUT_SECONDS)
        ) as r:
            return 200 <= r.status < 300
    except Exception as exc:  # the client being down is its problem; the poll still works
        log.warning("backchannel ping for request %s failed: %s", row.pk, exc)
        return False


# --- the token endpoint's poll (CIBA §10.1, §11) ------------------------------------------------


class PollRefused(Refusal):
    """No token (yet). ``error`` is the CIBA §11 code, ``reason`` the audit reason;
    ``keep_writes``: the poll's time stamp must be committed although the answer is an error."""

    def __init__(self, error: str, reason: str, description: str, *, keep_writes: bool = False) -> None:
        super().__init__(reason, description, error=error)
        self.keep_writes = keep_writes


def poll(auth_req_id: str, application: Any) -> BackchannelRequest:
    """Claim an approved request for its one token, or say why not (CIBA §11).

    Runs in the token endpoint's transaction and locks the request's row first: concurrent
    polls of one request queue on it, so the interval is enforced across processes (each poll
    moves ``next_poll_at``) and of many polls after approval exactly one turns the status to
    ``issued``. A failure later in the same request rolls the claim back with everything else.
    """
    handle = handle_of(auth_req_id)
    row = (
        BackchannelRequest.objects.select_for_update(of=("self",))
        .select_related("agent", "agent_grant", "user")
        .filter(handle=handle, application_id=application.pk)
        .first()
        if handle is not None
        else None
    )
    if row is None:
        raise PollRefused("invalid_grant", "auth_req_id_unknown", "The auth_req_id is not valid.")
    now = timezone.now()
    if row.status == BackchannelRequest.ISSUED:
        raise PollRefused("invalid_grant", "auth_req_id_used", "A token was already issued for this request.")
    if row.status == BackchannelRequest.DENIED:
        raise PollRefused("access_denied", "user_denied", "The user denied the request.")
    if row.is_expired(now):
        raise PollRefused("expired_token", "auth_req_id_expired", "The request has expired.")
    if row.next_poll_at is not None and now < row.next_poll_at:
        row.interval += SLOW_DOWN_STEP_SECONDS
        row.next_poll_at = now + timedelta(seconds=row.interval)
        row.save(update_fields=["interval", "next_poll_at"])
        raise PollRefused(
            "slow_down",
            "polled_too_fast",
            f"Poll at most every {row.interval} seconds.",
            keep_writes=True,
        )
    row.next_poll_at = now + timedelta(seconds=row.interval)
    if row.status == BackchannelRequest.PENDING:
        row.save(update_fields=["next_poll_at"])
        raise PollRefused(
            "authorization_pending",
            "authorization_pending",
            "The user has not answered yet.",
            keep_writes=True,
        )
    row.status = BackchannelRequest.ISSUED
    row.save(update_fields=["status", "next_poll_at"])
    return row
