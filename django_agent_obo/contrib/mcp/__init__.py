"""An MCP server (the official ``mcp`` SDK) served by a Django view, behind our resource toolkit.

    server = MCPServer("Calendar")

    @django_tool(server, scopes=["calendar.read"])
    def list_events() -> dict:
        info = current_token()  # AccessTokenInfo: user, client_id, actor, actor_chain, scopes

    urlpatterns = [path("mcp/", mcp_view(server, resource=ISSUER + "/mcp/"))]

Needs the ``mcp`` extra. See docs/mcp.md.
"""

from .tools import current_request, current_token, django_tool
from .views import mcp_view

__all__ = ["current_request", "current_token", "django_tool", "mcp_view"]
