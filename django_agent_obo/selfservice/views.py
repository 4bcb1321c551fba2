"""``/agents/``: every agent the user delegated to, what it may do, what it did; revoke a grant.

The page is built from three queries whatever the number of grants: the grants with their
agent and client, and one windowed query for each agent's latest events for this user.
A grant of another user is a 404, never a 403, so ids reveal nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.csrf import csrf_protect
from django.views.generic import View
from oauth2_provider.scopes import get_scopes_backend

from .. import delegation
from ..adapter import get_adapter
from ..audit import client_ip
from ..models import Agent, AgentGrant, AuditEvent

ACTIVITY_PER_AGENT = 10
ACTIVITY_DAYS = 90
CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
EVENT_WORDS = {
    "consent.granted": "You allowed it",
    "consent.denied": "A request for it was refused",
    "code.issued": "An authorization code was issued for it",
    "token.issued": "It received an access token",
    "token.refreshed": "It renewed its access token",
    "token.exchanged": "It passed its access on to another service",
    "token.refused": "It was refused a token",
    "token.revoked": "Its tokens were revoked",
    "grant.revoked": "The delegation was revoked",
    "agent.disabled": "The site disabled it",
    "agent.enabled": "The site enabled it again",
    "resource.accessed": "It used your data",
    "backchannel.requested": "It asked for your approval",
    "backchannel.approved": "You approved its request",
    "backchannel.denied": "Its request was denied",
}
REVOKE_REASONS = {
    "user_revoked": "you revoked it",
    "admin_revoked": "an administrator revoked it",
    "grant_expired": "it expired",
}


@dataclass
class GrantRow:
    grant: AgentGrant
    scopes: list[tuple[str, str]]
    until: datetime | None  # the earlier of the grant's expiry and the agent's valid_until
    state: str  # "active", "expired" or "revoked"
    revoked_because: str = ""

    @property
    def live(self) -> bool:
        return self.state == "active"


@dataclass
class AgentSection:
    agent: Agent
    shown: dict[str, str]
    usable: bool
    grants: list[GrantRow] = field(default_factory=list)
    activity: list[tuple[AuditEvent, str]] = field(default_factory=list)


def scope_words() -> dict[str, str]:
    return dict(get_scopes_backend().get_all_scopes())


def grant_row(grant: AgentGrant, words: dict[str, str], now: datetime) -> GrantRow:
    ends = [t for t in (grant.expires_at, grant.agent.valid_until) if t is not None]
    dead = grant.dead_reason(now)
    return GrantRow(
        grant=grant,
        scopes=[(name, words.get(name, name)) for name in grant.scope.split()],
        until=min(ends) if ends else None,
        state={"grant_revoked": "revoked", "grant_expired": "expired"}.get(dead or "", "active"),
        revoked_because=REVOKE_REASONS.get(grant.revoke_reason, grant.revoke_reason),
    )


def recent_activity(user: Any, actor_ids: list[str], since: datetime) -> dict[str, list[AuditEvent]]:
    """The newest events per agent for this user, in one query (a window per actor id)."""
    if not actor_ids:
        return {}
    rows = (
        AuditEvent.objects.filter(user_id=user.pk, actor_id__in=actor_ids, at__gte=since)
        .annotate(
            rank=Window(RowNumber(), partition_by=[F("actor_id")], order_by=[F("at").desc(), F("id").desc()])
        )
        .filter(rank__lte=ACTIVITY_PER_AGENT)
        .order_by("-at", "-id")
    )
    found: dict[str, list[AuditEvent]] = {}
    for event in rows:
        found.setdefault(event.actor_id, []).append(event)
    return found


def with_policy(response: HttpResponse) -> HttpResponse:
    response["Content-Security-Policy"] = CSP
    return response


@method_decorator([never_cache, xframe_options_deny], name="dispatch")
class AgentsView(LoginRequiredMixin, View):
    """The list: live grants first, then history (revoked and expired grants stay visible)."""

    template_name = "django_agent_obo/selfservice/agents.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        now = timezone.now()
        words = scope_words()
        owner: Any = request.user  # signed in: LoginRequiredMixin
        grants = AgentGrant.objects.filter(user=owner).select_related("agent", "application")
        sections: dict[int, AgentSection] = {}
        adapter = get_adapter()
        for grant in grants.order_by("-created_at", "-id"):
            section = sections.get(grant.agent_id)
            if section is None:
                section = sections[grant.agent_id] = AgentSection(
                    agent=grant.agent,
                    shown=adapter.describe_agent(grant.agent),
                    usable=grant.agent.is_usable(now),
                )
            section.grants.append(grant_row(grant, words, now))
        since = now - timedelta(days=ACTIVITY_DAYS)
        activity = recent_activity(owner, [s.agent.actor_id for s in sections.values()], since)
        for section in sections.values():
            section.grants.sort(key=lambda row: not row.live)
            section.activity = [
                (event, EVENT_WORDS.get(event.event, event.event))
                for event in activity.get(section.agent.actor_id, [])
            ]
        ordered = sorted(
            sections.values(), key=lambda s: (not any(g.live for g in s.grants), s.shown["name"].lower())
        )
        context = {"sections": ordered, "activity_days": ACTIVITY_DAYS, "now": now}
        return with_policy(TemplateResponse(request, self.template_name, context))


@method_decorator([never_cache, xframe_options_deny, csrf_protect], name="dispatch")
class RevokeGrantView(LoginRequiredMixin, View):
    """GET: what revoking will stop, and a button; POST: revoke (draft -02 §4.3, RFC 7009 §2)."""

    template_name = "django_agent_obo/selfservice/revoke_confirm.html"

    def own_grant(self, request: HttpRequest, pk: int) -> AgentGrant:
        return get_object_or_404(
            AgentGrant.objects.select_related("agent", "application"), pk=pk, user_id=request.user.pk
        )

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        grant = self.own_grant(request, pk)
        if grant.revoked_at is not None:
            return HttpResponseRedirect(reverse("agent_obo_selfservice:agents"))
        context = {
            "row": grant_row(grant, scope_words(), timezone.now()),
            "shown": get_adapter().describe_agent(grant.agent),
        }
        return with_policy(TemplateResponse(request, self.template_name, context))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        grant = self.own_grant(request, pk)
        tokens = delegation.revoke_grant(grant, by=request.user, reason="user_revoked", ip=client_ip(request))
        shown = get_adapter().describe_agent(grant.agent)
        messages.success(
            request,
            f"{shown['name']} can no longer act for you through "
            f"{grant.application.name or grant.application.client_id}"
            + (f"; {tokens} token(s) stopped working." if tokens else "."),
            fail_silently=True,
        )
        return HttpResponseRedirect(reverse("agent_obo_selfservice:agents"))
