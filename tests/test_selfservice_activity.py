""" "What it did for you" on /agents/: the agent's use of the user's data per day and kind, the
user's decisions, the protocol detail folded away, reasons in words, applications by name."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from django_agent_obo import audit
from django_agent_obo.models import AgentGrant
from tests.conftest import logged_in
from tests.fixtures_audit import delegate

AGENTS = "/agents/"


@pytest.fixture
def recorded(settings):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "RS_AUDIT_ACCESS": True, "RS_AUDIT_SAMPLE_RATE": 1.0}


def api(token: str, method: str = "get", **body: str):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if method == "post":
        return Client().post(
            "/api/calendar/events/", json.dumps(body), content_type="application/json", **auth
        )
    return Client().get("/api/calendar/events/", **auth)


def activity_of(html: str) -> str:
    return html.split("What it did for you")[1].split("</section>")[0]


def test_accesses_are_counted_per_day_and_kind_in_words(recorded, user, client_app, agent):
    tokens = delegate(user, client_app, agent, scope="calendar.read calendar.write")
    for _ in range(3):
        assert api(tokens["access_token"]).status_code == 200
    for title in ("Dentist", "Lunch"):
        assert api(tokens["access_token"], "post", title=title).status_code == 201
    part = activity_of(logged_in(user).get(AGENTS).content.decode())
    data = part.split("<h4>With your data</h4>")[1].split("</ul>\n")[0]
    assert "Read your calendar events: 3 times" in data
    assert "Create events in your calendar: twice" in data
    assert "/api/calendar/events/" not in part and "GET" not in part  # no protocol chatter


def test_refused_access_says_why_in_words_not_a_code(recorded, user, client_app, agent):
    tokens = delegate(user, client_app, agent, scope="calendar.read")
    assert api(tokens["access_token"], "post", title="x").status_code == 403
    part = activity_of(logged_in(user).get(AGENTS).content.decode())
    assert "Create events in your calendar: refused once (you did not allow it to do that)" in part
    assert "insufficient_scope" not in part


def test_decisions_name_the_application_and_protocol_detail_is_folded(user, client_app, agent):
    delegate(user, client_app, agent)
    grant = AgentGrant.objects.get(user=user)
    logged_in(user).post(f"/agents/grants/{grant.pk}/revoke/")
    html = logged_in(user).get(AGENTS).content.decode()
    part = activity_of(html)
    decisions = part.split("<h4>Your decisions</h4>")[1].split("</ul>")[0]
    assert "You allowed it to act for you through Calendar client: read your calendar events" in decisions
    assert "Its access through Calendar client ended: you revoked it" in decisions
    assert "authorization code" not in decisions and "access token" not in decisions
    technical = part.split("<details>")[1].split("</details>")[0]
    assert "It received an access token (through Calendar client): done" in technical
    assert client_app.client_id not in part


def test_a_revocation_cause_is_said_without_an_undeclared_reason_warning(user, client_app, agent, caplog):
    delegate(user, client_app, agent)
    grant = AgentGrant.objects.get(user=user)
    logged_in(user).post(f"/agents/grants/{grant.pk}/revoke/")
    with caplog.at_level("WARNING", logger="django_agent_obo"):
        html = logged_in(user).get(AGENTS).content.decode()
    assert "ended: you revoked it" in activity_of(html)
    assert "Undeclared refusal reason" not in caplog.text


@pytest.mark.undeclared_reasons
def test_unknown_reason_codes_never_show_raw(user, client_app, agent):
    delegate(user, client_app, agent)
    audit.record(
        "token.refused",
        outcome="failure",
        reason="actor_token_lifetime",
        user=user,
        client_id=client_app.client_id,
        actor_chain=[agent.actor_id],
    )
    audit.record(
        "token.refused", outcome="failure", reason="brand_new_code", user=user, actor_chain=[agent.actor_id]
    )
    part = activity_of(logged_in(user).get(AGENTS).content.decode())
    assert "refused: it could not prove who it is" in part
    assert "refused: for a technical reason" in part
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", re.sub(r"<[^>]+>", " ", part))


def test_long_agent_ids_may_wrap_only_at_their_separators(user, client_app):
    from tests.conftest import make_agent

    long_id = "https://agents.example.com/calendar-assistant/v2?tenant=household_7f3c"
    agent = make_agent(long_id, clients=(client_app,))
    delegate(user, client_app, agent)
    html = logged_in(user).get(AGENTS).content.decode()
    assert (
        "https:<wbr>/<wbr>/<wbr>agents.<wbr>example.<wbr>com/<wbr>calendar-assistant/<wbr>v2?<wbr>"
        "tenant=<wbr>household_<wbr>7f3c"
    ) in html
    assert f'title="{long_id}"' in html
