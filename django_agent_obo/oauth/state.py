"""Per-request state shared by the token view and the validator (a context variable).

oauthlib turns every refusal into a response, so the view cannot see *why* a request was
refused; the validator writes the reason here and the view audits it after rollback.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TokenRequestState:
    ip: str | None = None
    reason: str = ""
    user: Any = None
    client_id: str = ""
    actor_chain: list[str] = field(default_factory=list)
    scope: str = ""
    reused_binding: Any = None
    reused_refresh_family: Any = None  # a refresh token family DOT revoked (RFC 9700 §4.14.2)
    access_token: Any = None  # DOT's row of the access token issued, for ``app_authorized``
    authenticated: bool = False  # a client authenticated (throttle.py counts it apart)
    authenticated_client_id: str = ""
    refused: bool = False
    retry_after: int | None = None  # rate limited: seconds until the window ends
    first_over_limit: bool = True  # the first refusal of its window is audited, the others not
    keep_writes: bool = False  # commit this refusal's writes (a CIBA poll's time stamp)


current: ContextVar[TokenRequestState | None] = ContextVar("agent_obo_token_request", default=None)


def note(**values: Any) -> None:
    """Remember facts about the current token request for its audit row (no-op outside one)."""
    state = current.get()
    if state is None:
        return
    for name, value in values.items():
        setattr(state, name, value)
