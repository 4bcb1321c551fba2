"""Helpers for the audit, admin, self-service and time-bound delegation tests."""

from __future__ import annotations

from typing import Any

from django.test import Client

from django_agent_obo.models import AuditEvent
from tests.conftest import (
    PASSWORD,
    TOKEN_URL,
    AgentFixture,
    App,
    actor_assertion,
    get_code,
    logged_in,
    redeem,
)

INTROSPECT_URL = "/o/introspect/"


def delegate(
    user: Any, app: App, agent: AgentFixture, scope: str = "calendar.read", duration: str | None = None
) -> dict[str, Any]:
    """Consent (with an optional delegation duration), then redeem with a self-signed actor assertion."""
    code, verifier = get_code(logged_in(user), app, actor=agent.actor_id, scope=scope, duration=duration)
    response = redeem(app, code, verifier, actor_token=actor_assertion(agent))
    assert response.status_code == 200, response.content
    return dict(response.json())


def refresh(app: App, agent: AgentFixture, refresh_token: str) -> Any:
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "actor_token": actor_assertion(agent),
    }
    return Client().post(TOKEN_URL, data, **app.basic())


def is_active(app: App, token: str) -> bool:
    """RFC 7662 introspection, as the client that holds the token."""
    response = Client().post(INTROSPECT_URL, {"token": token}, **app.basic())
    assert response.status_code == 200, response.content
    return bool(response.json()["active"])


def events(name: str, **filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(event=name, **filters).order_by("at", "id"))


def admin_client(django_user_model: Any, username: str = "root") -> tuple[Client, Any]:
    admin = django_user_model.objects.create_superuser(username, f"{username}@example.com", PASSWORD)
    return logged_in(admin), admin
