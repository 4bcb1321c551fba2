"""Factories and flow helpers shared by the tests (plain functions, real HTTP via Django's client)."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.test import Client
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from oauth2_provider.models import get_application_model

from django_agent_obo import keys, refusals
from django_agent_obo.models import Agent
from django_agent_obo.signals import audit_event_recorded

ISSUER = "http://127.0.0.1:8000"
TOKEN_URL = "/o/token/"
AUTHORIZE_URL = "/o/authorize/"
REDIRECT_URI = "https://client.example/callback"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def signing_key_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("keys"))


@pytest.fixture(autouse=True)
def _agent_obo_settings(settings: Any, signing_key_dir: str) -> None:
    settings.AGENT_OBO = {**settings.AGENT_OBO, "SIGNING_KEY_DIR": signing_key_dir}
    # Fast hashing for users and DOT client secrets (DOT hashes with Django's default hasher).
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django_agent_obo.client_secrets.ClientSecretHasher",
    ]
    keys.clear_cache()


@pytest.fixture(autouse=True)
def _enable_db(db: None) -> None:
    """Every test may touch the database."""


def undeclared(rows: list[Any]) -> list[str]:
    """Reasons and revocation causes of audit rows that ``refusals`` does not declare."""
    found = {row.reason for row in rows if row.reason and not refusals.is_declared(row.reason)}
    for row in rows:
        cause = (row.detail or {}).get("reason") if row.event in ("token.revoked", "grant.revoked") else None
        if cause and not refusals.is_declared(cause) and cause not in refusals.ENDINGS:
            found.add(cause)
    return sorted(found)


@pytest.fixture(autouse=True)
def _only_declared_reasons(request: pytest.FixtureRequest) -> Any:
    """Every reason the code records, in every test, is declared in ``refusals`` (and so in
    docs/refusals.md); ``@pytest.mark.undeclared_reasons`` for a test that records one on purpose."""
    rows: list[Any] = []

    def seen(sender: Any, event: Any, **kwargs: Any) -> None:
        rows.append(copy.deepcopy(event))  # as recorded: a test may then try to alter it

    audit_event_recorded.connect(seen, weak=False)
    try:
        yield
    finally:
        audit_event_recorded.disconnect(seen)
    if request.node.get_closest_marker("undeclared_reasons") is None:
        missing = undeclared(rows)
        assert not missing, (
            f"Undeclared audit reasons {missing}: declare them in refusals.py and docs/refusals.md"
        )


# --- factories ---------------------------------------------------------------------------


@pytest.fixture
def user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("alice", "alice@example.com", PASSWORD)


@pytest.fixture
def other_user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("mallory", "mallory@example.com", PASSWORD)


@dataclass
class App:
    model: Any
    client_id: str
    secret: str

    def basic(self) -> dict[str, str]:
        raw = f"{self.client_id}:{self.secret}".encode()
        return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(raw).decode()}


def make_app(
    name: str = "Calendar client", grant: str = "authorization-code", redirect: str = REDIRECT_URI
) -> App:
    Application = get_application_model()
    secret = secrets.token_urlsafe(32)
    model = Application.objects.create(
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=grant,
        redirect_uris=redirect,
        client_secret=secret,
    )
    return App(model=model, client_id=model.client_id, secret=secret)


@pytest.fixture
def client_app() -> App:
    return make_app()


@dataclass
class AgentFixture:
    model: Agent
    app: App
    private_key: Any
    kid: str

    @property
    def actor_id(self) -> str:
        return self.model.actor_id


def make_agent(
    actor_id: str = "agent:calendar-assistant",
    clients: tuple[App, ...] = (),
    scopes: str = "calendar.read calendar.write",
    name: str = "Calendar Assistant",
) -> AgentFixture:
    Application = get_application_model()
    secret = secrets.token_urlsafe(32)
    credentials = Application.objects.create(
        name=f"Agent {actor_id}",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
    )
    private_key = ec.generate_private_key(ec.SECP256R1())
    kid = "key-" + uuid.uuid4().hex[:8]
    jwk = ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    jwk.update(kid=kid, alg="ES256", use="sig")
    agent = Agent.objects.create(
        actor_id=actor_id,
        name=name,
        publisher="Example Agents Inc.",
        description="Reads and writes your calendar.",
        allowed_scopes=scopes,
        credentials=credentials,
        jwks={"keys": [jwk]},
    )
    agent.allowed_clients.set([c.model for c in clients])
    return AgentFixture(
        model=agent, app=App(credentials, credentials.client_id, secret), private_key=private_key, kid=kid
    )


@pytest.fixture
def agent(client_app: App) -> AgentFixture:
    return make_agent(clients=(client_app,))


def rsa_jwk(kid: str) -> tuple[Any, dict[str, Any]]:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    jwk.update(kid=kid, alg="RS256")
    return private_key, jwk


# --- protocol helpers --------------------------------------------------------------------


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_params(app: App, challenge: str, actor: str | None = None, **extra: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "calendar.read",
        "state": "st-" + secrets.token_hex(4),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if actor is not None:
        params["requested_actor"] = actor
    params.update(extra)
    return params


def hidden_fields(html: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        if 'type="hidden"' not in tag:
            continue
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            fields[unescape(name.group(1))] = unescape(value.group(1)) if value else ""
    return fields


def logged_in(user: Any) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def redirect_params(response: Any) -> dict[str, str]:
    assert response.status_code == 302, response.content[:500]
    location = response["Location"]
    assert location.startswith(REDIRECT_URI), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def get_code(
    browser: Client,
    app: App,
    actor: str | None = None,
    scope: str = "calendar.read",
    duration: str | None = None,
) -> tuple[str, str]:
    """Run the browser half of the flow; return (code, code_verifier)."""
    verifier, challenge = pkce()
    params = authorize_params(app, challenge, actor, scope=scope)
    page = browser.get(AUTHORIZE_URL + "?" + urlencode(params))
    assert page.status_code == 200, page.content[:1000]
    form = hidden_fields(page.content.decode())
    form["allow"] = "Authorize"
    if duration is not None:
        form["duration"] = duration
    answer = browser.post(AUTHORIZE_URL, form)
    values = redirect_params(answer)
    assert values.get("state") == params["state"], values
    return values["code"], verifier


def actor_token_issued(agent: AgentFixture, **extra: str) -> str:
    """The agent's own client_credentials token (its actor token unless ``resource`` is given)."""
    response = Client().post(TOKEN_URL, {"grant_type": "client_credentials", **extra}, **agent.app.basic())
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])


def actor_assertion(agent: AgentFixture, **overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": agent.actor_id,
        "sub": agent.actor_id,
        "aud": ISSUER,
        "iat": now,
        "exp": now + 120,
        "jti": uuid.uuid4().hex,
    }
    headers = {"kid": agent.kid}
    headers.update(overrides.pop("headers", {}))
    key = overrides.pop("key", agent.private_key)
    alg = overrides.pop("alg", "ES256")
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


def redeem(app: App, code: str, verifier: str, **extra: str) -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    data.update(extra)
    return Client().post(TOKEN_URL, data, **app.basic())


def decode_unverified(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def error_of(response: Any) -> str:
    return str(json.loads(response.content)["error"])


os.environ.setdefault("OBO_ISSUER", ISSUER)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI=true a skipped test is a failure: a CI run that skips the browser or
    PostgreSQL tests is not a passing run."""
    if os.environ.get("CI", "").lower() not in ("1", "true", "yes"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped:
        for report in skipped:
            print(f"\nCI: skipped test counts as failure: {report.nodeid}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
