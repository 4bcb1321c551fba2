"""Admin screens: agents (registration, credentials, kill switch), grants, and the read-only
audit trail with a per-agent and a per-user timeline (SPEC §1 "admins", §8).

The audit screens are built for a table of millions of rows: no full ``COUNT(*)``, no
``DISTINCT`` scans, sorting only on the indexed time column (see ``admin_filters``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from . import delegation, timeline
from .admin_backchannel import BackchannelClientAdmin  # noqa: F401  (registers the CIBA screens)
from .admin_client_keys import ClientKeySetAdmin  # noqa: F401  registers the client key screen
from .admin_clients import ClientApprovalAdmin  # noqa: F401  (registers the self-registered clients)
from .admin_device import DeviceAuthorizationAdmin  # noqa: F401  registers the device requests screen
from .admin_dpop import ClientDPoPPolicyAdmin  # noqa: F401  registers the client DPoP policy screen
from .admin_filters import (
    ActorFilter,
    AgentStatusFilter,
    CappedCountPaginator,
    ClientFilter,
    EventFilter,
    GrantStatusFilter,
    UserFilter,
    parse_user_pk,
)
from .admin_forms import AgentForm, show_secret
from .admin_tokens import HistoryAdmin, ReadOnlyAdmin  # also registers the issued-token screen
from .audit import client_ip
from .models import Agent, AgentGrant, AuditEvent, IssuedToken


def shortened(value: str) -> str:
    """A long id cut to 8 characters (whole in the tooltip); search and filters take it whole."""
    if not value:
        return "-"
    shown = value if len(value) <= 12 else value[:8] + "…"
    return format_html('<code title="{}">{}</code>', value, shown)


def changelist_url(model: type[Model], **params: Any) -> str:
    url = reverse(f"admin:django_agent_obo_{model._meta.model_name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


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


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only for everyone, superusers included: no add, change or delete (SPEC §8)."""

    # The actor first after what happened: the column this screen is for stays in view at
    # 1280 px; long values wrap (change_list.html) and the jti is shortened (full on hover).
    list_display = (
        "at",
        "event",
        "outcome",
        "actor_link",
        "user_link",
        "short_client_id",
        "reason",
        "scope",
        "short_jti",
        "ip",
    )
    list_filter = (EventFilter, "outcome", ActorFilter, ClientFilter, UserFilter)
    search_fields = ("jti",)
    search_help_text = "Exact token jti, actor id, client id or username."
    date_hierarchy = "at"
    sortable_by = ("at",)
    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = None

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[AuditEvent], search_term: str
    ) -> tuple[QuerySet[AuditEvent], bool]:
        """Exact matches only, each on an indexed column (``LIKE '%…%'`` would scan); the
        username is resolved first, as a subquery inside the OR would defeat the indexes."""
        term = search_term.strip()
        if not term:
            return queryset, False
        User = get_user_model()
        user_ids = list(
            User._default_manager.filter(**{User.USERNAME_FIELD: term}).values_list("pk", flat=True)
        )
        match = Q(jti=term) | Q(actor_id=term) | Q(client_id=term)
        if user_ids:
            match |= Q(user__in=user_ids)
        return queryset.filter(match), False

    @admin.display(description="user")
    def user_link(self, event: AuditEvent) -> str:
        if event.user_id is None:
            return event.username or "-"
        return format_html(
            '<a href="{}">{}</a>', changelist_url(AuditEvent, user=event.user_id), event.username
        )

    @admin.display(description="actor")
    def actor_link(self, event: AuditEvent) -> str:
        if not event.actor_id:
            return "-"
        chain = " ← ".join(event.actor_chain[1:])
        return format_html(
            '<a href="{}">{}</a>{}',
            changelist_url(AuditEvent, actor=event.actor_id),
            event.actor_id,
            f" (for {chain})" if chain else "",
        )

    @admin.display(description="jti")
    def short_jti(self, event: AuditEvent) -> str:
        return shortened(event.jti)

    @admin.display(description="client id")
    def short_client_id(self, event: AuditEvent) -> str:
        return shortened(event.client_id)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.user_timeline_view)
        return [
            path("user/<str:user_id>/timeline/", view, name="django_agent_obo_auditevent_user_timeline"),
            *super().get_urls(),
        ]

    def user_timeline_view(self, request: HttpRequest, user_id: str) -> HttpResponse:
        if not (
            self.has_view_permission(request) and request.user.has_perm("django_agent_obo.view_agentgrant")
        ):
            raise PermissionDenied
        pk = parse_user_pk(user_id)  # an integer, a UUID, ...: whatever the user model uses
        if pk is None:
            raise Http404
        user = get_object_or_404(get_user_model()._default_manager, pk=pk)
        data = timeline.build(
            AuditEvent.objects.filter(user=user),
            AgentGrant.objects.filter(user=user),
            IssuedToken.objects.filter(user=user, kind=IssuedToken.KIND_DELEGATED),
            counterpart="actor_id",
            before=request.GET.get("before"),
            failures_only=request.GET.get("outcome") == AuditEvent.FAILURE,
        )
        return render_timeline(
            request,
            self,
            f"Timeline of user {user.get_username()}",
            data,
            subject={"user": user},
            audit_url=changelist_url(AuditEvent, user=user.pk),
            grants_url=changelist_url(AgentGrant, user=user.pk),
        )


def render_timeline(
    request: HttpRequest,
    model_admin: admin.ModelAdmin,
    title: str,
    data: timeline.Timeline,
    **context: Any,
) -> HttpResponse:
    return TemplateResponse(
        request,
        "admin/django_agent_obo/timeline.html",
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.opts,
            "title": title,
            "timeline": data,
            "failures_only": request.GET.get("outcome") == AuditEvent.FAILURE,
            "summary_days": timeline.SUMMARY_DAYS,
            **context,
        },
    )
