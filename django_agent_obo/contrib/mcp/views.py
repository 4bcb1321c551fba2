"""``mcp_view()``: the MCP streamable HTTP transport (the SDK's, stateless, JSON responses)
inside a plain Django view, so it runs under WSGI (gunicorn) and Django's test client.

The request is first guarded like any protected view (``resource.decorators.guard``: a token
whose ``aud`` names ``resource``; without one, ``401`` with ``WWW-Authenticate: Bearer
resource_metadata="…"`` naming the resource's path-aware RFC 9728 document). Then the
request is handed to the SDK's ``StreamableHTTPSessionManager`` as one ASGI call, through
``asgiref.async_to_sync``: tools wrapped by :func:`~.tools.django_tool` run their Django code
back on this request's thread (``sync_to_async(thread_sensitive=True)``), with this
request's database connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

from asgiref.sync import async_to_sync
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from ...resource.decorators import guard
from ...resource.policy import Policy
from .tools import bind_request

MAX_BODY_BYTES = 1024 * 1024


def _scope(request: HttpRequest) -> dict[str, Any]:
    headers = [
        (key[5:].replace("_", "-").lower().encode("latin-1"), str(value).encode("latin-1", "replace"))
        for key, value in request.META.items()
        if key.startswith("HTTP_")
    ]
    for meta, name in (("CONTENT_TYPE", b"content-type"), ("CONTENT_LENGTH", b"content-length")):
        if request.META.get(meta):
            headers.append((name, str(request.META[meta]).encode("latin-1", "replace")))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": request.scheme,
        "path": request.path,
        "raw_path": request.path.encode("utf-8"),
        "root_path": "",
        "query_string": request.META.get("QUERY_STRING", "").encode("latin-1", "replace"),
        "headers": headers,
        "client": (request.META.get("REMOTE_ADDR") or "", 0),
        "server": (request.get_host(), 0),
    }


async def _serve(server: Any, scope: dict[str, Any], body: bytes) -> tuple[int, list[Any], bytes]:
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from mcp.server.transport_security import TransportSecuritySettings

    lowlevel = getattr(server, "_lowlevel_server", server)
    manager = StreamableHTTPSessionManager(
        app=lowlevel,
        stateless=True,
        json_response=True,
        # Django's ALLOWED_HOSTS (and CSRF-free bearer auth) already guard the Host header.
        security_settings=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        max_request_body_size=MAX_BODY_BYTES,
    )
    sent_body = False
    status = 500
    headers: list[Any] = []
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if sent_body:
            return {"type": "http.disconnect"}
        sent_body = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    async with manager.run():
        await manager.handle_request(scope, receive, send)
    return status, headers, b"".join(chunks)


def mcp_view(
    server: Any,
    *,
    resource: str,
    scopes: Iterable[str] | str = (),
    agent: bool | None = None,
    actors: Any = None,
) -> Callable[..., HttpResponse]:
    """A Django view serving ``server`` (an SDK ``MCPServer`` or low-level ``Server``) for
    tokens whose ``aud`` names ``resource``; ``scopes``/``agent``/``actors`` as in
    :class:`~django_agent_obo.resource.Policy`, required for every call."""
    policy = Policy.build(scopes, agent=agent, actors=actors)

    @csrf_exempt
    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refusal = guard(request, policy, resource=resource)
        if refusal is not None:
            return refusal
        if len(request.body) > MAX_BODY_BYTES:
            return HttpResponse(status=413)
        with bind_request(request):
            status, headers, body = async_to_sync(_serve)(server, _scope(request), request.body)
        response = HttpResponse(body, status=status)
        for name, value in headers:
            key = name.decode("latin-1")
            if key.lower() not in ("content-length",):
                response[key] = value.decode("latin-1")
        response["Cache-Control"] = "no-store"
        return response

    return view
