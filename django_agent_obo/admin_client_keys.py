"""The admin screen where a client's public keys are registered for ``private_key_jwt``
(RFC 7523 §2.2); the model checks the JWK Set (public asymmetric keys, distinct kids)."""

from __future__ import annotations

from django.contrib import admin

from .models import ClientKeySet


@admin.register(ClientKeySet)
class ClientKeySetAdmin(admin.ModelAdmin):
    list_display = ("application", "updated_at")
    list_select_related = ("application",)
    raw_id_fields = ("application",)
    search_fields = ("application__client_id", "application__name")
    readonly_fields = ("created_at", "updated_at")
