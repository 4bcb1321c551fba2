"""Admin screens of asynchronous approval (CIBA): clients' delivery modes, requests (read-only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import BackchannelClient, BackchannelRequest


@admin.register(BackchannelClient)
class BackchannelClientAdmin(admin.ModelAdmin):
    """Register a client for ping mode (CIBA §4): its notification endpoint is checked on save."""

    list_display = ("application", "token_delivery_mode", "client_notification_endpoint")
    raw_id_fields = ("application",)


@admin.register(BackchannelRequest)
class BackchannelRequestAdmin(admin.ModelAdmin):
    """Requests as history: nobody edits a decision here (the user decides on /agents/requests/)."""

    list_display = ("pk", "user", "agent", "application", "status", "created_at", "expires_at")
    list_filter = ("status", "delivery_mode")
    list_select_related = ("user", "agent", "application")
    exclude = ("handle", "client_notification_token")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # history; expired requests go with prune_expired
