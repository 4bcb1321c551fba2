"""The admin screen of per-client DPoP policy (RFC 9449): which clients must bind their tokens.

DOT's Application admin is DOT's; this screen sits beside it instead of replacing it.
"""

from __future__ import annotations

from django.contrib import admin

from .models import ClientDPoPPolicy


@admin.register(ClientDPoPPolicy)
class ClientDPoPPolicyAdmin(admin.ModelAdmin):
    list_display = ("application", "require_dpop")
    list_filter = ("require_dpop",)
    search_fields = ("application__name", "application__client_id")
    raw_id_fields = ("application",)
