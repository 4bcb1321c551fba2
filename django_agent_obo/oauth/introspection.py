"""RFC 7662 introspection that knows our JWTs: the claims, ``act`` included (RFC 8693 §4.1).

DOT's endpoint answers with ``scope``, ``exp``, ``client_id`` and ``username`` from its
AccessToken row. For a token we signed this view answers from the verified token itself
(``sub``, ``aud``, ``iss``, ``iat``, ``jti``, ``client_id``, ``scope``, the full nested
``act``) and says ``active: false`` as soon as our record is revoked or expired.
Any other token (e.g. an opaque token from before this app) gets DOT's answer. Who may
introspect is DOT's rule: an authenticated client, or a bearer token with the
``introspection`` scope.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.http import JsonResponse
from oauth2_provider.views import IntrospectTokenView

from ..models import IssuedToken
from ..tokens import AccessTokenInvalid, verify_access_token


def _answer(data: dict[str, Any]) -> JsonResponse:
    response = JsonResponse(data)
    response["Cache-Control"] = "no-store"
    return response


class AgentIntrospectTokenView(IntrospectTokenView):
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
        except AccessTokenInvalid:
            return _answer({"active": False})
        if claims.get("jti") != record.jti:
            return _answer({"active": False})
        data: dict[str, Any] = {"active": True, **claims, "token_type": "Bearer"}
        if "cnf" in claims:  # RFC 9449 §6.2: the key the token is bound to, and its type
            data["token_type"] = "DPoP"
        if record.user is not None:
            data["username"] = record.user.get_username()
        return _answer(data)
