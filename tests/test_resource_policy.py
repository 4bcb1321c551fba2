"""``@token_required`` policies and the RFC 6750 / RFC 9728 answers of plain Django views."""

from __future__ import annotations

import pytest

from django_agent_obo.models import AuditEvent
from tests.conftest import actor_token_issued
from tests.fixtures_resource import (
    API_AUDIENCE,
    call,
    challenge,
    configure,
    delegated_token,
    mint,
    user_token,
)

pytestmark = pytest.mark.urls("tests.resource_urls")
METADATA = "http://testserver/.well-known/oauth-protected-resource"


def test_no_token_gets_a_bare_challenge_with_resource_metadata():
    response = call("/rs/any/")
    assert response.status_code == 401
    scheme, params = challenge(response)
    assert scheme == "Bearer"
    assert params == {"resource_metadata": METADATA}
    assert "error" not in response.json()


def test_other_authorization_schemes_count_as_no_token():
    response = call("/rs/any/", HTTP_AUTHORIZATION="Basic YTpi")
    assert response.status_code == 401
    assert "error" not in challenge(response)[1]


def test_malformed_bearer_header_is_an_invalid_request():
    response = call("/rs/any/", HTTP_AUTHORIZATION="Bearer two parts")
    assert response.status_code == 400
    assert challenge(response)[1]["error"] == "invalid_request"
    assert response.json()["error"] == "invalid_request"


def test_bad_token_gets_invalid_token_in_header_and_body(client_app):
    response = call("/rs/any/", mint(client_app, aud="https://elsewhere.example/"))
    assert response.status_code == 401
    _, params = challenge(response)
    assert params["error"] == "invalid_token"
    assert params["resource_metadata"] == METADATA
    assert response.json() == {"error": "invalid_token", "error_description": params["error_description"]}
    assert response["Cache-Control"] == "no-store"


def test_configured_resource_metadata_url_is_advertised(settings):
    configure(settings, RS_RESOURCE_METADATA_URL="https://api.example/.well-known/oauth-protected-resource")
    assert challenge(call("/rs/any/"))[1]["resource_metadata"].startswith("https://api.example/")


def test_valid_token_reaches_the_view_with_request_auth_and_user(user, client_app, agent):
    response = call("/rs/any/", delegated_token(user, client_app, agent))
    assert response.status_code == 200
    assert response.json() == {
        "sub": str(user.pk),
        "actor": agent.actor_id,
        "actor_chain": [agent.actor_id],
        "scopes": ["calendar.read"],
        "user": user.get_username(),
    }


def test_all_scopes_required(client_app):
    assert call("/rs/all/", mint(client_app, scope="calendar.read calendar.write")).status_code == 200
    response = call("/rs/all/", mint(client_app, scope="calendar.read"))
    assert response.status_code == 403
    _, params = challenge(response)
    assert params["error"] == "insufficient_scope"
    assert params["scope"] == params["required_scope"] == "calendar.read calendar.write"
    assert response.json()["required_scope"] == "calendar.read calendar.write"


def test_any_scope_suffices_with_scope_match_any(client_app):
    assert call("/rs/any-of/", mint(client_app, scope="calendar.write")).status_code == 200
    response = call("/rs/any-of/", mint(client_app, scope="profile"))
    assert response.status_code == 403
    assert challenge(response)[1]["error"] == "insufficient_scope"


def test_agent_required(user, client_app, agent):
    assert call("/rs/agent/", delegated_token(user, client_app, agent)).status_code == 200
    response = call("/rs/agent/", user_token(user, client_app))
    assert response.status_code == 403
    assert response.json()["error"] == "access_denied"
    assert "WWW-Authenticate" not in response


def test_agent_forbidden(user, client_app, agent):
    assert call("/rs/no-agent/", user_token(user, client_app)).status_code == 200
    assert call("/rs/no-agent/", delegated_token(user, client_app, agent)).status_code == 403
    assert call("/rs/no-agent/", actor_token_issued(agent, resource=API_AUDIENCE)).status_code == 403


def test_allowed_actors_by_id(user, client_app):
    assert (
        call("/rs/actors/", mint(client_app, user=user, chain=["agent:calendar-assistant"])).status_code
        == 200
    )
    assert call("/rs/actors/", mint(client_app, user=user, chain=["agent:other"])).status_code == 403
    assert call("/rs/actors/", mint(client_app, user=user)).status_code == 403


def test_allowed_actors_by_callable(user, client_app):
    assert (
        call("/rs/actors-callable/", mint(client_app, user=user, chain=["agent:trusted-1"])).status_code
        == 200
    )
    assert (
        call("/rs/actors-callable/", mint(client_app, user=user, chain=["agent:random"])).status_code == 403
    )


def test_max_chain_depth(user, client_app):
    assert call("/rs/depth-1/", mint(client_app, user=user, chain=["agent:b"])).status_code == 200
    response = call("/rs/depth-1/", mint(client_app, user=user, chain=["agent:b", "agent:a"]))
    assert response.status_code == 403
    assert response.json()["error"] == "access_denied"


def test_challenge_values_are_escaped(client_app):
    response = call("/rs/hostile-scope/", mint(client_app))
    header = response["WWW-Authenticate"]
    assert response.status_code == 403
    assert "\r" not in header and "\n" not in header
    assert "X-Injected" not in response.headers
    assert 'scope="odd\\"scope\\\\ xX-Injected: yes"' in header
    assert challenge(response)[1]["scope"] == 'odd"scope\\ xX-Injected: yes'


def test_protected_views_accept_posts_without_csrf_token(client_app):
    assert call("/rs/any/", mint(client_app), method="post").status_code == 200


def test_middleware_authenticates_without_refusing(settings, user, client_app):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django_agent_obo.resource.AccessTokenMiddleware"]
    token = user_token(user, client_app)
    assert call("/rs/open/", token).json()["user"] == user.get_username()
    assert call("/rs/open/").json() == {"auth": None, "user": ""}
    assert call("/rs/open/", mint(client_app, iss="https://evil.example")).json()["auth"] is None
    assert call("/rs/any/", mint(client_app, iss="https://evil.example")).status_code == 401


def test_access_is_not_audited_by_default(client_app):
    call("/rs/any/", mint(client_app))
    assert not AuditEvent.objects.filter(event="resource.accessed").exists()


def test_access_audit_records_successes_and_refusals(settings, user, client_app, agent):
    configure(settings, RS_AUDIT_ACCESS=True)
    token = delegated_token(user, client_app, agent)
    call("/rs/any/", token)
    call("/rs/all/", token)
    call("/rs/any/")
    rows = list(AuditEvent.objects.filter(event="resource.accessed").order_by("id"))
    assert [(r.outcome, r.reason) for r in rows] == [
        ("success", ""),
        ("failure", "insufficient_scope"),
        ("failure", "token_missing"),
    ]
    assert rows[0].user == user and rows[0].actor_id == agent.actor_id
    assert rows[0].client_id == client_app.client_id and rows[0].jti


def test_access_audit_sampling_zero_records_nothing(settings, client_app):
    configure(settings, RS_AUDIT_ACCESS=True, RS_AUDIT_SAMPLE_RATE=0)
    for _ in range(5):
        call("/rs/any/", mint(client_app))
    assert not AuditEvent.objects.filter(event="resource.accessed").exists()
