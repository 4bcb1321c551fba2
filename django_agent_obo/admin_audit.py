"""The read-only audit trail and its per-user timeline (SPEC §8), and what the admin's
timeline screens share: links to filtered lists, shortened ids, the timeline page.

Built for a table of millions of rows: no full ``COUNT(*)``, no ``DISTINCT`` scans, sorting
only on the indexed time column (see ``admin_filters``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from . import timeline
from .admin_filters import (
    ActorFilter,
    CappedCountPaginator,
    ClientFilter,
    EventFilter,
    UserFilter,
    parse_user_pk,
)
from .admin_tokens import ReadOnlyAdmin
from .models import AgentGrant, AuditEvent, IssuedToken


def shortened(value: str) -> str:
    """A long id cut to 8 characters (whole in the tooltip); search and filters take it whole."""
    if not value:
        return "-"
    shown = value if len(value) <= 12 else value[:8] + "…"
    return format_html('<code title="{}">{}</code>', value, shown)


def changelist_url(model: type[Model], **params: Any) -> str:
    url = reverse(f"admin:django_agent_obo_{model._meta.model_name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


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
