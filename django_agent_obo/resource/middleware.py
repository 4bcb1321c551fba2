"""``AccessTokenMiddleware``: authenticate bearer tokens on every request, refuse nothing.

Like Django's ``AuthenticationMiddleware`` with ``login_required``: this middleware sets
``request.auth`` (an :class:`~django_agent_obo.resource.validation.AccessTokenInfo`) and
``request.user`` (the token's user, resolved on first use) when a valid token is sent;
``@token_required`` or the DRF permission classes enforce. A bad token is remembered, so
a protected view answers ``invalid_token`` without validating it again. Place it after
``AuthenticationMiddleware``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .challenges import RequestError
from .request import attach, authenticate
from .validation import TokenError


class AccessTokenMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            info = authenticate(request)
        except (TokenError, RequestError):
            info = None
        if info is not None:
            attach(request, info)
        return self.get_response(request)
