"""RFC 9728 protected-resource metadata: DOT's view, at the root and at each path-aware URL.

The root document (``/.well-known/oauth-protected-resource``) stays DOT's, configured by
``OAUTH2_PROTECTED_RESOURCE_*``. Each resource identifier of ``PROTECTED_RESOURCES`` also
gets its path-aware document (§3.1) whose ``resource`` is exactly the identifier its URL was
built from (§3.3), so a client that validates it against the URL it called finds a match.
``scopes_supported`` never lists ``offline_access``: asking for refresh tokens is a matter
for the authorization server (MCP SEP-2207), which lists it in its own metadata.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from oauth2_provider.views import OAuthProtectedResourceMetadataView

from ..resources import OFFLINE_ACCESS, ProtectedResource, by_metadata_path


class AgentResourceMetadataView(OAuthProtectedResourceMetadataView):
    """DOT's RFC 9728 document, per resource: its own ``get_*`` hooks, overridden per resource."""

    resource: ProtectedResource | None = None

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if "resource_path" in kwargs:
            self.resource = by_metadata_path(request.path)
            if self.resource is None:
                return JsonResponse(
                    {"error": "not_found", "error_description": "No protected resource is described here."},
                    status=404,
                )
        return super().get(request, *args, **kwargs)

    def get_resource(self, request: HttpRequest) -> str:
        if self.resource is not None:
            return self.resource.identifier
        return str(super().get_resource(request))

    def get_scopes_supported(self) -> list[str]:
        scopes = list(super().get_scopes_supported())
        if self.resource is not None and self.resource.scopes is not None:
            scopes = [s for s in self.resource.scopes if s in scopes]
        return [s for s in scopes if s != OFFLINE_ACCESS]

    def get_resource_name(self) -> str:
        if self.resource is not None and self.resource.name:
            return self.resource.name
        return str(super().get_resource_name())
