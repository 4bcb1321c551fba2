"""Concurrency on a real PostgreSQL server: single-use codes and single-use assertions."""

import threading

import pytest
from django.db import connection, connections

from django_agent_obo.models import AuditEvent, IssuedToken
from tests.conftest import actor_assertion, get_code, logged_in, redeem

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
WORKERS = 12


@pytest.fixture(autouse=True)
def _needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")


def all_at_once(jobs):
    """Run the callables in threads released together; return their results."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait()
            results[index] = job()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize("attempt", range(10))
def test_one_code_redeemed_by_many_requests_yields_exactly_one_token(user, client_app, agent, attempt):
    code, verifier = get_code(logged_in(user), client_app, actor=agent.actor_id)
    proofs = [actor_assertion(agent) for _ in range(WORKERS)]
    responses = all_at_once([lambda p=p: redeem(client_app, code, verifier, actor_token=p) for p in proofs])
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 1, statuses
    assert IssuedToken.objects.filter(kind="delegated").count() == 1
    assert AuditEvent.objects.filter(event="token.issued").count() == 1
    assert AuditEvent.objects.filter(event="token.refused").count() == WORKERS - 1


def test_one_assertion_on_many_codes_succeeds_exactly_once(user, client_app, agent):
    codes = [get_code(logged_in(user), client_app, actor=agent.actor_id) for _ in range(WORKERS)]
    assertion = actor_assertion(agent)
    responses = all_at_once(
        [lambda c=c: redeem(client_app, c[0], c[1], actor_token=assertion) for c in codes]
    )
    assert sum(r.status_code == 200 for r in responses) == 1
    assert (
        AuditEvent.objects.filter(event="token.refused", reason="actor_token_replayed").count() == WORKERS - 1
    )


def test_concurrent_consents_for_one_agent_settle_on_one_grant(user, client_app, agent):
    from urllib.parse import urlencode

    from django_agent_obo.models import AgentGrant, CodeBinding
    from tests.conftest import AUTHORIZE_URL, authorize_params, hidden_fields, pkce

    forms = []
    for _ in range(8):
        browser = logged_in(user)
        page = browser.get(
            AUTHORIZE_URL + "?" + urlencode(authorize_params(client_app, pkce()[1], agent.actor_id))
        )
        form = hidden_fields(page.content.decode())
        form["allow"] = "Authorize"
        forms.append((browser, form))
    responses = all_at_once([lambda b=b, f=f: b.post(AUTHORIZE_URL, f) for b, f in forms])
    assert [r.status_code for r in responses] == [302] * 8
    assert AgentGrant.objects.filter(revoked_at__isnull=True).count() == 1
    assert CodeBinding.objects.count() == 8
