"""The example project under gunicorn on a loopback port, driven over real HTTP end to end."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest

from tests.conftest import hidden_fields, pkce
from tests.servers import free_port, serving

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parent.parent
REDIRECT_URI = "https://client.example/callback"
E2E_SECRET = "e2e-secret-" + "x7Qp2LmZ9vRt4Kw8Ny3Bc6Hd1Fg5Js0Ue"  # long and varied: the shipped hasher
SEED = f"""
import io, json
from django.contrib.auth import get_user_model
from django.core.management import call_command
from oauth2_provider.models import get_application_model
get_user_model().objects.create_user("alice", password="alice-password")
app = get_application_model().objects.create(
    name="E2E client", client_id="e2e-client", client_secret="{E2E_SECRET}", client_type="confidential",
    authorization_grant_type="authorization-code", redirect_uris="https://client.example/callback",
)
out = io.StringIO()
call_command("create_agent", "agent:e2e", "--name=E2E Agent", "--client=e2e-client",
             "--scopes=calendar.read calendar.write", "--credentials", "--json", stdout=out)
print(out.getvalue())
"""


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Http:
    """One user agent over http.client: keeps its cookies, never follows redirects."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None, **headers: str) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        body = None
        if form is not None:
            body = urlencode(form)
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        reply = Reply(response.status, response.headers, response.read())
        connection.close()
        for value in response.headers.get_all("Set-Cookie") or []:
            self.cookies.update({k: morsel.value for k, morsel in SimpleCookie(value).items()})
        return reply


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@dataclass
class Server:
    port: int
    issuer: str
    agent: dict[str, str]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    var = tmp_path_factory.mktemp("gunicorn")
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


def test_full_flow_over_real_http(server: Server) -> None:
    app = Http(server.port)
    metadata_url = f"{server.issuer}/.well-known/oauth-protected-resource"

    # 1. No token: the bare challenge pointing at the RFC 9728 metadata.
    reply = app.request("GET", "/api/whoami/")
    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"] == (
        f'Bearer resource_metadata="{metadata_url}", DPoP algs="ES256 ES384 EdDSA RS256 PS256"'
    )
    resource = app.request("GET", "/.well-known/oauth-protected-resource").json()
    assert resource["resource"] == f"{server.issuer}/api/"

    # 2. The agent's actor token.
    reply = app.request(
        "POST",
        "/o/token/",
        {"grant_type": "client_credentials"},
        Authorization=basic(server.agent["client_id"], server.agent["client_secret"]),
    )
    assert reply.status == 200, reply.body
    actor_token = reply.json()["access_token"]

    # 3. The user signs in and consents on the real pages, with cookies and CSRF.
    browser = Http(server.port)
    login = browser.request("GET", "/accounts/login/")
    csrf = hidden_fields(login.body.decode())["csrfmiddlewaretoken"]
    reply = browser.request(
        "POST",
        "/accounts/login/",
        {"username": "alice", "password": "alice-password", "csrfmiddlewaretoken": csrf},
    )
    assert reply.status == 302, reply.body[:500]
    verifier, challenge_ = pkce()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": "e2e-client",
            "redirect_uri": REDIRECT_URI,
            "scope": "calendar.read",
            "state": "e2e-state",
            "code_challenge": challenge_,
            "code_challenge_method": "S256",
            "requested_actor": "agent:e2e",
        }
    )
    page = browser.request("GET", f"/o/authorize/?{query}")
    assert page.status == 200, page.body[:500]
    assert b"E2E Agent" in page.body and b"agent:e2e" in page.body
    reply = browser.request(
        "POST", f"/o/authorize/?{query}", {**hidden_fields(page.body.decode()), "allow": "Authorize"}
    )
    assert reply.status == 302
    location = reply.headers["Location"]
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert (
        location.startswith(REDIRECT_URI)
        and params["state"] == "e2e-state"
        and params["iss"] == server.issuer
    )

    # 4. Redeem with the actor token; verify the JWT the way a remote resource server would.
    reply = app.request(
        "POST",
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            "actor_token": actor_token,
        },
        Authorization=basic("e2e-client", E2E_SECRET),
    )
    assert reply.status == 200, reply.body
    token = reply.json()["access_token"]
    jwks = jwt.PyJWKSet.from_dict(app.request("GET", "/o/jwks/").json())
    kid = jwt.get_unverified_header(token)["kid"]
    claims = jwt.decode(
        token, jwks[kid].key, algorithms=[jwks[kid].algorithm_name], audience=resource["resource"]
    )
    assert claims["act"] == {"sub": "agent:e2e"}
    assert claims["client_id"] == "e2e-client"

    # 5. The API sees the actor; a write without calendar.write gets the 403 challenge.
    auth = {"Authorization": f"Bearer {token}"}
    whoami = app.request("GET", "/api/whoami/", **auth)
    assert whoami.status == 200
    assert whoami.json()["actor"] == "agent:e2e"
    assert whoami.json()["sub"] == claims["sub"]
    reply = app.request("POST", "/api/calendar/events/", {"title": "x"}, **auth)
    assert reply.status == 403
    assert 'error="insufficient_scope"' in reply.headers["WWW-Authenticate"]
    assert 'required_scope="calendar.write"' in reply.headers["WWW-Authenticate"]

    # 6. Introspection shows the chain; after RFC 7009 revocation every worker refuses.
    introspected = app.request(
        "POST", "/o/introspect/", {"token": token}, Authorization=basic("e2e-client", E2E_SECRET)
    )
    assert introspected.json()["act"] == {"sub": "agent:e2e"}
    revoked = app.request(
        "POST", "/o/revoke_token/", {"token": token}, Authorization=basic("e2e-client", E2E_SECRET)
    )
    assert revoked.status == 200
    for _ in range(6):
        reply = app.request("GET", "/api/whoami/", **auth)
        assert reply.status == 401
        assert 'error="invalid_token"' in reply.headers["WWW-Authenticate"]


def test_admin_static_files_are_served_under_gunicorn(server: Server) -> None:
    """WhiteNoise: the admin is styled under gunicorn with DEBUG off, no web server in front."""
    browser = Http(server.port)
    login = browser.request("GET", "/admin/login/").body.decode()
    stylesheet = re.search(r'href="(/static/admin/css/[\w.-]+\.css)"', login)
    assert stylesheet is not None, login[:500]
    reply = browser.request("GET", stylesheet[1])
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("text/css")
    assert b"{" in reply.body
