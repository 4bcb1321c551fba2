"""Admin screens of asynchronous approval (CIBA): clients' delivery modes, requests (read-only)."""

from __future__ import annotations

from django.contrib import admin

from .admin_tokens import ReadOnlyAdmin
from .models import BackchannelClient, BackchannelRequest


@admin.register(BackchannelClient)
class BackchannelClientAdmin(admin.ModelAdmin):
    """Register a client for ping mode (CIBA §4): its notification endpoint is checked on save."""

    list_display = ("application", "token_delivery_mode", "client_notification_endpoint")
    raw_id_fields = ("application",)


@admin.register(BackchannelRequest)
class BackchannelRequestAdmin(ReadOnlyAdmin):
    """Requests as history: nobody edits a decision here (the user decides on /agents/requests/)."""

    list_display = ("pk", "user", "agent", "application", "status", "created_at", "expires_at")
    list_filter = ("status", "delivery_mode")
    list_select_related = ("user", "agent", "application")
    exclude = ("handle", "client_notification_token")
