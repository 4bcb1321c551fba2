"""The flood limits of the CIBA and device authorization endpoints count what happens before a
client authenticates per source address, never per the client id a request claims: anyone
could name a client's public id and spend its limit (the outside review's finding)."""

from __future__ import annotations

import pytest

from tests.conftest import make_app
from tests.fixtures_device import DEVICE_AUTHORIZATION_URL, device_app, post_form

ATTACKER, VICTIM = "203.0.113.66", "198.51.100.10"


@pytest.fixture(autouse=True)
def _low_limit(settings):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "TOKEN_RATE_LIMIT": "3/min"}


@pytest.mark.parametrize("endpoint", ["/o/bc-authorize/", DEVICE_AUTHORIZATION_URL])
def test_naming_a_client_does_not_spend_its_limit(endpoint, user):
    victim = device_app() if endpoint == DEVICE_AUTHORIZATION_URL else make_app("Victim")
    data = {"client_id": victim.client_id, "scope": "calendar.read", "login_hint": "alice"}
    for _ in range(6):  # unauthenticated, naming the victim
        post_form(endpoint, data, REMOTE_ADDR=ATTACKER)
    assert post_form(endpoint, data, REMOTE_ADDR=ATTACKER).status_code == 429
    answer = post_form(endpoint, data, REMOTE_ADDR=VICTIM, **victim.basic())
    assert answer.status_code == 200, answer.content
