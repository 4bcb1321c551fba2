"""Lineage: ending a token, a grant or an agent ends every token derived from it, at any depth."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from django_agent_obo import delegation
from django_agent_obo.models import AgentGrant, AuditEvent, IssuedToken
from tests.conftest import AgentFixture, actor_token_issued, make_agent
from tests.fixtures_exchange import (
    accepts,
    assert_refused,
    delegate,
    exchange,
    hand_over,
    introspect,
    last_event,
    record_of,
)


@dataclass
class Chain:
    """user → assistant (t1) → scheduler (t2) → mailer (t3)."""

    agents: list[AgentFixture]
    tokens: list[str]


@pytest.fixture
def chain(user, client_app, agent) -> Chain:
    scheduler = make_agent("agent:scheduler", name="Scheduler")
    mailer = make_agent("agent:mailer", name="Mailer")
    accepts(scheduler, agent)
    accepts(mailer, scheduler)
    t1 = delegate(user, client_app, agent)["access_token"]
    t2 = hand_over(agent, t1, scheduler)
    t3 = hand_over(scheduler, t2, mailer)
    return Chain(agents=[agent, scheduler, mailer], tokens=[t1, t2, t3])


def live(client_app, token: str) -> bool:
    """Live by our record (what resource servers consult) and by DOT's introspection."""
    ours = record_of(token).revoked_at is None
    assert ours == introspect(client_app, token)["active"]
    return ours


def test_chain_starts_live(client_app, chain):
    assert [live(client_app, t) for t in chain.tokens] == [True, True, True]
    assert [record_of(t).parent for t in chain.tokens] == [
        None,
        record_of(chain.tokens[0]),
        record_of(chain.tokens[1]),
    ]


def test_revoking_the_first_token_revokes_the_whole_chain(client_app, chain):
    revoked = Client().post("/o/revoke_token/", {"token": chain.tokens[0]}, **client_app.basic())
    assert revoked.status_code == 200
    assert [live(client_app, t) for t in chain.tokens] == [False, False, False]
    row = last_event("token.revoked")
    assert row.detail["count"] == 3 and row.detail["reason"] == "client_revoked"
    mailer = chain.agents[2]
    response = exchange(mailer, chain.tokens[2])
    assert_refused(response, "invalid_grant", "subject_token_revoked")


def test_revoking_a_middle_token_spares_its_ancestors(client_app, chain):
    delegation.revoke_token(record_of(chain.tokens[1]))
    assert [live(client_app, t) for t in chain.tokens] == [True, False, False]


def test_revoking_the_grant_revokes_every_token_of_the_chain(user, client_app, chain):
    count = delegation.revoke_grant(AgentGrant.objects.get(), by=user)
    assert count == 3
    assert [live(client_app, t) for t in chain.tokens] == [False, False, False]
    assert last_event("grant.revoked").detail["tokens"] == 3


def test_disabling_the_middle_agent_ends_its_branch_only(client_app, chain):
    scheduler = chain.agents[1]
    delegation.set_agent_active(scheduler.model, False)
    assert [live(client_app, t) for t in chain.tokens] == [True, False, False]
    # Its own actor token, the token it held and the one exchanged from it.
    assert last_event("agent.disabled").detail["tokens_revoked"] == 3


def test_disabling_the_first_agent_ends_the_whole_chain(client_app, chain):
    delegation.set_agent_active(chain.agents[0].model, False)
    assert [live(client_app, t) for t in chain.tokens] == [False, False, False]


def test_disabling_the_last_agent_ends_only_its_token(client_app, chain):
    delegation.set_agent_active(chain.agents[2].model, False)
    assert [live(client_app, t) for t in chain.tokens] == [True, True, False]


def test_cascade_writes_one_revocation_row_in_the_same_transaction(client_app, chain):
    before = AuditEvent.objects.filter(event="token.revoked").count()
    delegation.revoke_token(record_of(chain.tokens[0]))
    rows = AuditEvent.objects.filter(event="token.revoked")
    assert rows.count() == before + 1
    jtis = set(rows.order_by("-id").first().detail["jti"])
    assert jtis == {record_of(t).jti for t in chain.tokens}


def test_sibling_branches_are_independent(user, client_app, agent, chain):
    """Two exchanges of the same token: revoking one branch leaves the other."""
    scheduler = chain.agents[1]
    sibling = hand_over(agent, chain.tokens[0], scheduler)
    delegation.revoke_token(record_of(chain.tokens[1]))
    assert live(client_app, sibling)
    assert not live(client_app, chain.tokens[2])


def test_no_token_is_exchanged_from_a_revoked_branch(client_app, chain):
    delegation.revoke_token(record_of(chain.tokens[1]))
    courier = make_agent("agent:courier", name="Courier")
    accepts(courier, chain.agents[2])
    response = exchange(chain.agents[2], chain.tokens[2], actor_token=actor_token_issued(courier))
    assert_refused(response, "invalid_grant", "subject_token_revoked")
    assert IssuedToken.objects.filter(agent=courier.model, kind="delegated").count() == 0


def test_resource_server_sees_the_chain_and_then_its_revocation(user, client_app, chain):
    third = chain.tokens[2]
    seen = Client().get("/api/whoami/", HTTP_AUTHORIZATION=f"Bearer {third}")
    assert seen.status_code == 200, seen.content
    assert seen.json()["sub"] == str(user.pk)
    assert seen.json()["client_id"] == client_app.client_id
    assert seen.json()["actor"] == "agent:mailer"
    assert seen.json()["actor_chain"] == ["agent:mailer", "agent:scheduler", "agent:calendar-assistant"]
    delegation.revoke_grant(AgentGrant.objects.get(), by=user)
    refused = Client().get("/api/whoami/", HTTP_AUTHORIZATION=f"Bearer {third}")
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused["WWW-Authenticate"]
