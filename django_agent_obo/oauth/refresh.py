"""Refused refresh requests: why, for the audit row, and reuse that must outlive the rollback.

DOT rotates refresh tokens on every use and, with ``REFRESH_TOKEN_REUSE_PROTECTION``, answers
a rotated (or revoked) refresh token presented again by revoking its whole family (RFC 9700
§4.14.2). It does so inside the token view's transaction, which rolls back on every refusal;
so the family is remembered here and revoked again, with our records, after the rollback.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db.models import F
from oauth2_provider.models import get_refresh_token_model

from ..issuance import Issuance
from ..models import IssuedToken


def find_refresh_token(raw: str, lock: bool = False) -> Any:
    """The refresh token row DOT will judge (the live one first, as DOT picks it).

    With ``lock`` the rows are locked ``FOR UPDATE`` until the transaction ends.
    """
    checksum = hashlib.sha256(raw.encode("utf-8")).hexdigest()
    rows = get_refresh_token_model().objects.filter(token_checksum=checksum)
    if lock:
        list(rows.select_for_update().values_list("pk", flat=True))
    return rows.order_by(F("revoked").desc(nulls_first=True)).first()


def family_is_live(refresh_token: Any) -> bool:
    if refresh_token is None or refresh_token.token_family is None:
        return False
    return bool(
        get_refresh_token_model()
        .objects.filter(token_family=refresh_token.token_family, revoked__isnull=True)
        .exists()
    )


def explain_refusal(current: Issuance, refresh_token: Any, client: Any, family_was_live: bool) -> None:
    """Note the audit reason of a refused refresh token, and a family DOT just revoked."""
    if refresh_token is None:
        current.reason = "refresh_token_unknown"
        return
    origin = (
        IssuedToken.objects.select_related("agent", "agent_grant").filter(refresh_token=refresh_token).first()
    )
    current.user, current.named_actors = refresh_token.user, list(origin.actor_chain) if origin else []
    if family_was_live and not family_is_live(refresh_token):
        current.reused_refresh_family = refresh_token.token_family
    current.reason = _reason(refresh_token, client, origin)


def _reason(refresh_token: Any, client: Any, origin: IssuedToken | None) -> str:
    if refresh_token.application_id != getattr(client, "pk", None):
        return "refresh_token_other_client"
    if refresh_token.revoked is None:
        return "refresh_token_expired"
    rotated = (
        get_refresh_token_model()
        .objects.filter(token_family=refresh_token.token_family, created__gt=refresh_token.created)
        .exists()
    )
    if refresh_token.token_family is not None and rotated:
        return "refresh_token_reused"
    ended = None
    if origin is not None and origin.agent is not None:
        ended = origin.agent.unusable_reason()
    if ended is None and origin is not None and origin.agent_grant is not None:
        ended = origin.agent_grant.dead_reason()
    return ended or "refresh_token_revoked"
