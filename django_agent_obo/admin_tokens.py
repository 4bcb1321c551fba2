"""The issued-token screen: every JWT by jti with its user, client, actor chain and lineage,
and a revoke action that cascades to everything exchanged from it (SPEC §4 "listed")."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from . import delegation
from .audit import client_ip
from .models import IssuedToken


class TokenStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("live", "live"), ("revoked", "revoked"), ("expired", "expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[IssuedToken]) -> QuerySet[IssuedToken]:
        now = timezone.now()
        if self.value() == "live":
            return queryset.filter(revoked_at__isnull=True, expires_at__gt=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        return queryset


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that are history: nobody adds, changes or deletes them here, superusers included
    (expired ones go with ``prune_expired`` or ``prune_audit``)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class HistoryAdmin(ReadOnlyAdmin):
    """History that can be revoked: the ``revoke`` action, allowed to whoever may change the model."""

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        opts = self.model._meta
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")


@admin.register(IssuedToken)
class IssuedTokenAdmin(HistoryAdmin):
    list_display = (
        "jti",
        "kind",
        "user",
        "application",
        "chain",
        "scope",
        "issued_at",
        "expires_at",
        "status",
    )
    list_select_related = ("user", "application")
    list_filter = (TokenStatusFilter, "kind", "agent")
    search_fields = ("=jti", "=agent__actor_id")
    date_hierarchy = "issued_at"
    ordering = ("-issued_at",)
    show_full_result_count = False
    readonly_fields = ("parent_link",)
    exclude = ("parent", "access_token", "refresh_token", "code_binding")
    actions = ["revoke_tokens"]

    @admin.display(description="actor chain (current first)")
    def chain(self, token: IssuedToken) -> str:
        return " ← ".join(token.actor_chain) or "—"

    @admin.display(description="parent")
    def parent_link(self, token: IssuedToken) -> str:
        if token.parent_id is None:
            return "—"
        return format_html(
            '<a href="../../{}/change/">{}</a>', token.parent_id, token.parent.jti if token.parent else ""
        )

    @admin.display(description="status")
    def status(self, token: IssuedToken) -> str:
        if token.revoked_at is not None:
            return "revoked"
        return "live" if token.is_live() else "expired"

    @admin.action(
        description="Revoke the selected tokens and everything exchanged from them", permissions=["revoke"]
    )
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[IssuedToken]) -> None:
        count = sum(
            delegation.revoke_token(token, reason="admin_revoked", ip=client_ip(request))
            for token in queryset.filter(revoked_at__isnull=True)
        )
        self.message_user(request, f"Revoked {count} token(s), descendants included.")
