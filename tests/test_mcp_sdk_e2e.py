"""The unmodified official MCP Python SDK against the example project under gunicorn (SPEC §10):
discovery from a 401 at /mcp/, dynamic registration, the authorization-code flow, a tool call;
the same with a pre-registered client; and the agent-aware provider of docs/mcp.md."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import anyio
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

from tests.servers import free_port, serving

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parent.parent
CALLBACK = "http://127.0.0.1:53682/callback"  # never listened on: the handler reads the redirect
SEED = """
import io, json
from django.contrib.auth import get_user_model
from django.core.management import call_command
from oauth2_provider.models import get_application_model
get_user_model().objects.create_user("alice", password="alice-password")
get_application_model().objects.create(
    name="Pre-registered MCP client", client_id="mcp-client",
    client_secret="mcp-secret-k7Qp2vXz9LmN4rT8wY6bJ3hF5dS2",
    client_type="confidential", authorization_grant_type="authorization-code",
    redirect_uris="http://127.0.0.1:53682/callback",
)
out = io.StringIO()
call_command("create_agent", "agent:mcp", "--name=MCP Agent", "--client=mcp-client",
             "--scopes=calendar.read calendar.write offline_access", "--credentials", "--json", stdout=out)
print(out.getvalue())
"""


@dataclass
class Server:
    port: int
    issuer: str
    agent: dict[str, str]

    @property
    def mcp(self) -> str:
        return f"{self.issuer}/mcp/"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    var = tmp_path_factory.mktemp("mcp-gunicorn")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "OBO_VAR_DIR": str(var),
        "OBO_ISSUER": issuer,
        "DATABASE_URL": f"sqlite:///{var / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "example_project.settings",
        "DJANGO_DEBUG": "0",
    }
    env.pop("OBO_SIGNING_KEY_DIR", None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True)
    seeded = subprocess.run(
        [*manage, "shell", "-c", SEED], cwd=ROOT, env=env, check=True, capture_output=True
    )
    agent = json.loads(seeded.stdout.decode().strip().splitlines()[-1])
    gunicorn = [str(Path(sys.executable).with_name("gunicorn")), "example_project.wsgi"]
    command = [*gunicorn, "-b", f"127.0.0.1:{port}", "-w", "2", "--log-level", "warning"]
    with serving(command, cwd=ROOT, env=env, port=port, log=var / "gunicorn.log"):
        yield Server(port, issuer, agent)


class MemoryStorage:
    """The SDK's ``TokenStorage`` protocol, in memory."""

    def __init__(self, client_info: OAuthClientInformationFull | None = None) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info = client_info

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


def hidden_fields(html: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name, value = re.search(r'name="([^"]*)"', tag), re.search(r'value="([^"]*)"', tag)
        if 'type="hidden"' in tag and name:
            fields[unescape(name[1])] = unescape(value[1]) if value else ""
    return fields


class Person:
    """The browser step: alice signs in and allows what the consent page shows (over httpx2)."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer
        self.authorization_url = ""
        self.consent_pages: list[str] = []

    async def redirect_handler(self, url: str) -> None:
        self.authorization_url = url

    async def callback_handler(self) -> AuthorizationCodeResult:
        async with httpx2.AsyncClient(base_url=self.issuer, follow_redirects=False) as browser:
            login = await browser.get("/accounts/login/")
            csrf = hidden_fields(login.text)["csrfmiddlewaretoken"]
            signed_in = await browser.post(
                "/accounts/login/",
                data={"username": "alice", "password": "alice-password", "csrfmiddlewaretoken": csrf},
                headers={"Referer": f"{self.issuer}/accounts/login/"},
            )
            assert signed_in.status_code == 302, signed_in.text[:500]
            page = await browser.get(self.authorization_url)
            assert page.status_code == 200, page.text[:1000]
            self.consent_pages.append(page.text)
            form = {**hidden_fields(page.text), "allow": "Authorize"}
            answer = await browser.post(
                "/o/authorize/", data=form, headers={"Referer": self.authorization_url}
            )
            assert answer.status_code == 302, answer.text[:1000]
        location = answer.headers["Location"]
        assert location.startswith(CALLBACK), location
        query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        return AuthorizationCodeResult(code=query["code"], state=query.get("state"), iss=query.get("iss"))


def client_metadata() -> OAuthClientMetadata:
    return OAuthClientMetadata(
        client_name="SDK test client",
        redirect_uris=[CALLBACK],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
    )


async def call_tool(url: str, auth: httpx2.Auth, name: str, arguments: dict[str, Any] | None = None) -> Any:
    async with (
        httpx2.AsyncClient(auth=auth, timeout=30) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        result = await session.call_tool(name, arguments or {})
    assert not result.is_error, result
    return result.structured_content


def run(coroutine: Callable[[], Awaitable[Any]]) -> Any:
    return anyio.run(coroutine)


def test_sdk_discovers_registers_authorizes_and_calls_a_tool(server: Server) -> None:
    person = Person(server.issuer)
    storage = MemoryStorage()
    provider = OAuthClientProvider(
        server_url=server.mcp,
        client_metadata=client_metadata(),
        storage=storage,
        redirect_handler=person.redirect_handler,
        callback_handler=person.callback_handler,
    )
    whoami = run(lambda: call_tool(server.mcp, provider, "whoami"))
    assert storage.client_info is not None and storage.client_info.client_id != "mcp-client"  # registered
    assert whoami["client_id"] == storage.client_info.client_id
    assert whoami["actor"] is None
    query = dict(parse_qsl(urlsplit(person.authorization_url).query))
    assert query["resource"] == server.mcp
    assert set(query["scope"].split()) == {"calendar.read", "calendar.write", "offline_access"}
    assert "Unverified" in person.consent_pages[0]
    assert storage.tokens is not None and storage.tokens.refresh_token  # offline_access honoured
    # The same token cannot be used at the other resource.
    api = httpx2.get(
        f"{server.issuer}/api/whoami/", headers={"Authorization": f"Bearer {storage.tokens.access_token}"}
    )
    assert api.status_code == 401


def test_sdk_with_a_pre_registered_client(server: Server) -> None:
    person = Person(server.issuer)
    storage = MemoryStorage(
        OAuthClientInformationFull(
            client_id="mcp-client",
            client_secret="mcp-secret-k7Qp2vXz9LmN4rT8wY6bJ3hF5dS2",
            token_endpoint_auth_method="client_secret_basic",
            redirect_uris=[CALLBACK],
        )
    )
    provider = OAuthClientProvider(
        server_url=server.mcp,
        client_metadata=client_metadata(),
        storage=storage,
        redirect_handler=person.redirect_handler,
        callback_handler=person.callback_handler,
    )
    created = run(lambda: call_tool(server.mcp, provider, "create_event", {"title": "From the SDK"}))
    assert created["client_id"] == "mcp-client"
    assert created["created_by_actor"] is None
    assert "Unverified" not in person.consent_pages[0]


# --- the agent-aware provider shown in docs/mcp.md ---------------------------------------


class AgentOAuthClientProvider(OAuthClientProvider):
    """The SDK's provider, plus ``requested_actor`` on the authorization request and
    ``actor_token`` on the code redemption and every refresh (draft -02 §4-5)."""

    def __init__(
        self, *args: Any, requested_actor: str, actor_token: Callable[[], Awaitable[str]], **kw: Any
    ):
        super().__init__(*args, **kw)
        self.actor_token = actor_token
        show = self.context.redirect_handler
        assert show is not None

        async def redirect_handler(url: str) -> None:
            await show(f"{url}&{urlencode({'requested_actor': requested_actor})}")

        self.context.redirect_handler = redirect_handler

    async def _with_actor_token(self, request: httpx2.Request) -> httpx2.Request:
        data = {**dict(parse_qsl(request.content.decode())), "actor_token": await self.actor_token()}
        data["actor_token_type"] = "urn:ietf:params:oauth:token-type:access_token"
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("content-length",)}
        return httpx2.Request("POST", request.url, data=data, headers=headers)

    async def _exchange_token_authorization_code(self, auth_code: str, code_verifier: str) -> httpx2.Request:
        return await self._with_actor_token(
            await super()._exchange_token_authorization_code(auth_code, code_verifier)
        )

    async def _refresh_token(self) -> httpx2.Request:
        return await self._with_actor_token(await super()._refresh_token())


def test_agent_aware_provider_the_tool_sees_the_actor(server: Server) -> None:
    person = Person(server.issuer)

    async def actor_token() -> str:
        """The agent's own token (client credentials), fetched when needed."""
        async with httpx2.AsyncClient() as http:
            answer = await http.post(
                f"{server.issuer}/o/token/",
                data={"grant_type": "client_credentials"},
                auth=(server.agent["client_id"], server.agent["client_secret"]),
            )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    storage = MemoryStorage(
        OAuthClientInformationFull(
            client_id="mcp-client",
            client_secret="mcp-secret-k7Qp2vXz9LmN4rT8wY6bJ3hF5dS2",
            token_endpoint_auth_method="client_secret_basic",
            redirect_uris=[CALLBACK],
        )
    )
    provider = AgentOAuthClientProvider(
        server_url=server.mcp,
        client_metadata=client_metadata(),
        storage=storage,
        redirect_handler=person.redirect_handler,
        callback_handler=person.callback_handler,
        requested_actor="agent:mcp",
        actor_token=actor_token,
    )
    whoami = run(lambda: call_tool(server.mcp, provider, "whoami"))
    assert whoami["actor"] == "agent:mcp"
    assert whoami["actor_chain"] == ["agent:mcp"]
    assert whoami["client_id"] == "mcp-client"
    assert "MCP Agent" in person.consent_pages[0]
