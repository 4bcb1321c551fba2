"""``django_tool``: an MCP tool whose body is ordinary Django code run for the token's caller,
each call recorded as ``resource.accessed`` (SPEC §8) for the user's activity page."""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.db import transaction
from django.http import HttpRequest
from mcp.server.mcpserver.exceptions import ToolError

from ... import audit
from ...models import AuditEvent, Event
from ...resource.request import token_info
from ...resource.validation import AccessTokenInfo

_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "agent_obo_mcp_request", default=None
)


class ToolRefused(ToolError):
    """The token may not call this tool (its scopes): a tool error the model can read."""


@contextlib.contextmanager
def bind_request(request: HttpRequest) -> Iterator[None]:
    handle = _request.set(request)
    try:
        yield
    finally:
        _request.reset(handle)


def current_request() -> HttpRequest:
    """The Django request of the MCP call being served."""
    request = _request.get()
    if request is None:
        raise RuntimeError("No MCP request is being served (use mcp_view).")
    return request


def current_token() -> AccessTokenInfo:
    """The validated token of the MCP call: ``user``, ``client_id``, ``actor``, ``actor_chain``."""
    info = token_info(current_request())
    if info is None:
        raise RuntimeError("The MCP request carries no validated token (use mcp_view).")
    return info


def _record(name: str, info: AccessTokenInfo, reason: str) -> None:
    request = current_request()
    audit.record(
        Event.RESOURCE_ACCESSED,
        outcome=AuditEvent.FAILURE if reason else AuditEvent.SUCCESS,
        reason=reason,
        user=info.user if info.user.is_authenticated else None,
        client_id=info.client_id,
        actor_chain=info.actor_chain,
        scope=info.scope,
        jti=info.jti,
        ip=audit.client_ip(request),
        detail={"method": "tools/call", "tool": name, "path": request.path[:300]},
    )


def django_tool(
    server: Any, *, scopes: Iterable[str] = (), name: str | None = None, **tool_options: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn`` on ``server`` as a tool that needs ``scopes`` and runs ``fn`` on the
    request's thread (Django's ORM, this request's connection) in one transaction with its
    ``resource.accessed`` audit row."""
    required = tuple(scopes)

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        tool_name = name or fn.__name__

        def run(**kwargs: Any) -> Any:
            info = current_token()
            if not info.has_scopes(required):
                _record(tool_name, info, "insufficient_scope")
                raise ToolRefused(f"insufficient_scope: this tool needs {' '.join(required)}.")
            with transaction.atomic():
                result = fn(**kwargs)
                _record(tool_name, info, "")
            return result

        @functools.wraps(fn)
        async def tool(**kwargs: Any) -> Any:
            return await sync_to_async(run, thread_sensitive=True)(**kwargs)

        server.tool(name=tool_name, **tool_options)(tool)
        return fn

    return decorator
