"""The device grant on a real PostgreSQL server: one approval, many redemptions at once, one token."""

import pytest
from django.db import connection
from django.test import Client

from django_agent_obo.models import AuditEvent, IssuedToken
from tests.conftest import TOKEN_URL, actor_assertion, make_agent
from tests.fixtures_device import DEVICE_CODE, answer, ask, device_app
from tests.test_races import WORKERS, all_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")


@pytest.mark.parametrize("attempt", range(3))
def test_many_redemptions_after_approval_yield_exactly_one_token(user, attempt):
    tv = device_app()
    agent = make_agent(clients=(tv,))
    body = ask(tv, requested_actor=agent.actor_id).json()
    answer(user, tv, body["user_code"])
    proofs = [actor_assertion(agent) for _ in range(WORKERS)]

    def redeem(proof):
        data = {"grant_type": DEVICE_CODE, "device_code": body["device_code"], "actor_token": proof}
        return Client().post(TOKEN_URL, data, **tv.basic())

    responses = all_at_once([lambda p=p: redeem(p) for p in proofs])
    assert sorted(r.status_code for r in responses).count(200) == 1, [r.content for r in responses]
    assert {r.json()["error"] for r in responses if r.status_code != 200} == {"invalid_grant"}
    assert IssuedToken.objects.filter(kind="delegated").count() == 1
    assert AuditEvent.objects.filter(event="token.issued").count() == 1
    assert AuditEvent.objects.filter(event="token.refused", reason="device_code_used").count() == WORKERS - 1


def test_concurrent_polls_while_pending_get_slow_down(user):
    tv = device_app()
    body = ask(tv).json()
    data = {"grant_type": DEVICE_CODE, "device_code": body["device_code"]}
    responses = all_at_once([lambda: Client().post(TOKEN_URL, data, **tv.basic()) for _ in range(WORKERS)])
    errors = sorted(r.json()["error"] for r in responses)
    assert errors.count("authorization_pending") == 1, errors
    assert errors.count("slow_down") == WORKERS - 1
