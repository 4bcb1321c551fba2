"""RFC 9396 at resource servers: request.auth, the permission helpers, the example API."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.conftest import logged_in, redeem
from tests.fixtures_details import READ_ALL, WEEK, approve, delegated_with
from tests.fixtures_resource import bearer, call, mint

DAY_IN = "2026-12-03"
DAY_OUT = "2026-12-09"


@pytest.fixture
def drf_settings(settings):
    settings.REST_FRAMEWORK = {
        "EXCEPTION_HANDLER": "django_agent_obo.contrib.rest_framework.exception_handler"
    }


@pytest.mark.urls("tests.details_urls")
@pytest.mark.parametrize("path", ["/rs/details/", "/drf/details/"])
def test_permission_helper_admits_only_requests_inside_an_approved_detail(client_app, path, drf_settings):
    token = mint(client_app, authorization_details=[WEEK])
    assert call(path + f"?day={DAY_IN}", token).status_code == 200
    outside = call(path + f"?day={DAY_OUT}", token)
    assert outside.status_code == 403
    assert outside.json()["error"] == "access_denied"
    assert "outside the authorization_details" in outside.json()["error_description"]
    reader = mint(client_app, authorization_details=[READ_ALL])
    assert call(path + f"?day={DAY_IN}", reader).status_code == 403  # approved to read, not to create


@pytest.mark.urls("tests.details_urls")
@pytest.mark.parametrize("path", ["/rs/details/", "/drf/details/"])
def test_a_token_without_details_of_the_type_is_left_to_its_scopes(client_app, path, drf_settings):
    assert call(path + f"?day={DAY_OUT}", mint(client_app)).status_code == 200
    assert (
        call(path + f"?day={DAY_OUT}", mint(client_app, authorization_details=[{"type": "x"}])).status_code
        == 200
    )
    assert call(path).status_code == 401


@pytest.mark.urls("tests.details_urls")
def test_required_detail_refuses_a_token_without_one(client_app):
    refused = call(f"/rs/details-required/?day={DAY_IN}", mint(client_app))
    assert refused.status_code == 403 and "needs authorization_details" in refused.json()["error_description"]
    token = mint(client_app, authorization_details=[WEEK])
    assert call(f"/rs/details-required/?day={DAY_IN}", token).status_code == 200


@pytest.mark.urls("tests.details_urls")
@pytest.mark.parametrize("claim", ["nope", [1], [{"actions": ["read"]}], {"type": "calendar_event"}])
def test_a_malformed_claim_is_an_invalid_token(client_app, claim):
    response = call(f"/rs/details/?day={DAY_IN}", mint(client_app, authorization_details=claim))
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"


def post_event(token: str, **body: str):
    return Client().post(
        "/api/calendar/events/", json.dumps(body), content_type="application/json", **bearer(token)
    )


def test_whoami_adds_the_details_only_when_present(user, client_app, agent):
    token = delegated_with(user, client_app, agent, [WEEK]).json()["access_token"]
    data = call("/api/whoami/", token).json()
    assert data["authorization_details"] == [WEEK] and data["actor"] == agent.actor_id
    plain = call("/api/whoami/", mint(client_app, user=user)).json()
    assert "authorization_details" not in plain


def test_example_api_creates_only_inside_the_approved_calendar_event(user, client_app, agent):
    token = delegated_with(user, client_app, agent, [WEEK]).json()["access_token"]
    created = post_event(token, title="Standup", starts_at=f"{DAY_IN}T09:00:00+00:00")
    assert created.status_code == 201, created.content
    outside = post_event(token, title="Later", starts_at=f"{DAY_OUT}T09:00:00+00:00")
    assert outside.status_code == 403 and outside.json()["error"] == "access_denied"
    undated = post_event(token, title="Someday")
    assert undated.status_code == 403  # an event without a date is not inside a date range
    from example_project.calendar_api.models import Event

    assert list(Event.objects.values_list("title", flat=True)) == ["Standup"]


def test_example_api_without_details_keeps_scope_rules(user, client_app):
    token = mint(client_app, user=user, scope="calendar.write")
    assert post_event(token, title="Any day", starts_at=f"{DAY_OUT}T09:00:00+00:00").status_code == 201


def test_example_api_lists_only_events_inside_an_approved_read(user, client_app):
    writer = mint(client_app, user=user, scope="calendar.write")
    for day in (DAY_IN, DAY_OUT):
        assert post_event(writer, title=day, starts_at=f"{day}T09:00:00+00:00").status_code == 201
    ranged = {**READ_ALL, "date_from": "2026-12-01", "date_to": "2026-12-07"}
    reader = mint(client_app, user=user, scope="calendar.read", authorization_details=[ranged])
    titles = [e["title"] for e in call("/api/calendar/events/", reader).json()["events"]]
    assert titles == [DAY_IN]
    creator = mint(client_app, user=user, scope="calendar.read", authorization_details=[WEEK])
    assert call("/api/calendar/events/", creator).status_code == 403


def test_example_api_full_flow_without_actor(user, client_app):
    code, verifier = approve(logged_in(user), client_app, [WEEK])
    token = redeem(client_app, code, verifier).json()["access_token"]
    assert post_event(token, title="x", starts_at=f"{DAY_OUT}T09:00:00+00:00").status_code == 403
