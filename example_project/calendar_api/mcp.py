"""The calendar as MCP tools (SPEC §10), served at /mcp/ by ``django_agent_obo.contrib.mcp``.

Each tool sees the token's user, client and actor (``current_token()``), and every call is
recorded as ``resource.accessed``. ``whoami`` answers what ``/api/whoami/`` answers.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from django_agent_obo.contrib.mcp import current_token, django_tool, mcp_view

from .models import Event
from .views import event_json, identities

server = MCPServer("Example calendar", instructions="A user's calendar, used on their behalf.")


def _user() -> Any:
    user = current_token().user
    if not user.is_authenticated:
        raise ToolError("access_denied: this calendar serves a user; the token names no user.")
    return user


@django_tool(server)
def whoami() -> dict[str, Any]:
    """Who is calling: the user (sub), the client and the agent acting for the user."""
    return identities(current_token())


@django_tool(server, scopes=["calendar.read"])
def list_events() -> dict[str, Any]:
    """The user's calendar events, oldest first."""
    return {"events": [event_json(event) for event in Event.objects.filter(user=_user())]}


@django_tool(server, scopes=["calendar.write"])
def create_event(title: str, starts_at: str | None = None) -> dict[str, Any]:
    """Create an event; ``starts_at`` is an ISO 8601 date-time with a time zone."""
    user = _user()
    title = title.strip()
    if not 0 < len(title) <= 200:
        raise ToolError("invalid_request: title must be 1 to 200 characters.")
    when = None
    if starts_at is not None:
        try:
            when = parse_datetime(starts_at)
        except ValueError:
            when = None
        if when is None or when.tzinfo is None:
            raise ToolError("invalid_request: starts_at must be an ISO 8601 date-time with a time zone.")
    info = current_token()
    event = Event.objects.create(
        user=user,
        title=title,
        starts_at=when,
        created_by_actor=info.actor or "",
        actor_chain=list(info.actor_chain),
        client_id=info.client_id,
    )
    return event_json(event)


def view() -> Any:
    """The /mcp/ view; its resource identifier is ``<issuer>/mcp/``."""
    return mcp_view(server, resource=settings.OBO_ISSUER + "/mcp/")
