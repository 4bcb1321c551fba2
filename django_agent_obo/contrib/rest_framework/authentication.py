"""``AgentOBOAuthentication``: DRF authentication with our locally validated access tokens."""

from __future__ import annotations

from typing import Any

from django.utils.functional import SimpleLazyObject
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from ...resource.challenges import Failure, RequestError, error_body, www_authenticate
from ...resource.request import RESULT_ATTR, audit_access, authenticate
from ...resource.validation import AccessTokenInfo, TokenError


class MalformedAuthorization(exceptions.APIException):
    """RFC 6750 §3.1 ``invalid_request``: 400 with the challenge."""

    status_code = 400
    default_code = "invalid_request"
    auth_header: str | None = None


class AgentOBOAuthentication(BaseAuthentication):
    """``authenticate()`` returns ``(user, AccessTokenInfo)`` for a valid bearer token, None
    without one, and raises ``AuthenticationFailed`` (401 ``invalid_token``) for a bad one.

    ``request.user`` is the token's user, looked up only when used (``AnonymousUser`` for
    an agent's or a client's own token); ``request.auth`` carries ``sub``, ``client_id``,
    ``actor``, ``actor_chain``, ``scopes``, and ``proven`` for a DPoP token with its proof
    (RFC 9449 §7; ``Authorization: DPoP`` is accepted as well as ``Bearer``). List it first:
    DRF takes the 401 challenge from the first authentication class.
    """

    def authenticate(self, request: Request) -> tuple[Any, AccessTokenInfo] | None:
        django_request = request._request
        try:
            info = authenticate(django_request)
        except RequestError as exc:
            audit_access(django_request, None, exc)
            malformed = MalformedAuthorization(detail=error_body(exc), code=exc.error)
            malformed.auth_header = www_authenticate(django_request, exc)
            raise malformed from exc
        except TokenError as exc:
            audit_access(django_request, None, exc)
            raise exceptions.AuthenticationFailed(detail=error_body(exc), code=exc.error) from exc
        if info is None:
            return None
        audit_access(django_request, info, None)
        return SimpleLazyObject(lambda: info.user), info

    def authenticate_header(self, request: Request) -> str:
        challenge = www_authenticate(request._request, remembered_failure(request))
        return challenge or "Bearer"


def remembered_failure(request: Request) -> Failure:
    remembered = getattr(request._request, RESULT_ATTR, None)
    error = remembered[1] if remembered is not None else None
    return error if isinstance(error, TokenError | RequestError) else None
