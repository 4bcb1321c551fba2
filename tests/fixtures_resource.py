"""Helpers for the resource-server tests: real tokens from the real endpoints, hand-made
tokens for the validation rules, and a parser for ``WWW-Authenticate``."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import jwt
from django.test import Client

from django_agent_obo import keys
from django_agent_obo.models import IssuedToken
from tests.conftest import AgentFixture, App, actor_token_issued, get_code, logged_in, redeem

API_AUDIENCE = "http://127.0.0.1:8000/api/"
ISSUER = "http://127.0.0.1:8000"


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def delegated_token(user: Any, app: App, agent: AgentFixture, scope: str = "calendar.read") -> str:
    """A user -> agent token from the real consent page and token endpoint."""
    code, verifier = get_code(logged_in(user), app, actor=agent.actor_id, scope=scope)
    response = redeem(app, code, verifier, actor_token=actor_token_issued(agent))
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])


def user_token(user: Any, app: App, scope: str = "calendar.read") -> str:
    """An ordinary user token (no actor)."""
    code, verifier = get_code(logged_in(user), app, scope=scope)
    response = redeem(app, code, verifier)
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])


def mint(
    app: App,
    *,
    record: bool = True,
    chain: list[str] | None = None,
    key: Any = None,
    alg: str | None = None,
    headers: dict[str, Any] | None = None,
    user: Any = None,
    kind: str | None = None,
    **claims: Any,
) -> str:
    """A token signed like ours (server key, kid, typ at+jwt) with any claim overridden.

    ``record`` stores the IssuedToken row the database and cache modes require. A claim
    set to None is left out.
    """
    signing = keys.signing_key()
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": ISSUER,
        "sub": str(user.pk) if user is not None else app.client_id,
        "aud": API_AUDIENCE,
        "client_id": app.client_id,
        "azp": app.client_id,
        "scope": "calendar.read",
        "iat": now,
        "exp": now + 300,
        "jti": secrets.token_urlsafe(24),
    }
    if chain:
        act: dict[str, Any] | None = None
        for actor_id in reversed(chain):
            act = {"sub": actor_id, **({"act": act} if act else {})}
        body["act"] = act
    body.update(claims)
    body = {name: value for name, value in body.items() if value is not None}
    header = {"kid": signing.kid, "typ": "at+jwt", **(headers or {})}
    header = {name: value for name, value in header.items() if value is not None}
    token = jwt.encode(body, key or signing.private_key, algorithm=alg or signing.alg, headers=header)
    if record:
        default_kind = IssuedToken.KIND_DELEGATED if chain else IssuedToken.KIND_USER if user else "client"
        IssuedToken.objects.create(
            jti=body["jti"],
            token_checksum=hashlib.sha256(token.encode()).hexdigest(),
            kind=kind or default_kind,
            user=user,
            application=app.model,
            actor_chain=chain or [],
            scope=body.get("scope", ""),
            audience=[API_AUDIENCE],
            issued_at=datetime.fromtimestamp(now, tz=UTC),
            expires_at=datetime.fromtimestamp(body.get("exp", now + 300), tz=UTC),
        )
    return token


def challenges(response: Any) -> dict[str, dict[str, str]]:
    """Every challenge of a ``WWW-Authenticate`` header (RFC 9110 §11.6.1: ``Bearer …, DPoP …``),
    by scheme, its params with quoted-strings unescaped."""
    header = response["WWW-Authenticate"]
    found: dict[str, dict[str, str]] = {}
    pattern = re.compile(r'\s*([A-Za-z][A-Za-z0-9-]*)(?=\s|,|$)|\s*([a-z_]+)="((?:[^"\\]|\\.)*)"\s*,?')
    position, scheme = 0, ""
    while position < len(header):
        match = pattern.match(header, position)
        assert match is not None, header[position:]
        if match.group(1):
            scheme = match.group(1)
            found[scheme] = {}
        else:
            found[scheme][match.group(2)] = re.sub(r"\\(.)", r"\1", match.group(3))
        position = match.end()
        while position < len(header) and header[position] in ", ":
            position += 1
    return found


def challenge(response: Any) -> tuple[str, dict[str, str]]:
    """(scheme, params) of the first challenge of ``WWW-Authenticate`` (the Bearer one where
    DPoP is offered beside it)."""
    scheme, params = next(iter(challenges(response).items()))
    return scheme, params


def call(path: str, token: str | None = None, method: str = "get", **extra: Any) -> Any:
    headers = bearer(token) if token is not None else {}
    return getattr(Client(), method)(path, **headers, **extra)


def configure(settings: Any, **values: Any) -> None:
    """Override AGENT_OBO keys for one test (Django's setting_changed resets our caches)."""
    settings.AGENT_OBO = {**settings.AGENT_OBO, **values}
