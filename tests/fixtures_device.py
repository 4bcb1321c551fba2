"""Helpers for the device authorization grant tests (RFC 8628)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.test import Client
from django.urls import reverse

from django_agent_obo.models import DeviceAuthorization
from tests.conftest import TOKEN_URL, App, logged_in, make_app

DEVICE_AUTHORIZATION_URL = "/o/device-authorization/"
DEVICE_URL = "/o/device/"
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"


def device_app(name: str = "TV client") -> App:
    return make_app(name=name, grant="urn:ietf:params:oauth:grant-type:device_code", redirect="")


def ask(app: App, **params: Any) -> Any:
    data = {"client_id": app.client_id, "scope": "calendar.read", **params}
    data = {k: v for k, v in data.items() if v is not None}
    return post_form(DEVICE_AUTHORIZATION_URL, data, **app.basic())


def post_form(url: str, data: dict[str, Any], **headers: Any) -> Any:
    """RFC 8628 §3.1: ``application/x-www-form-urlencoded`` (repeated values for lists)."""
    body = urlencode(data, doseq=True)
    return Client().post(url, body, content_type="application/x-www-form-urlencoded", **headers)


def confirm_url(app: App, user_code: str) -> str:
    kwargs = {"client_id": app.client_id, "user_code": user_code}
    return reverse("oauth2_provider:device-confirm", kwargs=kwargs)


def enter_code(user: Any, user_code: str) -> Client:
    browser = logged_in(user)
    response = browser.post(DEVICE_URL, {"user_code": user_code})
    assert response.status_code == 302, response.content
    return browser


def answer(user: Any, app: App, user_code: str, allow: bool = True, **extra: str) -> Any:
    browser = enter_code(user, user_code)
    data = {"allow": "Authorize"} if allow else {}
    data.update(extra)
    return browser.post(confirm_url(app, user_code), data)


def redeem(app: App, device_code: str, **extra: str) -> Any:
    DeviceAuthorization.objects.update(next_poll_at=None)  # the interval is tested on its own
    headers = {k: extra.pop(k) for k in list(extra) if k.startswith("HTTP_")}
    data = {"grant_type": DEVICE_CODE, "device_code": device_code, **extra}
    return Client().post(TOKEN_URL, data, **app.basic(), **headers)
