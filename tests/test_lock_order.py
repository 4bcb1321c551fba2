"""One lock order everywhere: agent, then grant, then tokens (docs/architecture.md).

Revocations lock in that order (``delegation.py``); a token request that locked a grant
before its agent, or a token before its grant, could deadlock with one. Every successful
grant is run on PostgreSQL and the rows its statements lock (``FOR UPDATE``,
``FOR KEY SHARE``, …) are read from the SQL, in the order they are taken.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from django_agent_obo.models import Agent, AgentGrant, IssuedToken
from tests.conftest import TOKEN_URL, actor_assertion, get_code, logged_in, make_agent, redeem
from tests.fixtures_backchannel import answer, poll
from tests.fixtures_exchange import accepts, delegate, exchange
from tests.test_backchannel import start

pytestmark = [pytest.mark.postgres]
LOCKING = re.compile(r"\bFOR (UPDATE|NO KEY UPDATE|SHARE|KEY SHARE)\b")


@pytest.fixture(autouse=True)
def _needs_postgres(settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    settings.AGENT_OBO = {**settings.AGENT_OBO, "BACKCHANNEL_INTERVAL_SECONDS": 0}


def _ranks() -> dict[str, int]:
    tokens = (IssuedToken, get_access_token_model(), get_refresh_token_model())
    return {
        Agent._meta.db_table: 0,
        AgentGrant._meta.db_table: 1,
        **{model._meta.db_table: 2 for model in tokens},
    }


def locks_taken(send: Any) -> list[str]:
    """The tables whose rows ``send()`` locks, in the order it first locks each (a row
    locked again is held already)."""
    ranks = _ranks()
    with CaptureQueriesContext(connection) as queries:
        response = send()
    assert response.status_code == 200, response.content
    taken: list[str] = []
    for query in queries.captured_queries:
        sql = query["sql"]
        if not LOCKING.search(sql):
            continue
        named = sorted((sql.find(f'"{table}"'), table) for table in ranks if f'"{table}"' in sql)
        taken += [table for _, table in named if table not in taken]
    return taken


def assert_in_order(taken: list[str]) -> None:
    ranks = _ranks()
    assert taken, "no row was locked"
    assert [ranks[t] for t in taken] == sorted(ranks[t] for t in taken), taken


def test_code_redemption(user, client_app, agent):
    code, verifier = get_code(logged_in(user), client_app, actor=agent.actor_id)
    proof = actor_assertion(agent)
    assert_in_order(locks_taken(lambda: redeem(client_app, code, verifier, actor_token=proof)))


def test_refresh(user, client_app, agent):
    first = delegate(user, client_app, agent)
    data = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    data["actor_token"] = actor_assertion(agent)
    assert_in_order(locks_taken(lambda: Client().post(TOKEN_URL, data, **client_app.basic())))


def test_token_exchange_locks_the_agent_before_the_grant(user, client_app, agent):
    booking = make_agent("agent:booking", scopes="calendar.read")
    accepts(booking, agent)
    subject = delegate(user, client_app, agent)["access_token"]
    proof = actor_assertion(booking)
    assert_in_order(locks_taken(lambda: exchange(agent, subject, actor_token=proof)))


def test_ciba_poll(user, client_app, agent):
    body, row = start(client_app, agent)
    answer(user, row.pk)
    proof = actor_assertion(agent)
    assert_in_order(locks_taken(lambda: poll(client_app, body["auth_req_id"], actor_token=proof)))
