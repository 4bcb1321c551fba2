"""The admin's view of device requests (RFC 8628), read-only: the user answers on the device page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from .admin_tokens import ReadOnlyAdmin
from .models import DeviceAuthorization


@admin.register(DeviceAuthorization)
class DeviceAuthorizationAdmin(ReadOnlyAdmin):
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
