"""``exception_handler``: DRF's own, plus the RFC 6750 challenge on scope denials.

Set ``REST_FRAMEWORK["EXCEPTION_HANDLER"]`` to it. A 403 caused by one of our
permissions then has the same JSON body as plain Django views, and a scope denial
carries ``WWW-Authenticate: Bearer error="insufficient_scope", scope=…, required_scope=…``
(DRF gives a 403 no challenge). Under ``&``/``|``/``~`` the answer describes the last of
our permissions that said no.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ...dpop import server_nonces
from ...resource.challenges import error_body, www_authenticate
from .authentication import remembered_failure
from .permissions import DENIAL_ATTR


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = drf_exception_handler(exc, context)
    request = context.get("request")
    if response is None or request is None:
        return response
    denial = getattr(request._request, DENIAL_ATTR, None)
    if isinstance(exc, exceptions.PermissionDenied) and denial is not None:
        response.data = error_body(denial)
        proven = bool(getattr(request.auth, "proven", False))
        challenge = www_authenticate(request._request, denial, proven=proven)
        if challenge:
            response["WWW-Authenticate"] = challenge
    if getattr(remembered_failure(request), "use_nonce", False):
        response["DPoP-Nonce"] = server_nonces("rs").current()  # RFC 9449 §9
    return response
