"""The example API (SPEC §5): /api/whoami/, /api/calendar/events/ and its RFC 9728 metadata."""

from __future__ import annotations

import json

from django.test import Client

from example_project.calendar_api.models import Event
from tests.conftest import actor_token_issued, decode_unverified
from tests.fixtures_resource import API_AUDIENCE, ISSUER, bearer, call, challenge, delegated_token, user_token

EVENTS = "/api/calendar/events/"


def post_event(token: str, body: object) -> object:
    return Client().post(EVENTS, json.dumps(body), content_type="application/json", **bearer(token))


def test_whoami_without_token_is_challenged():
    response = call("/api/whoami/")
    assert response.status_code == 401
    assert challenge(response) == (
        "Bearer",
        {"resource_metadata": "http://testserver/.well-known/oauth-protected-resource"},
    )


def test_whoami_shows_user_client_and_actor(user, client_app, agent):
    response = call("/api/whoami/", delegated_token(user, client_app, agent))
    assert response.status_code == 200
    assert response.json() == {
        "sub": str(user.pk),
        "client_id": client_app.client_id,
        "actor": agent.actor_id,
        "actor_chain": [agent.actor_id],
        "scope": "calendar.read",
    }


def test_whoami_without_act_has_null_actor(user, client_app):
    body = call("/api/whoami/", user_token(user, client_app)).json()
    assert body["actor"] is None
    assert body["actor_chain"] == []


def test_reading_events_needs_calendar_read(user, client_app, agent):
    token = delegated_token(user, client_app, agent, scope="calendar.write")
    response = call(EVENTS, token)
    assert response.status_code == 403
    assert challenge(response)[1]["required_scope"] == "calendar.read"


def test_writing_events_needs_calendar_write(user, client_app, agent):
    response = post_event(delegated_token(user, client_app, agent), {"title": "Dentist"})
    assert response.status_code == 403
    _, params = challenge(response)
    assert params["error"] == "insufficient_scope"
    assert params["scope"] == params["required_scope"] == "calendar.write"
    assert not Event.objects.exists()


def test_agent_writes_an_event_recorded_as_the_agents(user, client_app, agent):
    token = delegated_token(user, client_app, agent, scope="calendar.read calendar.write")
    response = post_event(token, {"title": "Dentist", "starts_at": "2030-01-02T09:00:00+00:00"})
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["created_by_actor"] == agent.actor_id
    assert created["actor_chain"] == [agent.actor_id]
    assert created["client_id"] == client_app.client_id
    event = Event.objects.get()
    assert (event.user, event.created_by_actor) == (user, agent.actor_id)
    listed = call(EVENTS, token).json()["events"]
    assert [e["title"] for e in listed] == ["Dentist"]


def test_users_own_client_writes_without_an_actor(user, client_app):
    token = user_token(user, client_app, scope="calendar.write")
    response = post_event(token, {"title": "Lunch"})
    assert response.status_code == 201
    assert response.json()["created_by_actor"] is None


def test_events_are_per_user(user, other_user, client_app, agent):
    mine = user_token(user, client_app, scope="calendar.read calendar.write")
    theirs = user_token(other_user, client_app, scope="calendar.read")
    post_event(mine, {"title": "Private"})
    assert call(EVENTS, theirs).json() == {"events": []}


def test_bad_event_bodies_are_invalid_requests(user, client_app):
    token = user_token(user, client_app, scope="calendar.write")
    for body in ({}, {"title": ""}, {"title": "x" * 201}, {"title": "ok", "starts_at": "tomorrow"}, ["x"]):
        response = post_event(token, body)
        assert response.status_code == 400, body
        assert response.json()["error"] == "invalid_request"


def test_agents_own_token_has_no_calendar(agent):
    response = call(EVENTS, actor_token_issued(agent, resource=API_AUDIENCE))
    assert response.status_code == 403
    assert response.json()["error"] == "access_denied"


def test_other_methods_are_not_allowed(user, client_app):
    assert call(EVENTS, user_token(user, client_app), method="delete").status_code == 405


def test_revoked_token_is_refused_on_the_very_next_request(user, client_app, agent):
    token = delegated_token(user, client_app, agent)
    assert call("/api/whoami/", token).status_code == 200
    Client().post("/o/revoke_token/", {"token": token}, **client_app.basic())
    response = call("/api/whoami/", token)
    assert response.status_code == 401
    assert challenge(response)[1]["error"] == "invalid_token"


def test_protected_resource_metadata_describes_the_api():
    response = Client().get("/.well-known/oauth-protected-resource")
    assert response.status_code == 200
    assert response.json() == {
        "resource": API_AUDIENCE,
        "authorization_servers": [ISSUER],
        "scopes_supported": ["calendar.read", "calendar.write"],
        "bearer_methods_supported": ["header"],
    }


def test_the_api_is_its_own_audience(user, client_app, agent):
    resource = Client().get("/.well-known/oauth-protected-resource").json()["resource"]
    assert decode_unverified(delegated_token(user, client_app, agent))["aud"] == resource
