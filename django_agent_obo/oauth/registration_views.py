"""DOT's RFC 7591/7592 registration views with our metadata checks in front (``registration``).

DOT does the registration; we only refuse, with ``invalid_client_metadata``, metadata it would
store as given or fail on (NUL bytes, grant types this site does not register), after DOT's
own permission or registration-token check so an outsider learns nothing first.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from oauth2_provider.models import get_application_model
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import DynamicClientRegistrationManagementView, DynamicClientRegistrationView

from ..registration import metadata_problem, note_registered


def _refusal(request: HttpRequest) -> JsonResponse | None:
    try:
        problem = metadata_problem(json.loads(request.body))
    except ValueError:
        return None  # not JSON: DOT answers invalid_client_metadata itself
    except RecursionError:
        problem = "Client metadata is nested too deeply."
    if problem is None:
        return None
    return JsonResponse({"error": "invalid_client_metadata", "error_description": problem}, status=400)


def _registration_permitted(request: HttpRequest) -> bool:
    classes = oauth2_settings.DCR_REGISTRATION_PERMISSION_CLASSES
    return bool(classes) and all(cls().has_permission(request) for cls in classes)


class AgentClientRegistrationView(DynamicClientRegistrationView):
    """``POST /o/register/`` (RFC 7591 §3.1)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if _registration_permitted(request):
            refusal = _refusal(request)
            if refusal is not None:
                return refusal
        response = super().post(request, *args, **kwargs)
        if response.status_code == 201:
            note_registered(
                get_application_model().objects.get(client_id=json.loads(response.content)["client_id"])
            )
        return response


class AgentClientConfigurationView(DynamicClientRegistrationManagementView):
    """``GET/PUT/DELETE /o/register/<client_id>/`` (RFC 7592 §2)."""

    def put(self, request: HttpRequest, client_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        auth = self._authenticate_registration_request(request, client_id)
        if not isinstance(auth, HttpResponse):
            refusal = _refusal(request)
            if refusal is not None:
                return refusal
        return super().put(request, client_id, *args, **kwargs)
