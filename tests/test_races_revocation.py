"""Concurrency on PostgreSQL: refresh reuse, and revocation racing refresh and exchange.

After a revocation returns, no token minted concurrently from what it revoked is live.
"""

import pytest
from django.db import connection

from django_agent_obo import delegation
from django_agent_obo.models import AgentGrant, IssuedToken
from tests.conftest import actor_token_issued, make_agent
from tests.fixtures_exchange import accepts, delegate, exchange, record_of
from tests.test_races import WORKERS, all_at_once
from tests.test_refresh import refresh

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROUNDS = 5


@pytest.fixture(autouse=True)
def _needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")


def test_one_refresh_token_used_many_times_at_once_succeeds_once_and_revokes_the_family(
    user, client_app, agent
):
    first = delegate(user, client_app, agent)
    proofs = [actor_token_issued(agent) for _ in range(WORKERS)]
    responses = all_at_once(
        [lambda p=p: refresh(client_app, first["refresh_token"], actor_token=p) for p in proofs]
    )
    assert sum(r.status_code == 200 for r in responses) == 1, [r.status_code for r in responses]
    assert not IssuedToken.objects.filter(kind="delegated", revoked_at__isnull=True).exists()


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_grant_revocation_racing_refresh_leaves_nothing_live(user, client_app, agent, round_):
    first = delegate(user, client_app, agent)
    proof = actor_token_issued(agent)
    grant = AgentGrant.objects.get()
    results = all_at_once(
        [
            lambda: refresh(client_app, first["refresh_token"], actor_token=proof),
            lambda: delegation.revoke_grant(grant),
        ]
    )
    assert not IssuedToken.objects.filter(agent_grant=grant, revoked_at__isnull=True).exists()
    assert results[0].status_code in (200, 400)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_token_revocation_racing_exchange_leaves_no_live_descendant(user, client_app, agent, round_):
    helper = make_agent("agent:helper", clients=(client_app,))
    accepts(helper, agent)
    subject = delegate(user, client_app, agent)["access_token"]
    parent = record_of(subject)
    proof = actor_token_issued(helper)
    results = all_at_once(
        [lambda: exchange(agent, subject, actor_token=proof), lambda: delegation.revoke_token(parent)]
    )
    assert not IssuedToken.objects.filter(parent=parent, revoked_at__isnull=True).exists()
    assert results[0].status_code in (200, 400)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_kill_switch_racing_exchange_leaves_nothing_live_for_the_agent(user, client_app, agent, round_):
    helper = make_agent("agent:helper", clients=(client_app,))
    accepts(helper, agent)
    subject = delegate(user, client_app, agent)["access_token"]
    proof = actor_token_issued(helper)
    all_at_once(
        [
            lambda: exchange(agent, subject, actor_token=proof),
            lambda: delegation.set_agent_active(helper.model, False),
        ]
    )
    assert not IssuedToken.objects.filter(agent=helper.model, revoked_at__isnull=True).exists()
