"""RFC 7662 introspection that knows our JWTs: the claims, ``act`` included (RFC 8693 §4.1).

DOT's endpoint answers with ``scope``, ``exp``, ``client_id`` and ``username`` from its
AccessToken row. For a token we signed this view answers from the verified token itself
(``sub``, ``aud``, ``iss``, ``iat``, ``jti``, ``client_id``, ``scope``, the full nested
``act``) and says ``active: false`` as soon as our record is revoked or expired.
Any other token (e.g. an opaque token from before this app) gets DOT's answer. Who may call
is DOT's rule: an authenticated client, or a bearer token with the ``introspection`` scope.
Who learns anything is ours (RFC 7662 §4): the client the token was issued to, or a resource
server registered in ``AGENT_OBO["INTROSPECTION_RESOURCE_SERVERS"]`` for one of the token's
audiences; any other caller gets ``{"active": false}``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.compat import login_not_required
from oauth2_provider.models import get_access_token_model
from oauth2_provider.views import IntrospectTokenView
from oauthlib.common import Request as OauthlibRequest

from ..conf import agent_obo_settings
from ..jose import JWTRefused
from ..models import IssuedToken
from ..tokens import verify_access_token
from . import client_auth, unstorable


def _answer(data: dict[str, Any]) -> JsonResponse:
    response = JsonResponse(data)
    response["Cache-Control"] = "no-store"
    return response


def _refusal(description: str) -> JsonResponse:
    response = JsonResponse({"error": "invalid_request", "error_description": description}, status=400)
    response["Cache-Control"] = "no-store"
    return response


def served_audiences(caller: Any) -> set[str]:
    """The audiences a registered resource server may introspect tokens for."""
    registered = agent_obo_settings.INTROSPECTION_RESOURCE_SERVERS or {}
    return set(registered.get(getattr(caller, "client_id", None), ()))


def entitled(caller: Any, token_value: str) -> bool:
    """Whether ``caller`` may learn about the token: its own client, or a resource server in
    its audience (RFC 7662 §4). An unknown token is nobody's: the answer is inactive anyway."""
    if caller is None:
        return False
    checksum = hashlib.sha256(token_value.encode("utf-8")).hexdigest()
    record = (
        IssuedToken.objects.filter(token_checksum=checksum).values_list("application_id", "audience").first()
    )
    if record is not None:
        application_id, audience = record[0], list(record[1] or [])
    else:
        row = (
            get_access_token_model()
            .objects.filter(token_checksum=checksum)
            .values_list("application_id", "resource")
            .first()
        )
        if row is None:
            return True
        application_id, audience = row[0], list(row[1] or [])
    return application_id == caller.pk or bool(served_audiences(caller) & set(audience))


@method_decorator(csrf_exempt, name="dispatch")  # our dispatch replaces DOT's decorated one
@method_decorator(login_not_required, name="dispatch")
class AgentIntrospectTokenView(IntrospectTokenView):
    """DOT's introspection endpoint answering only callers entitled to the token."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if unstorable.first_unstorable(request) is not None:  # before any client lookup
            return _refusal(unstorable.DESCRIPTION)
        return super().dispatch(request, *args, **kwargs)

    def authenticate_client(self, request: HttpRequest) -> bool:
        """DOT's client authentication, keeping the client it authenticated (the caller)."""
        core = self.get_oauthlib_core()
        uri, http_method, body, headers = core._extract_params(request)
        oauthlib_request = OauthlibRequest(uri, http_method, body, headers)
        valid = bool(core.server.request_validator.authenticate_client(oauthlib_request))
        if valid:
            request.agent_obo_caller = oauthlib_request.client  # type: ignore[attr-defined]
        return valid

    def verify_request(self, request: HttpRequest) -> Any:
        """DOT's bearer-token path: the caller is the client of the ``introspection`` token."""
        valid, oauthlib_request = super().verify_request(request)
        if valid:
            access_token = getattr(oauthlib_request, "access_token", None)
            request.agent_obo_caller = getattr(access_token, "application", None)  # type: ignore[attr-defined]
        return valid, oauthlib_request

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._answer_caller(request, request.GET.get("token", None))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._answer_caller(request, request.POST.get("token", None))

    def _answer_caller(self, request: HttpRequest, token_value: str | None) -> HttpResponse:
        if token_value and not entitled(getattr(request, "agent_obo_caller", None), token_value):
            return _answer({"active": False})
        return self.get_token_response(token_value)

    def unauthenticated_response(self, request: Any, oauthlib_request: Any = None) -> Any:
        """A refused client assertion is ``invalid_client`` (RFC 7523 §3.2), not DOT's bare 403."""
        if any(name in request.POST for name in client_auth.ASSERTION_PARAMETERS):
            response = JsonResponse(
                {"error": "invalid_client", "error_description": "Client authentication failed."}, status=401
            )
            response["Cache-Control"] = "no-store"
            return response
        return super().unauthenticated_response(request, oauthlib_request)

    @staticmethod
    def get_token_response(token_value: str | None = None) -> Any:
        if not token_value:
            return IntrospectTokenView.get_token_response(None)
        checksum = hashlib.sha256(token_value.encode("utf-8")).hexdigest()
        record = IssuedToken.objects.select_related("user").filter(token_checksum=checksum).first()
        if record is None:
            return IntrospectTokenView.get_token_response(token_value)
        if not record.is_live():
            return _answer({"active": False})
        try:
            claims = verify_access_token(token_value)
        except JWTRefused:
            return _answer({"active": False})
        if claims.get("jti") != record.jti:
            return _answer({"active": False})
        data: dict[str, Any] = {"active": True, **claims, "token_type": "Bearer"}
        if "cnf" in claims:  # RFC 9449 §6.2: the key the token is bound to, and its type
            data["token_type"] = "DPoP"
        if record.user is not None:
            data["username"] = record.user.get_username()
        return _answer(data)
