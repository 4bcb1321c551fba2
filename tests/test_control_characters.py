"""A NUL or another control character in any parameter is a 4xx OAuth error, never a 500
(psycopg refuses NUL in text), on SQLite and PostgreSQL alike (issue #12 item 3)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.test import Client

from django_agent_obo.models import AuditEvent
from tests.conftest import (
    AUTHORIZE_URL,
    TOKEN_URL,
    authorize_params,
    hidden_fields,
    logged_in,
    pkce,
)

HOSTILE = ["\x00", "a\x00b", "\x01", "\x1b[31m", "\x7f"]


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def assert_oauth_error(response, status=400, error="invalid_request"):
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response.json()["error"] == error
    assert b"Traceback" not in response.content


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize(
    "name", ["client_id", "code", "scope", "code_verifier", "actor_token", "redirect_uri"]
)
def test_token_endpoint_refuses_control_characters_in_any_parameter(client_app, name, value):
    data = {
        "grant_type": "authorization_code",
        "code": "c",
        "redirect_uri": "https://client.example/callback",
    }
    data[name] = value
    assert_oauth_error(Client().post(TOKEN_URL, data, **({} if name == "client_id" else client_app.basic())))
    row = AuditEvent.objects.get(event="token.refused")
    assert row.reason == "parameter_control_character" and "\x00" not in row.client_id


@pytest.mark.parametrize("value", HOSTILE)
def test_token_endpoint_refuses_control_characters_in_basic_credentials(client_app, value):
    assert_oauth_error(Client().post(TOKEN_URL, {"grant_type": "client_credentials"}, **basic(value, "x")))
    assert_oauth_error(
        Client().post(TOKEN_URL, {"grant_type": "client_credentials"}, **basic(client_app.client_id, value))
    )
    encoded = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"%00:x").decode()}  # RFC 6749 §2.3.1
    assert_oauth_error(Client().post(TOKEN_URL, {"grant_type": "client_credentials"}, **encoded))
    assert AuditEvent.objects.filter(event="token.refused", reason="parameter_control_character").count() == 3


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize(
    "name", ["client_id", "requested_actor", "scope", "redirect_uri", "state", "code_challenge"]
)
def test_authorization_endpoint_refuses_control_characters(user, client_app, agent, name, value):
    params = authorize_params(client_app, pkce()[1], agent.actor_id)
    params[name] = value
    response = logged_in(user).get(AUTHORIZE_URL + "?" + urlencode(params))
    assert response.status_code == 400 and b"Traceback" not in response.content
    assert AuditEvent.objects.get(event="consent.denied").reason == "parameter_control_character"


def test_consent_post_with_a_control_character_grants_nothing(user, client_app, agent):
    browser = logged_in(user)
    page = browser.get(
        AUTHORIZE_URL + "?" + urlencode(authorize_params(client_app, pkce()[1], agent.actor_id))
    )
    form = {**hidden_fields(page.content.decode()), "allow": "Authorize"}
    form["consent_id"] = form["consent_id"] + "\x00"
    response = browser.post(AUTHORIZE_URL, form)
    assert response.status_code == 400
    assert AuditEvent.objects.filter(event="consent.denied", reason="parameter_control_character").exists()
    assert not AuditEvent.objects.filter(event="code.issued").exists()


@pytest.mark.parametrize("endpoint", ["/o/introspect/", "/o/revoke_token/"])
@pytest.mark.parametrize("value", HOSTILE)
def test_introspection_and_revocation_refuse_control_characters(client_app, endpoint, value):
    assert_oauth_error(Client().post(endpoint, {"token": value}, **client_app.basic()))
    assert_oauth_error(Client().post(endpoint, {"token": "t"}, **basic(value, "secret")))
    assert_oauth_error(Client().post(endpoint, {"token": "t", "client_id": value, "client_secret": "s"}))
    assert_oauth_error(
        Client().post(endpoint, {"token": "t", "token_type_hint": value}, **client_app.basic())
    )


def test_the_example_project_runs_without_debug_unless_asked():
    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_DEBUG"}
    probe = [sys.executable, "-c", "import example_project.settings as s; print(s.DEBUG)"]
    assert subprocess.run(
        probe, cwd=root, env=env, capture_output=True, text=True, check=True
    ).stdout.strip() == ("False")
    env["DJANGO_DEBUG"] = "1"
    assert subprocess.run(
        probe, cwd=root, env=env, capture_output=True, text=True, check=True
    ).stdout.strip() == ("True")
