"""Admin screen for self-registered clients awaiting a decision (``REGISTRATION_REQUIRES_APPROVAL``)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .models import ClientApproval


@admin.register(ClientApproval)
class ClientApprovalAdmin(admin.ModelAdmin):
    list_display = (
        "client_name",
        "client_id",
        "source",
        "redirect_uris",
        "status",
        "created_at",
        "decided_by",
    )
    list_filter = ("status",)
    search_fields = ("application__name", "application__client_id")
    list_select_related = ("application", "decided_by")
    readonly_fields = ("application", "status", "created_at", "decided_at", "decided_by")
    actions = ("approve", "reject")

    @admin.display(description="client")
    def client_name(self, obj: ClientApproval) -> str:
        return str(obj.application.name or "(no name)")

    @admin.display(description="client id")
    def client_id(self, obj: ClientApproval) -> str:
        return str(obj.application.client_id)

    @admin.display(description="registered by")
    def source(self, obj: ClientApproval) -> str:
        return str(obj.application.get_registration_source_display())

    @admin.display(description="redirect URIs")
    def redirect_uris(self, obj: ClientApproval) -> str:
        return str(obj.application.redirect_uris)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def _decide(self, request: HttpRequest, queryset: QuerySet[ClientApproval], status: str) -> None:
        count = queryset.update(status=status, decided_at=timezone.now(), decided_by=request.user)
        self.message_user(request, f"{count} client(s) {status}.", messages.SUCCESS)

    @admin.action(description="Approve the selected clients", permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[ClientApproval]) -> None:
        self._decide(request, queryset, ClientApproval.APPROVED)

    @admin.action(description="Reject the selected clients", permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[ClientApproval]) -> None:
        self._decide(request, queryset, ClientApproval.REJECTED)
