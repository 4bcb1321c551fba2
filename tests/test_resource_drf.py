"""The DRF authentication and permission classes: same answers as the plain Django decorator."""

from __future__ import annotations

import pytest

from tests.conftest import actor_token_issued
from tests.fixtures_resource import API_AUDIENCE, call, challenge, delegated_token, mint, user_token

pytestmark = pytest.mark.urls("tests.resource_urls")


@pytest.fixture(autouse=True)
def _drf_settings(settings):
    settings.REST_FRAMEWORK = {
        "EXCEPTION_HANDLER": "django_agent_obo.contrib.rest_framework.exception_handler"
    }


def test_authenticate_gives_the_user_and_the_token(user, client_app, agent):
    response = call("/drf/any/", delegated_token(user, client_app, agent))
    assert response.status_code == 200
    assert response.json() == {"sub": str(user.pk), "actor": agent.actor_id, "user": user.get_username()}


def test_agents_own_token_authenticates_without_a_user(agent):
    response = call("/drf/any/", actor_token_issued(agent, resource=API_AUDIENCE))
    assert response.status_code == 200
    assert response.json()["user"] == ""


def test_no_token_gets_the_bare_challenge():
    response = call("/drf/any/")
    assert response.status_code == 401
    assert challenge(response) == (
        "Bearer",
        {"resource_metadata": "http://testserver/.well-known/oauth-protected-resource"},
    )


def test_bad_token_gets_invalid_token(client_app):
    response = call("/drf/any/", mint(client_app, iss="https://evil.example"))
    assert response.status_code == 401
    assert challenge(response)[1]["error"] == "invalid_token"
    assert response.json()["error"] == "invalid_token"


def test_malformed_header_gets_invalid_request():
    response = call("/drf/any/", HTTP_AUTHORIZATION="Bearer a b")
    assert response.status_code == 400
    assert challenge(response)[1]["error"] == "invalid_request"


def test_missing_scope_gets_insufficient_scope_challenge(client_app):
    response = call("/drf/write/", mint(client_app, scope="calendar.read"))
    assert response.status_code == 403
    _, params = challenge(response)
    assert params["error"] == "insufficient_scope"
    assert params["scope"] == params["required_scope"] == "calendar.write"
    assert response.json()["error"] == "insufficient_scope"
    assert call("/drf/write/", mint(client_app, scope="calendar.write")).status_code == 200


def test_any_of_scopes(client_app):
    assert call("/drf/any-of/", mint(client_app, scope="calendar.read")).status_code == 200
    assert call("/drf/any-of/", mint(client_app, scope="profile")).status_code == 403


def test_is_agent_and_its_negation(user, client_app, agent):
    delegated = delegated_token(user, client_app, agent)
    plain = user_token(user, client_app)
    assert call("/drf/agent/", delegated).status_code == 200
    assert call("/drf/agent/", plain).status_code == 403
    assert call("/drf/no-agent/", plain).status_code == 200
    assert call("/drf/no-agent/", delegated).status_code == 403


def test_permissions_compose_with_or_and_and(user, client_app):
    writer = mint(client_app, user=user, scope="calendar.write")
    allowed_agent = mint(client_app, user=user, chain=["agent:calendar-assistant"])
    other_agent = mint(client_app, user=user, chain=["agent:other"])
    assert call("/drf/composed/", writer).status_code == 200
    assert call("/drf/composed/", allowed_agent).status_code == 200
    assert call("/drf/composed/", other_agent).status_code == 403
    assert call("/drf/composed/", mint(client_app, user=user)).status_code == 403


def test_max_chain_depth(user, client_app):
    assert call("/drf/depth-1/", mint(client_app, user=user, chain=["agent:a"])).status_code == 200
    response = call("/drf/depth-1/", mint(client_app, user=user, chain=["agent:b", "agent:a"]))
    assert response.status_code == 403
    assert response.json()["error"] == "access_denied"


def test_posts_need_no_csrf_token(client_app):
    assert call("/drf/any/", mint(client_app), method="post").status_code == 200
