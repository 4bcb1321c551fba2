"""Concurrency on a real PostgreSQL server: one DPoP proof, many simultaneous token requests."""

import pytest
from django.db import connection
from django.test import Client

from django_agent_obo.models import AuditEvent, IssuedToken
from tests.conftest import TOKEN_URL, make_app
from tests.fixtures_dpop import DPoPKey
from tests.test_races import WORKERS, all_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")


@pytest.mark.parametrize("attempt", range(3))
def test_one_proof_sent_by_many_requests_at_once_is_accepted_once(attempt):
    machine = make_app("Machine client", grant="client-credentials")
    proof = DPoPKey().proof()

    def post():
        return Client().post(
            TOKEN_URL, {"grant_type": "client_credentials"}, HTTP_DPOP=proof, **machine.basic()
        )

    statuses = sorted(r.status_code for r in all_at_once([post] * WORKERS))
    assert statuses.count(200) == 1, statuses
    assert IssuedToken.objects.exclude(dpop_jkt="").count() == 1
    assert AuditEvent.objects.filter(event="token.refused", reason="dpop_replayed").count() == WORKERS - 1
