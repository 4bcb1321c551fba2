"""``AccessTokenMiddleware``: authenticate bearer tokens on API views, refuse nothing.

Like Django's ``AuthenticationMiddleware`` with ``login_required``: this middleware sets
``request.auth`` (an :class:`~django_agent_obo.resource.validation.AccessTokenInfo`) and
``request.user`` (the token's user, resolved on first use) when a valid token is sent;
``@token_required`` or the DRF permission classes enforce. A bad token is remembered, so
a protected view answers ``invalid_token`` without validating it again. Place it after
``AuthenticationMiddleware``.

Only views that authenticate by header, i.e. CSRF-exempt ones (``@token_required``, DRF,
MCP, a view marked ``@csrf_exempt``), see the token's user. A CSRF-protected view is a page
of the browser session (the admin, ``/agents/``, the consent page): an access token of any
scope sent there, e.g. by the agent holding it, never signs its user in (RFC 6750 §5.2:
a token is for the resource it was issued for, not the user's account).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from .challenges import RequestError
from .request import attach, authenticate
from .validation import TokenError


class AccessTokenMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Callable[..., Any], *args: Any) -> None:
        if not getattr(view, "csrf_exempt", False):
            return  # a page of the session (see the module docstring)
        try:
            info = authenticate(request)
        except (TokenError, RequestError):
            info = None
        if info is not None:
            attach(request, info)
