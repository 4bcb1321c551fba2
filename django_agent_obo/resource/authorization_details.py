"""RFC 9396 at a resource server: require that a request falls inside an approved object.

A token's ``authorization_details`` are on ``request.auth.authorization_details``. A resource
describes what a request asks for as one object of a type (``{"type": "calendar_event",
"actions": ["create"], "date_from": "2026-12-01", "date_to": "2026-12-01"}``) and asks whether an
approved object of that type contains it — by the type's ``contains`` rule when the site declares
the type in ``AUTHORIZATION_DETAILS_TYPES``, else the generic rule.

* :func:`require_detail` ``(info, detail, *, required=False)``: raises :class:`Denied` (403);
* :func:`detail_required` ``(build, *, required=False)``: the same as a view decorator, placed
  under ``@token_required`` (``build(request)`` gives the object, or None when the request
  asks for nothing of that kind);
* DRF: ``django_agent_obo.contrib.rest_framework.WithinAuthorizationDetails(build)``.

A token carrying no object of the type passes (its scopes alone decide) unless ``required``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse

from ..authorization_details import covers
from .challenges import challenge_response
from .policy import Denied
from .request import token_info
from .validation import AccessTokenInfo

Detail = Mapping[str, Any]
DetailBuilder = Callable[[Any], Detail | None]


def require_detail(info: AccessTokenInfo, detail: Detail, *, required: bool = False) -> None:
    """Raise :class:`Denied` unless ``detail`` falls inside an approved object of its type."""
    name = detail.get("type")
    approved = [d for d in info.authorization_details if d.get("type") == name]
    if not approved:
        if required:
            raise Denied(
                "access_denied",
                "authorization_details_missing",
                f"This request needs authorization_details of type {name}.",
            )
        return
    if not covers(approved, detail):
        raise Denied(
            "access_denied",
            "authorization_details_exceeded",
            "This request is outside the authorization_details the user approved.",
        )


def detail_required(
    build: DetailBuilder, *, required: bool = False
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A view decorator over :func:`require_detail`; put it under ``@token_required``."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            info = token_info(request)
            if info is None:
                return challenge_response(request, None)
            detail = build(request)
            if detail is not None:
                try:
                    require_detail(info, detail, required=required)
                except Denied as denied:
                    return challenge_response(request, denied)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
