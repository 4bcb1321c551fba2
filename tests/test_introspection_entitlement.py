"""Introspection tells only a caller entitled to the token (RFC 7662 §4; issue #12 item 7)."""

from __future__ import annotations

from django.test import Client

from tests.conftest import actor_token_issued, make_agent, make_app
from tests.fixtures_resource import API_AUDIENCE, delegated_token

INTROSPECT = "/o/introspect/"


def introspect(app, token, **extra):
    response = Client().post(INTROSPECT, {"token": token}, **app.basic(), **extra)
    assert response.status_code == 200, response.content
    return response.json()


def test_an_unrelated_agents_credentials_learn_nothing(user, client_app, agent):
    token = delegated_token(user, client_app, agent)
    stranger = make_agent("agent:stranger")
    assert introspect(stranger.app, token) == {"active": False}


def test_an_unrelated_client_learns_nothing(user, client_app, agent):
    token = delegated_token(user, client_app, agent)
    assert introspect(make_app("Other client"), token) == {"active": False}


def test_the_client_the_token_was_issued_to_learns_everything(user, client_app, agent):
    answer = introspect(client_app, delegated_token(user, client_app, agent))
    assert answer["active"] is True and answer["username"] == user.get_username()


def test_a_resource_server_registered_for_another_audience_learns_nothing(settings, user, client_app, agent):
    resource_server = make_app("Mail API", grant="client-credentials", redirect="")
    settings.AGENT_OBO = {
        **settings.AGENT_OBO,
        "INTROSPECTION_RESOURCE_SERVERS": {resource_server.client_id: ["https://mail.example/"]},
    }
    assert introspect(resource_server, delegated_token(user, client_app, agent)) == {"active": False}
    settings.AGENT_OBO = {
        **settings.AGENT_OBO,
        "INTROSPECTION_RESOURCE_SERVERS": {resource_server.client_id: [API_AUDIENCE]},
    }
    assert introspect(resource_server, delegated_token(user, client_app, agent))["active"] is True


def test_an_agents_own_token_is_for_the_agent(agent, client_app):
    token = actor_token_issued(agent)
    assert introspect(agent.app, token)["active"] is True
    assert introspect(client_app, token) == {"active": False}


def test_a_bearer_token_with_the_introspection_scope_is_entitled_like_its_client(user, client_app, agent):
    from oauth2_provider.models import get_access_token_model

    token = delegated_token(user, client_app, agent)
    other = make_app("Bearer caller")
    from datetime import timedelta

    from django.utils import timezone

    get_access_token_model().objects.create(
        token="introspector-token",
        application=other.model,
        scope="introspection",
        expires=timezone.now() + timedelta(minutes=5),
    )
    response = Client().post(INTROSPECT, {"token": token}, HTTP_AUTHORIZATION="Bearer introspector-token")
    assert response.status_code == 200 and response.json() == {"active": False}
