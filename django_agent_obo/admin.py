"""Admin screens: agents (registration, credentials, kill switch, their timeline) and grants
(SPEC §1 "admins"); the audit trail is ``admin_audit``, the other screens ``admin_*.py``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from . import delegation, timeline
from .admin_audit import changelist_url, render_timeline
from .admin_backchannel import BackchannelClientAdmin  # noqa: F401  (registers the CIBA screens)
from .admin_client_keys import ClientKeySetAdmin  # noqa: F401  registers the client key screen
from .admin_clients import ClientApprovalAdmin  # noqa: F401  (registers the self-registered clients)
from .admin_device import DeviceAuthorizationAdmin  # noqa: F401  registers the device requests screen
from .admin_dpop import ClientDPoPPolicyAdmin  # noqa: F401  registers the client DPoP policy screen
from .admin_filters import (
    AgentStatusFilter,
    GrantStatusFilter,
    UserFilter,
)
from .admin_forms import AgentForm, show_secret
from .admin_tokens import HistoryAdmin  # also registers the issued-token screen
from .audit import client_ip
from .models import Agent, AgentGrant, AuditEvent, IssuedToken


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    form = AgentForm
    list_display = ("actor_id", "name", "publisher", "status", "valid_until", "live_grants", "links")
    list_filter = (
        AgentStatusFilter,
        ("allowed_clients", admin.RelatedOnlyFieldListFilter),
        "valid_until",
        "pending_approval",
        "registration_source",
    )
    search_fields = ("actor_id", "name", "publisher")
    filter_horizontal = ("allowed_clients", "accepts_delegation_from")
    readonly_fields = (
        "status",
        "is_active",
        "credentials_client",
        "links",
        "created_at",
        "updated_at",
        "registration_source",
        "pending_approval",
        "document_expires_at",
    )
    fieldsets = (
        (None, {"fields": ("actor_id", "name", "publisher", "description", "logo_uri")}),
        (
            "What it may do",
            {
                "fields": (
                    "allowed_clients",
                    "allow_any_client",
                    "allowed_scopes",
                    "authorization_details_types",
                    "valid_until",
                )
            },
        ),
        (
            "How it proves itself",
            {"fields": ("jwks", "jwks_uri", "credentials_client", "create_credentials", "require_dpop")},
        ),
        ("Token exchange", {"fields": ("accepts_delegation_from",)}),
        ("State", {"fields": ("status", "is_active", "links", "created_at", "updated_at")}),
        ("Agent document", {"fields": ("registration_source", "pending_approval", "document_expires_at")}),
    )
    actions = ["disable_agents", "enable_agents", "issue_new_credentials", "approve_agent_documents"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Agent]:
        live = Q(grants__revoked_at__isnull=True) & (
            Q(grants__expires_at__isnull=True) | Q(grants__expires_at__gt=timezone.now())
        )
        return super().get_queryset(request).annotate(n_live_grants=Count("grants", filter=live))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Deleting an agent would erase its token lineage; disable it instead."""
        return False

    @admin.display(description="status")
    def status(self, agent: Agent) -> str:
        return {
            "agent_disabled": "disabled",
            "agent_expired": "past valid until",
            "agent_pending_approval": "awaiting approval",
        }.get(agent.unusable_reason() or "", "usable")

    @admin.display(description="live grants", ordering="n_live_grants")
    def live_grants(self, agent: Agent) -> str:
        url = changelist_url(AgentGrant, agent__id__exact=agent.pk, status="live")
        return format_html('<a href="{}">{}</a>', url, getattr(agent, "n_live_grants", 0))

    @admin.display(description="trail")
    def links(self, agent: Agent) -> str:
        if agent.pk is None:
            return "-"
        return format_html(
            '<a href="{}">grants</a> · <a href="{}">audit</a> · <a href="{}">timeline</a>',
            changelist_url(AgentGrant, agent__id__exact=agent.pk),
            changelist_url(AuditEvent, actor=agent.actor_id),
            reverse("admin:django_agent_obo_agent_timeline", args=[agent.pk]),
        )

    @admin.display(description="credentials")
    def credentials_client(self, agent: Agent) -> str:
        if agent.credentials is None:
            return "none: it can prove itself only with self-signed assertions"
        return f"client_id {agent.credentials.client_id} (secret stored hashed)"

    def save_model(self, request: HttpRequest, obj: Agent, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if form.cleaned_data.get("create_credentials") and obj.credentials is None:
            show_secret(request, obj, obj.issue_credentials())
        if obj.credentials is None and not obj.jwks and not obj.jwks_uri:
            messages.warning(
                request, f"{obj.actor_id} has no keys and no credentials: it cannot prove itself yet."
            )

    @admin.action(description="Disable (kill switch): stop every token of the selected agents now")
    def disable_agents(self, request: HttpRequest, queryset: QuerySet[Agent]) -> None:
        agents = list(queryset)
        revoked = sum(
            delegation.set_agent_active(a, False, by=request.user, ip=client_ip(request)) for a in agents
        )
        self.message_user(
            request, f"Disabled {len(agents)} agent(s); {revoked} token(s) revoked.", messages.WARNING
        )

    @admin.action(description="Enable the selected agents")
    def enable_agents(self, request: HttpRequest, queryset: QuerySet[Agent]) -> None:
        agents = list(queryset)
        for agent in agents:
            delegation.set_agent_active(agent, True, by=request.user, ip=client_ip(request))
        self.message_user(request, f"Enabled {len(agents)} agent(s).")

    @admin.action(description="Approve the selected agent documents (SPEC §11)")
    def approve_agent_documents(self, request: HttpRequest, queryset: QuerySet[Agent]) -> None:
        agents = list(queryset.filter(pending_approval=True))
        for agent in agents:
            with transaction.atomic():
                Agent.objects.filter(pk=agent.pk).update(pending_approval=False)
                delegation.set_agent_active(agent, True, by=request.user, ip=client_ip(request))
        self.message_user(request, f"Approved {len(agents)} agent document(s).")

    @admin.action(description="Create credentials, or issue a new client secret (shown once)")
    def issue_new_credentials(self, request: HttpRequest, queryset: QuerySet[Agent]) -> None:
        for agent in queryset.select_related("credentials"):
            show_secret(request, agent, agent.issue_credentials())

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.timeline_view)
        return [
            path("<path:object_id>/timeline/", view, name="django_agent_obo_agent_timeline"),
            *super().get_urls(),
        ]

    def timeline_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        agent = get_object_or_404(Agent.objects.select_related("credentials"), pk=object_id)
        if not (
            self.has_view_permission(request, agent)
            and request.user.has_perm("django_agent_obo.view_auditevent")
        ):
            raise PermissionDenied
        data = timeline.build(
            AuditEvent.objects.filter(actor_id=agent.actor_id),
            AgentGrant.objects.filter(agent=agent),
            IssuedToken.objects.filter(agent=agent, kind=IssuedToken.KIND_DELEGATED),
            counterpart="username",
            before=request.GET.get("before"),
            failures_only=request.GET.get("outcome") == AuditEvent.FAILURE,
        )
        return render_timeline(
            request,
            self,
            f"Timeline of agent {agent.actor_id}",
            data,
            subject={"agent": agent, "status": self.status(agent), "clients": agent.allowed_clients.all()},
            audit_url=changelist_url(AuditEvent, actor=agent.actor_id),
            grants_url=changelist_url(AgentGrant, agent__id__exact=agent.pk),
        )


@admin.register(AgentGrant)
class AgentGrantAdmin(HistoryAdmin):
    list_display = (
        "user_link",
        "agent_link",
        "application",
        "scope",
        "created_at",
        "expires_at",
        "last_used_at",
        "status",
        "audit_link",
    )
    list_select_related = ("user", "agent", "application")
    list_filter = (GrantStatusFilter, "agent", "application", UserFilter, "created_at")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AgentGrant._meta.fields]
    actions = ["revoke_grants"]

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        """The exact username (whatever the user model calls it) or actor id."""
        return (f"=user__{get_user_model().USERNAME_FIELD}", "=agent__actor_id")

    @admin.display(description="user", ordering=f"user__{get_user_model().USERNAME_FIELD}")
    def user_link(self, grant: AgentGrant) -> str:
        return format_html(
            '<a href="{}">{}</a> (<a href="{}">timeline</a>)',
            changelist_url(AgentGrant, user=grant.user_id),
            grant.user.get_username(),
            reverse("admin:django_agent_obo_auditevent_user_timeline", args=[grant.user_id]),
        )

    @admin.display(description="agent", ordering="agent__actor_id")
    def agent_link(self, grant: AgentGrant) -> str:
        url = reverse("admin:django_agent_obo_agent_change", args=[grant.agent_id])
        return format_html('<a href="{}">{}</a>', url, grant.agent.actor_id)

    @admin.display(description="status")
    def status(self, grant: AgentGrant) -> str:
        return {"grant_revoked": f"revoked ({grant.revoke_reason})", "grant_expired": "expired"}.get(
            grant.dead_reason() or "", "live"
        )

    @admin.display(description="audit")
    def audit_link(self, grant: AgentGrant) -> str:
        url = changelist_url(
            AuditEvent, user=grant.user_id, actor=grant.agent.actor_id, client=grant.application.client_id
        )
        return format_html('<a href="{}">events</a>', url)

    @admin.action(description="Revoke the selected grants and all their tokens", permissions=["revoke"])
    def revoke_grants(self, request: HttpRequest, queryset: QuerySet[AgentGrant]) -> None:
        grants = list(queryset.filter(revoked_at__isnull=True))
        tokens = sum(
            delegation.revoke_grant(g, by=request.user, reason="admin_revoked", ip=client_ip(request))
            for g in grants
        )
        self.message_user(request, f"Revoked {len(grants)} grant(s) and {tokens} token(s).")
