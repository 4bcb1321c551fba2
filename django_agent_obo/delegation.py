"""Grant, bind, claim, revoke, cascade, kill switch: each one transaction with its audit row.

This is the only module that revokes. Revocation marks our :class:`IssuedToken` rows (the
truth resource servers consult) and expires DOT's AccessToken rows and revokes their
refresh tokens in bulk, so DOT's own introspection and bearer checks agree at once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Lookup, Q, QuerySet, signals
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_grant_model, get_refresh_token_model
from oauth2_provider.settings import oauth2_settings

from . import audit, rows
from .models import Agent, AgentGrant, CodeBinding, Event, IssuedToken
from .retry import transactional
from .token_status import evict


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def bind_code(
    *,
    code: str,
    application: Any,
    user: Any,
    scopes: list[str],
    agent: Agent | None,
    duration_seconds: int | None,
    ip: str | None,
    dpop_jkt: str = "",
    authorization_details: list[dict[str, Any]] | None = None,
) -> CodeBinding:
    """Record consent and what a new code is bound to (draft -02 §4.3).

    For an agent, the user's standing :class:`AgentGrant` is created, or widened and
    renewed when a live one exists. Must run inside the transaction that saves DOT's Grant.
    """
    now = timezone.now()
    chain = [agent.actor_id] if agent else []
    grant = record_consent(
        application=application,
        user=user,
        scopes=scopes,
        agent=agent,
        duration_seconds=duration_seconds,
        ip=ip,
        authorization_details=authorization_details,
    )
    binding = CodeBinding.objects.create(
        code_hash=code_hash(code),
        application=application,
        user=user,
        agent=agent,
        agent_grant=grant,
        scope=" ".join(scopes),
        authorization_details=authorization_details or [],
        expires_at=now + timedelta(seconds=oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS),
        dpop_jkt=dpop_jkt,
    )
    audit.record(
        Event.CODE_ISSUED, user=user, client_id=application.client_id, actor_chain=chain, scope=scopes, ip=ip
    )
    return binding


def record_consent(
    *,
    application: Any,
    user: Any,
    scopes: list[str],
    agent: Agent | None,
    duration_seconds: int | None,
    ip: str | None,
    authorization_details: list[dict[str, Any]] | None = None,
) -> AgentGrant | None:
    """The user's approval as consent records it: for an agent the standing
    :class:`AgentGrant` (created, or widened and renewed), and the ``consent.granted`` row.
    Shared by codes and device requests (RFC 8628 §3.3); run it in the approval's transaction."""
    now = timezone.now()
    grant = None
    if agent is not None:
        expires_at = now + timedelta(seconds=duration_seconds) if duration_seconds else None
        grant = _standing_grant(user, agent, application, scopes, expires_at, now)
    audit.record(
        Event.CONSENT_GRANTED,
        user=user,
        client_id=application.client_id,
        actor_chain=[agent.actor_id] if agent else [],
        scope=scopes,
        ip=ip,
        detail={
            **({"duration_seconds": duration_seconds} if agent else {}),
            **({"authorization_details": authorization_details} if authorization_details else {}),
        },
    )
    return grant


def _standing_grant(
    user: Any, agent: Agent, application: Any, scopes: list[str], expires_at: datetime | None, now: datetime
) -> AgentGrant:
    """The live grant for (user, agent, client), widened and renewed, or a new one.

    Two consents at once may both find none: the unique constraint lets one insert win and
    the other (in a savepoint) then widens the winner's row instead of failing.
    """
    for _ in range(2):
        live = AgentGrant.objects.select_for_update().filter(
            user=user, agent=agent, application=application, revoked_at__isnull=True
        )
        grant = live.first()
        if grant is not None and not grant.is_live(now):
            _end_grants(AgentGrant.objects.filter(pk=grant.pk), "grant_expired", now)
            grant = None
        if grant is not None:
            grant.scope = " ".join(sorted(grant.scope_set | set(scopes)))
            grant.expires_at = expires_at
            grant.save(update_fields=["scope", "expires_at"])
            return grant
        try:
            with transaction.atomic():
                return AgentGrant.objects.create(
                    user=user,
                    agent=agent,
                    application=application,
                    scope=" ".join(scopes),
                    expires_at=expires_at,
                )
        except IntegrityError:
            continue  # a concurrent consent created it first: widen that one
    raise RuntimeError("could not settle the standing grant")


def grant_standing(
    *, user: Any, agent: Agent, application: Any, scopes: list[str], duration_seconds: int | None
) -> AgentGrant:
    """The user's standing grant for an approved backchannel request (CIBA), made as consent
    makes it: created, or widened and renewed. Call it in the transaction of the approval."""
    now = timezone.now()
    expires_at = now + timedelta(seconds=duration_seconds) if duration_seconds else None
    return _standing_grant(user, agent, application, scopes, expires_at, now)


class CodeReused(Exception):
    """The code was already redeemed: RFC 6749 §4.1.2 says refuse and revoke its tokens."""

    def __init__(self, binding: CodeBinding) -> None:
        super().__init__("authorization code reused")
        self.binding = binding


def claim_code(code: str, application: Any) -> tuple[CodeBinding | None, Any]:
    """Take a code for redemption: its binding, and DOT's Grant, deleted in the statement
    that reads it (NOTES-DOT §4), so of many concurrent redemptions exactly one gets it.

    Returns ``(binding, grant)``; the binding is None for a code issued before this app was
    installed, the grant None for an unknown code. A code whose Grant is gone while tokens
    were issued with it was redeemed before: :class:`CodeReused`. A failed redemption rolls
    the deletion back with the rest of the request, and the code can be retried.
    """
    try:
        binding = CodeBinding.objects.select_related("agent", "agent_grant", "user").get(
            code_hash=code_hash(code), application=application
        )
    except CodeBinding.DoesNotExist:
        binding = None
    grant = _take_code_grant(code, application)
    if grant is None and binding is not None and binding.tokens.exists():
        raise CodeReused(binding)
    return binding, grant


def _take_code_grant(code: str, application: Any) -> Any:
    """Delete DOT's Grant of ``code`` and return it as it was (None if there is none).

    One statement, ``DELETE … RETURNING``, where DOT reads the row at every step and deletes
    it at the end. Where the ORM must delete (``delete`` signal receivers on the Grant model,
    or SQLite before 3.35, which lacks RETURNING) the row is read locked, then deleted.
    """
    Grant = get_grant_model()
    if (
        not connection.features.can_return_columns_from_insert
        or signals.pre_delete.has_listeners(Grant)
        or signals.post_delete.has_listeners(Grant)
    ):
        grant = Grant.objects.select_for_update().filter(code=code, application=application).first()
        if grant is not None:
            Grant.objects.filter(pk=grant.pk).delete()
        return grant
    return rows.delete_returning(Grant, code=code, application=application.pk)


@transactional
def revoke_code_descendants(binding: CodeBinding, ip: str | None) -> int:
    """Revoke everything a reused code's first redemption issued (RFC 6749 §4.1.2)."""
    return _revoke(IssuedToken.objects.filter(code_binding=binding), "code_reused", ip=ip)


class _AnyOf(Lookup):
    """``column = ANY(%s)`` with the values as one array parameter (PostgreSQL): the plan of
    ``IN (...)``, without the thousands of placeholders a large revocation would send."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, params = self.process_lhs(compiler, connection)
        array_type = self.lhs.output_field.db_type(connection)  # the column's own: indexes apply
        return f"{lhs} = ANY(%s::{array_type}[])", [*params, list(self.rhs)]


def _among(column: str, ids: list[Any]) -> Any:
    """A filter for ``column IN ids``; a single array parameter on PostgreSQL."""
    if connection.vendor == "postgresql":
        return _AnyOf(F(column), ids)
    return Q(**{f"{column}__in": ids})


def _lock_lineage(tokens: QuerySet[IssuedToken]) -> dict[int, tuple[int | None, str]]:
    """Lock the live tokens and, level by level, everything exchanged from them; return
    ``{id: (DOT access token id, jti)}`` of each.

    Each level is read with ``FOR UPDATE``: an issuance holding a share lock on a parent
    (see :func:`hold_for_issuance`) finishes first, and the next level's query then sees
    the token it minted. So after a revocation returns, nothing derived from it is live.
    Only tokens new at a level have their children read at the next one.
    """
    found: dict[int, tuple[int | None, str]] = {}
    level = tokens.filter(revoked_at__isnull=True)
    while True:
        rows = level.select_for_update().values_list("id", "access_token_id", "jti")
        new = {pk: (access_token_id, jti) for pk, access_token_id, jti in rows if pk not in found}
        if not new:
            return found
        found.update(new)
        level = IssuedToken.objects.filter(_among("parent_id", list(new)), revoked_at__isnull=True)


def _revoke(tokens: QuerySet[IssuedToken], reason: str, *, ip: str | None = None, user: Any = None) -> int:
    """Revoke tokens and their descendants; expire DOT's rows; one ``token.revoked`` row."""
    now = timezone.now()
    lineage = _lock_lineage(tokens)
    if not lineage:
        return 0
    live = IssuedToken.objects.filter(_among("id", list(lineage)), revoked_at__isnull=True)
    count = live.update(revoked_at=now)
    dot_ids = [access_token_id for access_token_id, _ in lineage.values() if access_token_id is not None]
    jtis = [jti for _, jti in lineage.values()]
    transaction.on_commit(partial(evict, jtis))
    if dot_ids:
        get_access_token_model().objects.filter(_among("pk", dot_ids)).update(expires=now)
        get_refresh_token_model().objects.filter(
            _among("access_token_id", dot_ids), revoked__isnull=True
        ).update(revoked=now)
    audit.record(
        Event.TOKEN_REVOKED, user=user, ip=ip, detail={"reason": reason, "count": count, "jti": jtis[:50]}
    )
    return count


def _end_grants(grants: QuerySet[AgentGrant], reason: str, now: datetime) -> None:
    grants.filter(revoked_at__isnull=True).update(revoked_at=now, revoke_reason=reason)


@transactional
def revoke_grant(
    grant: AgentGrant, *, by: Any = None, reason: str = "user_revoked", ip: str | None = None
) -> int:
    """End a standing delegation and everything issued under it, at once."""
    now = timezone.now()
    locked = AgentGrant.objects.select_for_update().get(pk=grant.pk)
    if locked.revoked_at is not None:
        return 0
    _end_grants(AgentGrant.objects.filter(pk=locked.pk), reason, now)
    count = _revoke(IssuedToken.objects.filter(agent_grant=locked), reason, ip=ip, user=locked.user)
    audit.record(
        Event.GRANT_REVOKED,
        user=locked.user,
        client_id=locked.application.client_id,
        actor_chain=[locked.agent.actor_id],
        scope=locked.scope,
        ip=ip,
        detail={"by": by.get_username() if by is not None else "", "reason": reason, "tokens": count},
    )
    return count


@transactional
def revoke_token(token: IssuedToken, *, reason: str = "revoked", ip: str | None = None) -> int:
    """Revoke one token (RFC 7009) and every token exchanged from it."""
    return _revoke(IssuedToken.objects.filter(pk=token.pk), reason, ip=ip, user=token.user)


@transactional
def set_agent_active(agent: Agent, active: bool, *, by: Any = None, ip: str | None = None) -> int:
    """The kill switch: disabling stops every token of the agent (and its chains) at once."""
    locked = Agent.objects.select_for_update().get(pk=agent.pk)
    if locked.is_active == active:
        return 0
    Agent.objects.filter(pk=locked.pk).update(is_active=active)
    count = 0
    if not active:
        count = _revoke(IssuedToken.objects.filter(agent=locked), "agent_disabled", ip=ip)
    audit.record(
        Event.AGENT_ENABLED if active else Event.AGENT_DISABLED,
        user=by,
        actor_chain=[locked.actor_id],
        ip=ip,
        detail={"tokens_revoked": count},
    )
    agent.is_active = active
    return count


def mark_dot_token_deleted(access_token_pk: Any) -> None:
    """DOT revokes by deleting its AccessToken row (RFC 7009, refresh rotation); keep our
    record in step, and revoke every token exchanged from it (RFC 8693 lineage)."""
    records = IssuedToken.objects.filter(access_token_id=access_token_pk, revoked_at__isnull=True)
    parents = list(records.values_list("id", flat=True))
    transaction.on_commit(partial(evict, list(records.values_list("jti", flat=True))))
    records.update(revoked_at=timezone.now())
    if parents:
        _revoke(IssuedToken.objects.filter(parent_id__in=parents), "parent_revoked")


@transactional
def revoke_refresh_family(token_family: Any, *, user: Any = None, ip: str | None = None) -> int:
    """A rotated refresh token came back: revoke its whole family, every access token issued
    from it and every token exchanged from those (RFC 9700 §4.14.2), in one transaction."""
    count = _revoke(
        IssuedToken.objects.filter(refresh_token__token_family=token_family),
        "refresh_token_reused",
        ip=ip,
        user=user,
    )
    get_refresh_token_model().revoke_family(token_family)
    return count
