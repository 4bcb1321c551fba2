"""``authorization_details`` at the token endpoint (RFC 9396 §6): what the new token carries.

One post-token hook for every grant: the details held by what the request redeems (the code's
consent, the refreshed token, the exchanged subject token; a client's own token holds none),
narrowed to the ``authorization_details`` parameter when one is sent — never widened.
"""

from __future__ import annotations

from typing import Any

from .. import issuance
from ..authorization_details import AuthorizationDetailsRefused, narrow, parse
from ..issuance import Issuance
from ..models import IssuedToken
from .errors import refuse


def held_details(request: Any, current: Issuance) -> list[dict[str, Any]]:
    """What the redeemed consent, refresh token or subject token carries."""
    if current.parent is not None:  # RFC 8693: the subject token
        return list(current.parent.authorization_details or [])
    if request.grant_type == "refresh_token":
        refresh = getattr(request, "refresh_token_instance", None)
        if refresh is None:
            return []
        origin = current.refresh_origin  # read by the validator already
        if origin is not None and origin.refresh_token_id == refresh.pk:
            return list(origin.authorization_details or [])
        found = (
            IssuedToken.objects.filter(refresh_token=refresh)
            .values_list("authorization_details", flat=True)
            .first()
        )
        return list(found or [])
    if current.code_binding is not None:
        return list(current.code_binding.authorization_details or [])
    return []


def settle_authorization_details(request: Any) -> None:
    """Post-token hook: settle the details the new token may carry on its Issuance."""
    current = issuance.of(request)
    raw = getattr(request, "authorization_details", None)
    if current.profile is None:
        if raw:
            refuse("authorization_details_widened", "authorization_details cannot be granted here.", request)
        return
    try:
        requested = parse(str(raw) if raw is not None else None, agent=current.agent)
        current.authorization_details = narrow(held_details(request, current), requested)
    except AuthorizationDetailsRefused as refusal:
        refuse(refusal.reason, refusal.description, request, error="invalid_authorization_details")
