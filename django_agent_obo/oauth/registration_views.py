"""DOT's RFC 7591/7592 registration views with our metadata checks in front (``registration``).

DOT does the registration; we only refuse, with ``invalid_client_metadata``, metadata it would
store as given or fail on (NUL bytes, grant types this site does not register), after DOT's
own permission or registration-token check so an outsider learns nothing first. Every
registration, update and refusal is a ``client.registered`` row, written in the transaction
that stores the client.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from oauth2_provider.models import get_application_model
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import DynamicClientRegistrationManagementView, DynamicClientRegistrationView

from .. import audit
from ..models import AuditEvent, Event
from ..registration import metadata_problem, note_registered

# DOT's (and our) registration errors, RFC 7591 §3.2.2 / RFC 7592 §2, as audit reasons.
REASONS = {
    "invalid_client_metadata": "client_metadata_invalid",
    "invalid_redirect_uri": "redirect_uri_invalid",
    "invalid_software_statement": "client_metadata_invalid",
    "access_denied": "registration_not_permitted",
    "invalid_token": "registration_token_invalid",
    "not_found": "registration_client_unknown",
}


def _audit(request: HttpRequest, response: HttpResponse, client_id: str = "") -> None:
    """The ``client.registered`` row of a registration request (refused or not)."""
    if not oauth2_settings.DCR_ENABLED:
        return  # the endpoints are off: nothing was asked of them
    try:
        body = json.loads(response.content) if response.content else {}
    except ValueError:
        body = {}
    detail: dict[str, Any] = {"method": request.method}
    if response.status_code < 400:
        client_id = str(body.get("client_id", client_id))
        detail["client_name"] = str(body.get("client_name", ""))[:200]
        uris = body.get("redirect_uris") or []
        detail["redirect_hosts"] = sorted({urlsplit(str(uri)).hostname or "" for uri in uris})
        audit.record(
            Event.CLIENT_REGISTERED, client_id=client_id[:100], ip=audit.client_ip(request), detail=detail
        )
        return
    error = str(body.get("error", "invalid_request"))
    audit.record(
        Event.CLIENT_REGISTERED,
        outcome=AuditEvent.FAILURE,
        reason=REASONS.get(error, "client_metadata_invalid"),
        client_id=client_id[:100],
        ip=audit.client_ip(request),
        detail={**detail, "error": error, "status": response.status_code},
    )


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
        with transaction.atomic():
            response = self._register(request, *args, **kwargs)
            _audit(request, response)
        return response

    def _register(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
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

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)
            if request.method == "PUT" or response.status_code >= 400:
                _audit(request, response, str(kwargs.get("client_id", "")))
        return response

    def put(self, request: HttpRequest, client_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        auth = self._authenticate_registration_request(request, client_id)
        if not isinstance(auth, HttpResponse):
            refusal = _refusal(request)
            if refusal is not None:
                return refusal
        return super().put(request, client_id, *args, **kwargs)
