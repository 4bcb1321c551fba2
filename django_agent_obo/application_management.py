"""DOT's application management pages (``/o/applications/``), for staff only.

DOT lets every signed-in user register a client and choose its ``client_id``. Client tokens no
longer share the users' ``sub`` namespace (``tokens.client_subject``), but a site still should not
hand client registration to every account: :func:`staff_only_management` wraps DOT's application
views so that only staff reach them (others get 403, anonymous users the login page), and the
system check ``agent_obo.W012`` warns when a site mounts them for everyone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver

STAFF_ONLY_ATTR = "agent_obo_staff_only"


def staff_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """``view`` for active staff users; 403 for other signed-in users, login for anonymous ones."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (user.is_active and user.is_staff):
            raise PermissionDenied("Client registration is for staff.")
        return view(request, *args, **kwargs)

    setattr(wrapped, STAFF_ONLY_ATTR, True)
    return wrapped


def is_application_view(view_class: Any) -> bool:
    """Whether a view class is one of DOT's application management views (or a subclass)."""
    from oauth2_provider.views import application

    bases = (application.ApplicationRegistration, application.ApplicationOwnerIsUserMixin)
    return isinstance(view_class, type) and issubclass(view_class, bases)


def staff_only_management(patterns: Iterable[Any]) -> list[Any]:
    """DOT's ``management_urlpatterns`` with the application views wrapped by :func:`staff_only`
    (the authorized-token pages, where users see their own tokens, stay as they are)."""
    result = []
    for pattern in patterns:
        if isinstance(pattern, URLPattern) and is_application_view(
            getattr(pattern.callback, "view_class", None)
        ):
            pattern = URLPattern(
                pattern.pattern, staff_only(pattern.callback), pattern.default_args, pattern.name
            )
        result.append(pattern)
    return result


def open_application_routes(patterns: Iterable[Any], prefix: str = "") -> Iterator[str]:
    """Routes serving DOT's application management to every signed-in user."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from open_application_routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            callback = pattern.callback
            if is_application_view(getattr(callback, "view_class", None)) and not getattr(
                callback, STAFF_ONLY_ATTR, False
            ):
                yield prefix + str(pattern.pattern)
