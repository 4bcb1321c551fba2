"""The token endpoint: DOT's view run in one transaction, with early refusals and audit."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any
from urllib.parse import unquote_plus

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider.models import get_access_token_model
from oauth2_provider.signals import app_authorized
from oauth2_provider.views import TokenView
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from .. import audit
from ..conf import agent_obo_settings
from ..issuance import Issuance
from ..models import AuditEvent, Event
from ..retry import atomic_with_retry
from . import dot_adapter, errors, throttle, unstorable

# Parameters that must not repeat: DOT hands oauthlib only the last of repeated values.
SINGLE_VALUED_TOKEN = (
    "grant_type",
    "code",
    "code_verifier",
    "redirect_uri",
    "scope",
    "client_id",
    "actor_token",
    "actor_token_type",
    "refresh_token",
    "subject_token",
    "subject_token_type",
    "requested_token_type",
    "audience",
    "client_assertion",
    "client_assertion_type",
    "auth_req_id",
    "device_code",
    "authorization_details",
)


def _basic_client_id(request: HttpRequest) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header.lower().startswith("basic "):
        return ""
    try:
        decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return unquote_plus(decoded.partition(":")[0])[:100]


def _error_json(status: int, error: str, description: str) -> HttpResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _stored(access_token: str, current: Issuance | None) -> Any:
    """DOT's row of an access token this request issued."""
    checksum = hashlib.sha256(access_token.encode("utf-8")).hexdigest()
    row = current.access_token if current is not None else None
    if row is None or row.token_checksum != checksum:  # e.g. DOT handed back an earlier token
        row = get_access_token_model().objects.get(token_checksum=checksum)
    return row


class AgentTokenView(TokenView):
    """DOT's token endpoint run in one transaction: the code claim, the token and its audit
    row commit together, or nothing does (NOTES-DOT §4). Each attempt has its own
    :class:`~django_agent_obo.issuance.Issuance`; a refusal is audited after the rollback,
    then the revocations it calls for are made."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        client_id = (request.POST.get("client_id") or _basic_client_id(request))[:100]
        current = Issuance(ip=audit.client_ip(request), client_id=client_id)
        early = self._refuse_early(request, current)
        if early is not None:
            return early

        def attempt() -> tuple[HttpResponse, Issuance]:
            fresh = Issuance(ip=current.ip, client_id=client_id)
            dot_adapter.attach(request, fresh)
            try:
                # DOT's post minus its device-code branch (oauth/dot_adapter.py, device flow 5.)
                response = self.authorization_flow_token_response(request, *args, **kwargs)
            except OAuth2Error as error:  # raised while storing the token: oauthlib lets it through
                response = _error_json(error.status_code, error.error, error.description or error.error)
            if response.status_code != 200 and not fresh.keep_writes:
                transaction.set_rollback(True)
            return response, fresh

        response, outcome = atomic_with_retry(attempt)
        outcome.refused = response.status_code >= 400
        wait = throttle.count_after(outcome)
        if agent_obo_settings.DPOP_NONCE_REQUIRED and not response.has_header("DPoP-Nonce"):
            response["DPoP-Nonce"] = errors.nonces().current()  # RFC 9449 §8.2: a fresh one
        if response.status_code >= 400:
            if wait is not None:
                response = _error_json(
                    429, "too_many_requests", "Too many failed token requests; retry later."
                )
                outcome.retry_after = wait
            if outcome.retry_after is not None:
                response["Retry-After"] = str(outcome.retry_after)
            if outcome.first_over_limit:  # one audit row per counter and window, not one per request
                self._audit_refusal(request, response, outcome)
            outcome.compensate()
        return response

    @method_decorator(
        sensitive_post_parameters(
            "client_secret",
            "password",
            "code",
            "code_verifier",
            "actor_token",
            "subject_token",
            "refresh_token",
            "client_assertion",
            "device_code",
        )
    )
    def authorization_flow_token_response(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        """DOT's, except that ``app_authorized`` gets the token row the validator just
        wrote, not one read back by checksum."""
        _, headers, body, status = self.create_token_response(request)
        if status == 200:
            access_token = json.loads(body).get("access_token")
            if access_token is not None:
                current = dot_adapter.attached(request)
                app_authorized.send(sender=self, request=request, token=_stored(access_token, current))
        response = HttpResponse(content=body, status=status)
        for name, value in headers.items():
            response[name] = value
        return response

    def _refuse_early(self, request: HttpRequest, current: Issuance) -> HttpResponse | None:
        """Refusals decided from the raw request, before oauthlib sees it."""
        # Rate limits: throttle.py, once it is known whether a client authenticated.
        if unstorable.first_unstorable(request) is not None:
            current.reason = "parameter_control_character"
            response = _error_json(400, "invalid_request", unstorable.DESCRIPTION)
            self._audit_refusal(request, response, current)
            return response
        basic_id, body_id = _basic_client_id(request), request.POST.get("client_id")
        if basic_id and body_id and basic_id != body_id:
            # oauthlib would call this a server_error; it is the client's mistake (RFC 6749 §2.3).
            current.reason = "client_id_mismatch"
            response = _error_json(
                400, "invalid_request", "client_id does not match the authenticated client."
            )
            self._audit_refusal(request, response, current)
            return response
        for name, values in request.POST.lists():
            if len(values) > 1 and name in SINGLE_VALUED_TOKEN:
                # RFC 6749 §3.2: parameters MUST NOT be included more than once.
                current.reason = "duplicate_parameter"
                response = _error_json(400, "invalid_request", f"Duplicate {name} parameter.")
            elif any(len(v) > agent_obo_settings.TOKEN_PARAMETER_MAX_BYTES for v in values):
                current.reason = "parameter_too_large"
                response = _error_json(400, "invalid_request", "A parameter is too large.")
            else:
                continue
            self._audit_refusal(request, response, current)
            return response
        return None

    def _audit_refusal(self, request: HttpRequest, response: HttpResponse, current: Issuance) -> None:
        try:
            error = str(json.loads(response.content).get("error", "error"))
        except ValueError:
            error = "error"
        with transaction.atomic():
            audit.record(
                Event.TOKEN_REFUSED,
                outcome=AuditEvent.FAILURE,
                reason=current.reason or error,
                user=current.user,
                client_id=current.client_id,
                actor_chain=current.named_actors,
                scope=request.POST.get("scope", "")[:1000],
                ip=current.ip,
                detail={"error": error, "grant_type": request.POST.get("grant_type", "")[:100]},
            )
