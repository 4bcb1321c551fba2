"""``/agents/``: every agent the user delegated to, what it may do, what it did; revoke a grant
in one click (a POST form per grant; the same URL answers GET with a confirmation page).

The page costs the same queries whatever the number of grants: the grants with their agent and
client, then ``activity.build`` (accesses per day and kind, decisions, protocol detail).
A grant of another user is a 404, never a 403, so ids reveal nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
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
from ..models import Agent, AgentGrant
from . import activity
from .activity import Activity
from .words import REVOKE_REASONS

ACTIVITY_DAYS = 90
CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


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
    activity: Activity = field(default_factory=Activity)


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


def with_policy(response: HttpResponse) -> HttpResponse:
    response["Content-Security-Policy"] = CSP
    return response


@method_decorator([never_cache, xframe_options_deny, csrf_protect], name="dispatch")
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
        app_names = {
            row.grant.application.client_id: row.grant.application.name or "an application"
            for section in sections.values()
            for row in section.grants
        }
        found = activity.build(owner, [s.agent.actor_id for s in sections.values()], since, app_names, words)
        for section in sections.values():
            section.grants.sort(key=lambda row: not row.live)
            section.activity = found.get(section.agent.actor_id, Activity())
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
