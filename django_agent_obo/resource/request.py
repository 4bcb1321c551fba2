"""A Django request's bearer token (RFC 6750 §2.1), validated once per request, and the
optional ``resource.accessed`` audit row."""

from __future__ import annotations

import random
from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .. import audit
from ..conf import agent_obo_settings
from ..models import AuditEvent, Event
from .challenges import Failure, RequestError
from .proof import validate_request
from .validation import AccessTokenInfo, TokenError

RESULT_ATTR = "_agent_obo_token_result"


def bearer_token(request: HttpRequest) -> str | None:
    """The token of an ``Authorization: Bearer`` header; None when there is none.

    Only the header method is supported (RFC 9728 ``bearer_methods_supported: ["header"]``).
    """
    header = request.META.get("HTTP_AUTHORIZATION")
    if not header:
        return None
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    credentials = credentials.strip()
    if not credentials or any(ch.isspace() for ch in credentials):
        raise RequestError
    return credentials


def authenticate(request: HttpRequest, *, audience: list[str] | None = None) -> AccessTokenInfo | None:
    """The validated token of ``request`` (None without one); raises on a bad one.

    The outcome is remembered on the request (per ``audience``, see
    :func:`validate_access_token`), so middleware, decorator and DRF class validate a token
    at most once.
    """
    if audience is not None:
        remembered_for: dict[tuple[str, ...], Any] = request.__dict__.setdefault(RESULT_ATTR + "_aud", {})
        key = tuple(audience)
        if key not in remembered_for:
            remembered_for[key] = _validate(request, audience)
        remembered = remembered_for[key]
    else:
        remembered = getattr(request, RESULT_ATTR, None)
        if remembered is None:
            remembered = _validate(request, None)
            setattr(request, RESULT_ATTR, remembered)
    info, error = remembered
    if error is not None:
        raise error
    return info


def _validate(
    request: HttpRequest, audience: list[str] | None
) -> tuple[AccessTokenInfo | None, Exception | None]:
    try:
        return (validate_request(request, audience=audience), None)  # Bearer, or DPoP with its proof
    except (TokenError, RequestError) as exc:
        return (None, exc)


def attach(request: HttpRequest, info: AccessTokenInfo) -> None:
    """Expose the token as ``request.auth`` and its user (resolved lazily) as ``request.user``."""
    request.auth = info  # type: ignore[attr-defined]
    request.user = SimpleLazyObject(lambda: info.user)  # type: ignore[assignment]


def token_info(request: Any) -> AccessTokenInfo | None:
    """``request.auth`` when it is one of our validated tokens (typed access for views)."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, AccessTokenInfo) else None


def audit_access(
    request: HttpRequest, info: AccessTokenInfo | None, failure: Failure, required: tuple[str, ...] = ()
) -> None:
    """Record ``resource.accessed`` when enabled, for ``RS_AUDIT_SAMPLE_RATE`` of requests;
    ``required`` (the scopes the view demands) lets the user's page say what was done."""
    if not agent_obo_settings.RS_AUDIT_ACCESS:
        return
    if random.random() >= agent_obo_settings.RS_AUDIT_SAMPLE_RATE:
        return
    reason = "" if info is not None and failure is None else getattr(failure, "reason", "token_missing")
    audit.record(
        Event.RESOURCE_ACCESSED,
        outcome=AuditEvent.FAILURE if reason else AuditEvent.SUCCESS,
        reason=reason,
        user=info.user if info is not None else None,
        client_id=info.client_id if info is not None else "",
        actor_chain=info.actor_chain if info is not None else (),
        scope=info.scope if info is not None else "",
        jti=info.jti if info is not None else "",
        ip=audit.client_ip(request),
        detail={"method": request.method, "path": request.path[:300]}
        | ({"required_scope": " ".join(required)} if required else {}),
    )
