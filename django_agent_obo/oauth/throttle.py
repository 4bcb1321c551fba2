"""Who a token request is counted against (issue #12 item 4).

A client that authenticates is limited by its own traffic only (``TOKEN_RATE_LIMIT``, counted
once oauthlib has authenticated it, before the grant does any work). A request that
authenticates no client is counted against its source address and against the client id it
claims (``TOKEN_FAILURE_RATE_LIMIT``); those counters only ever turn *failures* into ``429``, so
nobody can lock a client out by naming its public ``client_id``. A public client authenticates
nothing: its requests count per address only.
"""

from __future__ import annotations

from typing import Any

from .. import audit, issuance, ratelimit
from ..conf import agent_obo_settings
from ..issuance import Issuance
from . import client_auth
from .errors import TooManyRequestsError


def count_authenticated(request: Any) -> None:
    """The client authenticated: over its own limit, ``429``. Read only: the view counts the
    request once its transaction is over (:func:`count_after`).

    A public client proved nothing (RFC 6749 §2.1: its ``client_id`` is all it sends, and anyone
    can send it): its requests are counted as anonymous ones, per address only, so strangers
    naming it cannot spend a limit its own devices share."""
    client_id = str(getattr(request.client, "client_id", "") or "")
    current = issuance.of(request)
    if getattr(request.client, "client_type", None) == "public" and not client_auth.presents_assertion(
        request
    ):
        current.public_client = True
        return
    current.authenticated, current.authenticated_client_id = True, client_id
    rate = agent_obo_settings.TOKEN_RATE_LIMIT
    if not rate or not client_id:
        return
    count, retry_after = ratelimit.peek("token", client_id, rate)
    limit = ratelimit.parse_rate(rate)[0]
    if count >= limit:
        current.reason, current.retry_after = "rate_limited", retry_after
        current.first_over_limit = count == limit
        raise TooManyRequestsError(request=request)


def count_after(current: Issuance) -> int | None:
    """After the token transaction: count an authenticated client's request against its own
    limit, or a refusal that authenticated nobody against its address and claimed id.

    Returns the seconds to wait when that refusal went over its limit (it becomes ``429``).
    """
    if current.authenticated:
        rate = agent_obo_settings.TOKEN_RATE_LIMIT
        if rate and current.authenticated_client_id:
            ratelimit.hit("token", current.authenticated_client_id, rate)
        return None
    return _count_unauthenticated_failure(current) if current.refused else None


def _count_unauthenticated_failure(current: Issuance) -> int | None:
    """A refusal that authenticated no client: count it per source address and per claimed id.

    Returns the seconds to wait when either is over its limit (the refusal becomes ``429``).
    """
    rate = agent_obo_settings.TOKEN_FAILURE_RATE_LIMIT
    if not rate:
        return None
    limit = ratelimit.parse_rate(rate)[0]
    keys = [("token-fail-ip", current.ip or "unknown")]
    if current.client_id and not current.public_client:
        keys.append(("token-fail-id", current.client_id))
    over = [(count, wait) for count, wait in (ratelimit.hit(s, k, rate) for s, k in keys) if count > limit]
    if not over:
        return None
    current.reason = "rate_limited"
    current.first_over_limit = any(count == limit + 1 for count, _ in over)
    return max(wait for _, wait in over)


def flooded(scope: str, request: Any) -> tuple[bool, bool]:
    """An endpoint's requests before any client authenticates (``/o/bc-authorize/``, the device
    authorization endpoint), counted per source address against ``TOKEN_RATE_LIMIT``: never per
    the client id they claim, which anyone could name to spend a client's limit. Returns
    (over the limit, the first request over it in this window: the one to audit)."""
    rate = agent_obo_settings.TOKEN_RATE_LIMIT
    if not rate:
        return False, False
    count, _ = ratelimit.hit(scope, "ip:" + (audit.client_ip(request) or "unknown"), rate)
    limit = ratelimit.parse_rate(rate)[0]
    return count > limit, count == limit + 1
