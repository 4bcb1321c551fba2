"""The admin's view of device requests (RFC 8628), read-only: the user answers on the device page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import DeviceAuthorization


@admin.register(DeviceAuthorization)
class DeviceAuthorizationAdmin(admin.ModelAdmin):
    """Device requests as history: who asked (client, agent), who answered, and whether a token
    was issued. Nobody edits a decision here; the codes themselves are never shown."""

    list_display = ("pk", "user", "agent", "application", "status", "expires_at", "redeemed_at")
    list_filter = ("device_grant__status",)
    list_select_related = ("device_grant__user", "agent", "application")
    fields = readonly_fields = (
        *("application", "agent", "user", "status", "agent_grant", "authorization_details"),
        *("dpop_jkt", "interval", "expires_at", "redeemed_at"),
    )

    @admin.display(description="user")
    def user(self, obj: DeviceAuthorization) -> Any:
        return obj.device_grant.user

    @admin.display(description="status")
    def status(self, obj: DeviceAuthorization) -> str:
        return str(obj.device_grant.status)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # history; expired requests go with prune_expired
