"""What ``obo_demo`` and its chapters share: the demo's seeded names and the small helpers
each step uses to check an answer and to say it."""

from __future__ import annotations

import base64
import json
from typing import Any

from django.http import HttpResponse

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"  # the documented demo account
DEMO_CLIENT_ID = "demo-calendar-client"
DEMO_REDIRECT_URI = "https://demo-client.example/callback"
DEMO_ACTOR_ID = "agent:demo-calendar-assistant"
DEMO_SCOPE = "calendar.read"


class StepFailed(Exception):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise StepFailed(message)


def json_of(response: HttpResponse) -> Any:
    try:
        return json.loads(response.content)
    except ValueError as exc:
        raise StepFailed(
            f"expected JSON, got HTTP {response.status_code}: {response.content[:200]!r}"
        ) from exc


def truncated(token: str, keep: int = 16) -> str:
    """Enough of a token to recognise it in a log, never the whole credential."""
    return token if len(token) <= keep else f"{token[:keep]}… ({len(token)} characters)"


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {raw}"}


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}
