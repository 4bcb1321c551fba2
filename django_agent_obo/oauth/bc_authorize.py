"""The backchannel authentication endpoint, ``/o/bc-authorize/`` (OpenID CIBA Core 1.0 §7).

An authenticated confidential client asks for a user's approval without a browser: the
user is named by ``login_hint`` (the adapter resolves it), the agent by ``requested_actor``
(checked as at the authorization endpoint). The answer is ``auth_req_id``, ``expires_in``
and ``interval`` (§7.3); every refusal is a §13 error with an audit row.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import View
from oauth2_provider.compat import login_not_required
from oauth2_provider.oauth2_backends import get_oauthlib_core
from oauth2_provider.settings import oauth2_settings
from oauthlib.common import Request as OauthlibRequest

from .. import audit, authorization_details, backchannel
from ..adapter import DelegationRefused, get_adapter
from ..conf import agent_obo_settings
from ..models import Agent, AuditEvent, BackchannelClient, Event
from ..refusals import Refusal
from . import throttle
from .authorize import check_approved

SINGLE_VALUED = (
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "scope",
    "login_hint",
    "login_hint_token",
    "id_token_hint",
    "binding_message",
    "user_code",
    "requested_expiry",
    "requested_actor",
    "authorization_details",
    "client_notification_token",
)
BINDING_MESSAGE_MAX = 100
STATUS = {"invalid_client": 401, "access_denied": 403}


class Refused(Refusal):
    """A CIBA §13 error response: ``error`` for the client, ``reason`` for the audit row."""

    def __init__(self, error: str, reason: str, description: str) -> None:
        super().__init__(reason, description, error=error)


def _printable(value: str) -> bool:
    return value.isprintable()


def _basic_header_ok(request: HttpRequest) -> bool:
    """A Basic header that decodes to text without NUL (else: not even looked up)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header.lower().startswith("basic "):
        return True
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    return "\x00" not in decoded


@method_decorator([csrf_exempt, login_not_required, never_cache], name="dispatch")
@method_decorator(
    sensitive_post_parameters("client_secret", "client_assertion", "client_notification_token"),
    name="post",
)
class BackchannelAuthenticationView(View):
    """``POST /o/bc-authorize/`` (CIBA §7.1); the context of a refusal is kept for its audit row."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        self.facts: dict[str, Any] = {"client_id": "", "user": None, "chain": [], "scope": ""}
        try:
            created = self._handle(request)
        except Refused as refusal:
            return self._refuse(request, refusal)
        response = JsonResponse(
            {
                "auth_req_id": created.auth_req_id,
                "expires_in": created.expires_in,
                "interval": created.interval,
            }
        )
        response["Cache-Control"] = "no-store"
        return response

    def _handle(self, request: HttpRequest) -> backchannel.Created:
        self._screen(request)
        client = self._authenticate(request)
        self.facts["client_id"] = client.client_id
        if not get_adapter().may_use_backchannel(client):
            raise Refused(
                "unauthorized_client", "backchannel_not_allowed", "This client may not use this endpoint."
            )
        try:  # REGISTRATION_REQUIRES_APPROVAL, as at the authorization and device endpoints
            check_approved(client)
        except DelegationRefused as refusal:
            raise Refused(refusal.error, refusal.reason, refusal.description) from refusal
        params = request.POST
        mode, notification_token = self._delivery(client, params.get("client_notification_token", ""))
        scopes = self._scopes(request, client, params.get("scope", ""))
        user = self._user(params, client)
        binding_message = params.get("binding_message", "")
        if len(binding_message) > BINDING_MESSAGE_MAX or not _printable(binding_message):
            raise Refused(
                "invalid_binding_message",
                "binding_message_invalid",
                f"binding_message must be printable text of at most {BINDING_MESSAGE_MAX} characters.",
            )
        if params.get("user_code"):
            raise Refused("invalid_request", "user_code_unsupported", "user_code is not supported here.")
        expires_in = self._expiry(params.get("requested_expiry"))
        agent = self._agent(params.get("requested_actor"), client, scopes, user)
        try:  # RFC 9396, checked as at the authorization endpoint (the agent's types included)
            details = authorization_details.parse(params.get("authorization_details"), agent=agent) or None
        except authorization_details.AuthorizationDetailsRefused as refusal:
            raise Refused(refusal.error, refusal.reason, refusal.description) from refusal
        if backchannel.pending_count(user) >= int(agent_obo_settings.BACKCHANNEL_MAX_PENDING_PER_USER):
            raise Refused(
                "access_denied", "too_many_pending", "Too many requests wait for this user's answer."
            )
        return backchannel.create(
            application=client,
            user=user,
            agent=agent,
            scopes=scopes,
            binding_message=binding_message,
            authorization_details=details,
            expires_in=expires_in,
            delivery_mode=mode,
            client_notification_token=notification_token,
            ip=audit.client_ip(request),
        )

    # --- the steps -------------------------------------------------------------------------

    def _screen(self, request: HttpRequest) -> None:
        """What is refused unread: repeats (CIBA §7.1), NUL bytes, oversize values, floods."""
        self.facts["client_id"] = request.POST.get("client_id", "")[:100].replace("\x00", "")
        over, first = throttle.flooded("bc-authorize", request)
        if over:
            self.facts["quiet"] = not first  # one audit row per address and window
            raise Refused("too_many_requests", "rate_limited", "Too many requests; retry later.")
        limit = int(agent_obo_settings.TOKEN_PARAMETER_MAX_BYTES)
        for name, values in request.POST.lists():
            if len(values) > 1 and name in SINGLE_VALUED:
                raise Refused("invalid_request", "duplicate_parameter", f"Duplicate {name} parameter.")
            if any("\x00" in v for v in values) or "\x00" in name:
                raise Refused("invalid_request", "nul_byte", "A parameter contains a NUL byte.")
            if any(len(v) > limit for v in values):
                raise Refused("invalid_request", "parameter_too_large", "A parameter is too large.")
        if not _basic_header_ok(request):
            raise Refused("invalid_client", "client_auth_malformed", "Malformed client authentication.")

    def _authenticate(self, request: HttpRequest) -> Any:
        """Client authentication exactly as at the token endpoint: the validator's own."""
        core = get_oauthlib_core()
        uri, method, body, headers = core._extract_params(request)
        oauth_request = OauthlibRequest(uri, method, body, headers)
        validator = core.server.request_validator
        if not validator.authenticate_client(oauth_request) or oauth_request.client is None:
            raise Refused("invalid_client", "client_authentication_failed", "Client authentication failed.")
        self.oauth_request = oauth_request
        return oauth_request.client

    def _delivery(self, client: Any, notification_token: str) -> tuple[str, str]:
        """Poll unless the client registered ping; ping needs its bearer token (CIBA §7.1)."""
        registration = BackchannelClient.objects.filter(application=client).first()
        if registration is None or registration.token_delivery_mode != BackchannelClient.MODE_PING:
            return BackchannelClient.MODE_POLL, ""
        if not notification_token:
            raise Refused(
                "invalid_request",
                "client_notification_token_missing",
                "client_notification_token is required in ping mode.",
            )
        if len(notification_token) > 1024 or not notification_token.isprintable():
            raise Refused(
                "invalid_request",
                "client_notification_token_invalid",
                "client_notification_token is invalid.",
            )
        return BackchannelClient.MODE_PING, notification_token

    def _scopes(self, request: HttpRequest, client: Any, raw: str) -> list[str]:
        scopes = list(dict.fromkeys(raw.split()))
        self.facts["scope"] = " ".join(scopes)[:1000]
        if not scopes:
            raise Refused("invalid_request", "scope_missing", "scope is required.")
        if oauth2_settings.OIDC_ENABLED and "openid" not in scopes:
            # CIBA §7.1: an OpenID Provider's requests carry openid; elsewhere it is optional.
            raise Refused("invalid_scope", "openid_scope_missing", "scope must include openid.")
        validator = get_oauthlib_core().server.request_validator
        if not validator.validate_scopes(client.client_id, scopes, client, self.oauth_request):
            raise Refused("invalid_scope", "scope_unknown", "A requested scope is not available.")
        return scopes

    def _user(self, params: Any, client: Any) -> Any:
        if params.get("login_hint_token") or params.get("id_token_hint"):
            raise Refused("invalid_request", "hint_unsupported", "Only login_hint identifies the user here.")
        hint = params.get("login_hint", "")
        if not hint:
            raise Refused("invalid_request", "login_hint_missing", "login_hint is required.")
        user = get_adapter().resolve_login_hint(hint[:255], client)
        if user is None:
            raise Refused("unknown_user_id", "unknown_user_id", "No user is known by that login_hint.")
        self.facts["user"] = user
        return user

    def _expiry(self, raw: str | None) -> int:
        """``requested_expiry`` in seconds (CIBA §7.1), honoured up to the site's maximum."""
        default = int(agent_obo_settings.BACKCHANNEL_EXPIRES_IN_SECONDS)
        maximum = int(agent_obo_settings.BACKCHANNEL_MAX_EXPIRES_IN_SECONDS)
        if raw is None or raw == "":
            return min(default, maximum)
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or int(raw) < 1:
            raise Refused(
                "invalid_request", "requested_expiry_invalid", "requested_expiry is a positive integer."
            )
        return min(int(raw), maximum)

    def _agent(self, actor_id: str | None, client: Any, scopes: list[str], user: Any) -> Agent | None:
        if actor_id is None:
            return None
        self.facts["chain"] = [actor_id[:255]]
        try:
            return get_adapter().resolve_requested_actor(actor_id, client, scopes, user)
        except DelegationRefused as refusal:
            raise Refused(refusal.error, refusal.reason, refusal.description) from refusal

    # --- refusals ----------------------------------------------------------------------------

    def _refuse(self, request: HttpRequest, refusal: Refused) -> HttpResponse:
        with transaction.atomic():
            if self.facts.get("quiet"):
                return self._error(refusal)
            audit.record(
                Event.BACKCHANNEL_REQUESTED,
                outcome=AuditEvent.FAILURE,
                reason=refusal.reason,
                user=self.facts["user"],
                client_id=self.facts["client_id"],
                actor_chain=self.facts["chain"],
                scope=self.facts["scope"],
                ip=audit.client_ip(request),
                detail={"error": refusal.error},
            )
        return self._error(refusal)

    def _error(self, refusal: Refused) -> HttpResponse:
        status = STATUS.get(refusal.error, 400)
        if refusal.reason == "rate_limited":
            status = 429
        response = JsonResponse(
            {"error": refusal.error, "error_description": refusal.description}, status=status
        )
        response["Cache-Control"] = "no-store"
        if status == 401:
            response["WWW-Authenticate"] = 'Basic realm="oauth2"'
        return response
