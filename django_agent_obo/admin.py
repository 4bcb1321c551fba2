"""Admin screens for agents, grants and the (read-only) audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from . import delegation
from .models import Agent, AgentGrant, AuditEvent


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ("actor_id", "name", "publisher", "is_active", "valid_until")
    list_filter = ("is_active",)
    search_fields = ("actor_id", "name", "publisher")
    filter_horizontal = ("allowed_clients", "accepts_delegation_from")
    readonly_fields = ("is_active", "created_at", "updated_at")
    actions = ["disable_agents", "enable_agents"]

    @admin.action(description="Disable (kill switch): stop every token of the selected agents now")
    def disable_agents(self, request: HttpRequest, queryset: QuerySet[Agent]) -> None:
        revoked = sum(
            delegation.set_agent_active(a, False, by=request.user, ip=request.META.get("REMOTE_ADDR"))
            for a in queryset
        )
        self.message_user(
            request, f"Disabled {queryset.count()} agent(s); {revoked} token(s) revoked.", messages.WARNING
        )

    @admin.action(description="Enable the selected agents")
    def enable_agents(self, request: HttpRequest, queryset: QuerySet[Agent]) -> None:
        for agent in queryset:
            delegation.set_agent_active(agent, True, by=request.user, ip=request.META.get("REMOTE_ADDR"))
        self.message_user(request, f"Enabled {queryset.count()} agent(s).")


@admin.register(AgentGrant)
class AgentGrantAdmin(admin.ModelAdmin):
    list_display = ("user", "agent", "application", "scope", "created_at", "expires_at", "revoked_at")
    list_filter = ("agent", "revoked_at")
    search_fields = ("user__username", "agent__actor_id")
    readonly_fields = [f.name for f in AgentGrant._meta.fields]
    actions = ["revoke_grants"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke the selected grants and their tokens")
    def revoke_grants(self, request: HttpRequest, queryset: QuerySet[AgentGrant]) -> None:
        for grant in queryset:
            delegation.revoke_grant(
                grant, by=request.user, reason="admin_revoked", ip=request.META.get("REMOTE_ADDR")
            )
        self.message_user(request, f"Revoked {queryset.count()} grant(s).")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "event", "outcome", "reason", "username", "client_id", "actor_id", "scope", "jti")
    list_filter = ("event", "outcome")
    search_fields = ("=jti", "username", "actor_id", "client_id")
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
