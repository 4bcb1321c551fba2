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
from django.db.models import F, Lookup, Model, Q, QuerySet
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from oauth2_provider.settings import oauth2_settings

from . import audit
from .models import Agent, AgentGrant, CodeBinding, IssuedToken
from .resource import revocation
from .retry import transactional
from .tokens import TokenContext


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
) -> CodeBinding:
    """Record consent and what a new code is bound to (draft -02 §4.3).

    For an agent, the user's standing :class:`AgentGrant` is created, or widened and
    renewed when a live one exists. Must run inside the transaction that saves DOT's Grant.
    """
    now = timezone.now()
    chain = [agent.actor_id] if agent else []
    grant = None
    if agent is not None:
        expires_at = now + timedelta(seconds=duration_seconds) if duration_seconds else None
        grant = _standing_grant(user, agent, application, scopes, expires_at, now)
    audit.record(
        "consent.granted",
        user=user,
        client_id=application.client_id,
        actor_chain=chain,
        scope=scopes,
        ip=ip,
        detail={"duration_seconds": duration_seconds} if agent else {},
    )
    binding = CodeBinding.objects.create(
        code_hash=code_hash(code),
        application=application,
        user=user,
        agent=agent,
        agent_grant=grant,
        scope=" ".join(scopes),
        expires_at=now + timedelta(seconds=oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS),
    )
    audit.record(
        "code.issued", user=user, client_id=application.client_id, actor_chain=chain, scope=scopes, ip=ip
    )
    return binding


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


class CodeReused(Exception):
    """The code was already redeemed: RFC 6749 §4.1.2 says refuse and revoke its tokens."""

    def __init__(self, binding: CodeBinding) -> None:
        super().__init__("authorization code reused")
        self.binding = binding


def claim_code(code: str, application: Any) -> CodeBinding | None:
    """Mark a code redeemed, atomically: of many concurrent redemptions exactly one wins.

    The conditional UPDATE takes the row lock, so a concurrent claimer waits for the
    winner's transaction and then matches nothing. Returns the binding (None for a code
    issued before this app was installed); raises :class:`CodeReused` for a second use.
    """
    digest = code_hash(code)
    claimed = CodeBinding.objects.filter(
        code_hash=digest, application=application, redeemed_at__isnull=True
    ).update(redeemed_at=timezone.now())
    binding = (
        CodeBinding.objects.select_related("agent", "agent_grant", "user")
        .filter(code_hash=digest, application=application)
        .first()
    )
    if binding is not None and not claimed:
        raise CodeReused(binding)
    return binding


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


def _share_lock(model: type[Model], ids: list[Any]) -> list[Any]:
    """``SELECT … FOR KEY SHARE`` on PostgreSQL: revocations (``FOR UPDATE``) wait for us, and
    we for them, while issuances of the same agent or grant neither wait for each other nor
    block ordinary updates such as a grant's ``last_used_at``. Returns the rows as locked."""
    ids = [i for i in ids if i is not None]
    if not ids:
        return []
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(model._meta.db_table)
        sql = f"SELECT * FROM {table} WHERE id = ANY(%s) FOR KEY SHARE"  # noqa: S608
        return list(model._default_manager.raw(sql, [ids]))
    # SQLite serialises writers already; other backends get an exclusive lock
    return list(model._default_manager.select_for_update().filter(pk__in=ids))


def lock_dependencies(context: TokenContext) -> tuple[list[Any], list[Any], list[Any]]:
    """Share-lock what a new token depends on, in the order revocations lock it:
    agent, then grant, then tokens. Call it before writing any token row. Returns the
    locked agent, grant and parent rows, read afresh."""
    return (
        _share_lock(Agent, [context.agent.pk] if context.agent else []),
        _share_lock(AgentGrant, [context.agent_grant.pk] if context.agent_grant else []),
        _share_lock(IssuedToken, [context.parent.pk] if context.parent else []),
    )


def hold_for_issuance(context: TokenContext) -> str | None:
    """Lock what a new token depends on (agent, grant, parent token) and read it afresh.

    Returns why the token must not be issued, or None. Called in the transaction that
    stores the token, so a concurrent kill switch, grant revocation or token revocation
    either sees the new token and revokes it, or is seen here (RFC 7009 §2.1).
    """
    agents, grants, parents = lock_dependencies(context)
    now = timezone.now()
    if context.agent is not None:
        reason = agents[0].unusable_reason(now)
        if reason is not None:
            return reason
    if context.agent_grant is not None:
        reason = grants[0].dead_reason(now)
        if reason is not None:
            return reason
    if context.parent is not None and not parents[0].is_live(now):
        return "subject_token_revoked"
    return None


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
    transaction.on_commit(partial(revocation.evict, jtis))
    if dot_ids:
        get_access_token_model().objects.filter(_among("pk", dot_ids)).update(expires=now)
        get_refresh_token_model().objects.filter(
            _among("access_token_id", dot_ids), revoked__isnull=True
        ).update(revoked=now)
    audit.record(
        "token.revoked", user=user, ip=ip, detail={"reason": reason, "count": count, "jti": jtis[:50]}
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
        "grant.revoked",
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
        "agent.enabled" if active else "agent.disabled",
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
    transaction.on_commit(partial(revocation.evict, list(records.values_list("jti", flat=True))))
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


def touch_grant(grant: AgentGrant) -> None:
    AgentGrant.objects.filter(pk=grant.pk).update(last_used_at=timezone.now())
