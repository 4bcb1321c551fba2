"""Helpers for the RFC 9396 tests: a consent with ``authorization_details`` and its token."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.test import Client

from tests.conftest import (
    AUTHORIZE_URL,
    AgentFixture,
    App,
    actor_token_issued,
    authorize_params,
    hidden_fields,
    logged_in,
    pkce,
    redeem,
    redirect_params,
)

WEEK = {"type": "calendar_event", "actions": ["create"], "date_from": "2026-12-01", "date_to": "2026-12-07"}
READ_ALL = {"type": "calendar_event", "actions": ["read"]}


def as_param(details: Any) -> str:
    return details if isinstance(details, str) else json.dumps(details)


def consent_page(
    browser: Client, app: App, details: Any, actor: str | None = None, scope: str = "calendar.write"
) -> tuple[dict[str, str], Any]:
    _, challenge = pkce()
    params = authorize_params(app, challenge, actor, scope=scope, authorization_details=as_param(details))
    return params, browser.get(AUTHORIZE_URL + "?" + urlencode(params))


def approve(
    browser: Client,
    app: App,
    details: Any,
    actor: str | None = None,
    scope: str = "calendar.read calendar.write",
    **posted: str,
) -> tuple[str, str]:
    """Consent to ``details`` through the real page; returns (code, code_verifier)."""
    verifier, challenge = pkce()
    params = authorize_params(app, challenge, actor, scope=scope, authorization_details=as_param(details))
    page = browser.get(AUTHORIZE_URL + "?" + urlencode(params))
    assert page.status_code == 200, page.content[:1000]
    form = hidden_fields(page.content.decode())
    form.update(allow="Authorize", **posted)
    values = redirect_params(browser.post(AUTHORIZE_URL, form))
    assert values.get("state") == params["state"], values
    return values["code"], verifier


def delegated_with(user: Any, app: App, agent: AgentFixture, details: Any, **token_extra: str) -> Any:
    """The whole flow for ``agent`` with ``details``; returns the token response."""
    code, verifier = approve(logged_in(user), app, details, actor=agent.actor_id)
    return redeem(app, code, verifier, actor_token=actor_token_issued(agent), **token_extra)
