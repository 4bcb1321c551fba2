"""CIBA on a real PostgreSQL server: one approval, many polls at once, exactly one token."""

import pytest
from django.db import connection

from django_agent_obo.models import AuditEvent, BackchannelRequest, IssuedToken
from tests.conftest import actor_assertion
from tests.fixtures_backchannel import answer, bc_authorize, poll
from tests.test_races import WORKERS, all_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")


@pytest.mark.parametrize("interval", [0, 5])
@pytest.mark.parametrize("attempt", range(3))
def test_many_polls_after_approval_yield_exactly_one_token(
    settings, user, client_app, agent, interval, attempt
):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "BACKCHANNEL_INTERVAL_SECONDS": interval}
    auth_req_id = bc_authorize(client_app, requested_actor=agent.actor_id).json()["auth_req_id"]
    answer(user, BackchannelRequest.objects.get().pk)
    proofs = [actor_assertion(agent) for _ in range(WORKERS)]
    responses = all_at_once([lambda p=p: poll(client_app, auth_req_id, actor_token=p) for p in proofs])
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 1, [r.content for r in responses]
    errors = {r.json()["error"] for r in responses if r.status_code != 200}
    assert errors <= {"invalid_grant", "slow_down"}, errors
    assert IssuedToken.objects.filter(kind="delegated").count() == 1
    assert AuditEvent.objects.filter(event="token.issued").count() == 1
    assert AuditEvent.objects.filter(event="token.refused").count() == WORKERS - 1


def test_concurrent_polls_while_pending_get_slow_down(settings, user, client_app):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "BACKCHANNEL_INTERVAL_SECONDS": 5}
    auth_req_id = bc_authorize(client_app).json()["auth_req_id"]
    responses = all_at_once([lambda: poll(client_app, auth_req_id) for _ in range(WORKERS)])
    errors = sorted(r.json()["error"] for r in responses)
    assert errors.count("authorization_pending") == 1, errors
    assert errors.count("slow_down") == WORKERS - 1
