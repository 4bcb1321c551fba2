"""Hostile input to /o/bc-authorize/ and to the CIBA grant: always a CIBA/OAuth error, never a 500."""

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TOKEN_URL
from tests.fixtures_backchannel import BC_URL, CIBA

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PARAMS = [
    "login_hint",
    "scope",
    "binding_message",
    "requested_actor",
    "authorization_details",
    "requested_expiry",
    "client_notification_token",
    "user_code",
    "id_token_hint",
]
ERRORS = {
    "invalid_request",
    "invalid_client",
    "unauthorized_client",
    "invalid_scope",
    "unknown_user_id",
    "invalid_binding_message",
    "invalid_authorization_details",
    "access_denied",
    "too_many_requests",
}
text = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)


@pytest.mark.django_db
@FUZZ
@given(pairs=st.lists(st.tuples(st.sampled_from(PARAMS), text), max_size=8))
def test_bc_authorize_never_fails_on_hostile_input(user, client_app, agent, pairs):
    data: dict[str, list[str]] = {}
    for name, value in pairs:
        data.setdefault(name, []).append(value)
    response = Client().post(BC_URL, data, **client_app.basic())
    assert response.status_code in (200, 400, 401, 403, 429), response.content
    if response.status_code != 200:
        assert response.json()["error"] in ERRORS


@pytest.mark.django_db
@FUZZ
@given(auth_req_id=text, actor_token=text)
def test_ciba_grant_never_fails_on_hostile_input(client_app, auth_req_id, actor_token):
    data = {"grant_type": CIBA, "auth_req_id": auth_req_id, "actor_token": actor_token}
    response = Client().post(TOKEN_URL, data, **client_app.basic())
    assert response.status_code == 400, response.content
    assert response.json()["error"] in {"invalid_request", "invalid_grant"}
