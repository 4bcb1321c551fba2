"""Helpers for the asynchronous-approval (CIBA) tests."""

from __future__ import annotations

from typing import Any

from django.test import Client

from tests.conftest import TOKEN_URL, App, logged_in

BC_URL = "/o/bc-authorize/"
CIBA = "urn:openid:params:grant-type:ciba"
REQUESTS_URL = "/agents/requests/"


def bc_authorize(app: App, **params: Any) -> Any:
    data = {"login_hint": "alice", "scope": "calendar.read", **params}
    data = {k: v for k, v in data.items() if v is not None}
    return Client().post(BC_URL, data, **app.basic())


def poll(app: App, auth_req_id: str, **extra: str) -> Any:
    return Client().post(TOKEN_URL, {"grant_type": CIBA, "auth_req_id": auth_req_id, **extra}, **app.basic())


def answer(user: Any, pk: int, allow: bool = True, **extra: str) -> Any:
    data = {"allow": "yes"} if allow else {}
    data.update(extra)
    return logged_in(user).post(f"{REQUESTS_URL}{pk}/", data)
