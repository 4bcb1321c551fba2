"""``/agents/``: a user's own delegations, activity, and revocation (IDOR- and CSRF-safe)."""

from __future__ import annotations

import re

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from django_agent_obo.models import AgentGrant
from tests.conftest import logged_in, make_agent, make_app
from tests.fixtures_audit import delegate, events, is_active, refresh

AGENTS = "/agents/"


def revoke_url(grant: AgentGrant) -> str:
    return reverse("agent_obo_selfservice:revoke", args=[grant.pk])


def test_anonymous_visitor_is_sent_to_login():
    response = Client().get(AGENTS)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/agents/")


def test_page_lists_agent_client_scopes_in_words_dates_and_activity(user, client_app, agent):
    delegate(user, client_app, agent, scope="calendar.read calendar.write", duration="3600")
    response = logged_in(user).get(AGENTS)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Agents acting for you</h1>" in html
    assert "Calendar Assistant" in html and "agent:calendar-assistant" in html
    assert "Through Calendar client" in html
    assert "Read your calendar events" in html and "Create events in your calendar" in html
    assert "Granted" in html and "Until" in html and "Last used" in html
    assert "until you revoke it" not in html
    assert "It received an access token" in html
    assert "You allowed it" in html
    assert response["Content-Security-Policy"].startswith("default-src 'none'")
    assert response["X-Frame-Options"] == "DENY"


def test_page_shows_only_the_signed_in_users_grants(user, other_user, client_app, agent):
    delegate(other_user, client_app, agent)
    html = logged_in(user).get(AGENTS).content.decode()
    assert "Calendar Assistant" not in html
    assert "You have not allowed any AI agent to act for you." in html


def test_revoke_asks_for_confirmation_first(user, client_app, agent):
    tokens = delegate(user, client_app, agent)
    grant = AgentGrant.objects.get(user=user)
    browser = logged_in(user)
    assert revoke_url(grant) in browser.get(AGENTS).content.decode()
    page = browser.get(revoke_url(grant))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Revoke Calendar Assistant's access?" in html
    assert 'name="csrfmiddlewaretoken"' in html and 'method="post"' in html
    grant.refresh_from_db()
    assert grant.revoked_at is None
    assert is_active(client_app, tokens["access_token"])


def test_revoke_stops_the_grant_and_every_token_at_once(user, client_app, agent):
    tokens = delegate(user, client_app, agent)
    grant = AgentGrant.objects.get(user=user)
    browser = logged_in(user)
    response = browser.post(revoke_url(grant), follow=True)
    assert response.redirect_chain == [(AGENTS, 302)]
    grant.refresh_from_db()
    assert grant.revoked_at is not None and grant.revoke_reason == "user_revoked"
    assert not is_active(client_app, tokens["access_token"])
    assert refresh(client_app, agent, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    html = response.content.decode()
    assert "can no longer act for you" in html
    assert "revoked" in html and "you revoked it" in html  # history stays visible
    assert revoke_url(grant) not in html
    (row,) = events("grant.revoked")
    assert (row.user, row.detail["by"], row.ip) == (user, "alice", "127.0.0.1")


def test_revoke_leaves_other_agents_and_other_users_untouched(user, other_user, client_app, agent):
    second = make_agent("agent:second", clients=(client_app,), name="Second Agent")
    other_client = make_app("Other client")
    agent.model.allowed_clients.add(other_client.model)
    mine = delegate(user, client_app, agent)
    via_other_client = delegate(user, other_client, agent)
    other_agent = delegate(user, client_app, second)
    theirs = delegate(other_user, client_app, agent)
    logged_in(user).post(
        revoke_url(AgentGrant.objects.get(user=user, agent=agent.model, application=client_app.model))
    )
    assert not is_active(client_app, mine["access_token"])
    assert is_active(other_client, via_other_client["access_token"])
    assert is_active(client_app, other_agent["access_token"])
    assert is_active(client_app, theirs["access_token"])


def test_another_users_grant_is_404_to_see_and_to_revoke(user, other_user, client_app, agent):
    tokens = delegate(other_user, client_app, agent)
    grant = AgentGrant.objects.get(user=other_user)
    browser = logged_in(user)
    assert browser.get(revoke_url(grant)).status_code == 404
    assert browser.post(revoke_url(grant)).status_code == 404
    assert logged_in(user).get(reverse("agent_obo_selfservice:revoke", args=[999999])).status_code == 404
    grant.refresh_from_db()
    assert grant.revoked_at is None
    assert is_active(client_app, tokens["access_token"])
    assert not events("grant.revoked")


def test_revoke_without_csrf_token_is_refused(user, client_app, agent):
    tokens = delegate(user, client_app, agent)
    grant = AgentGrant.objects.get(user=user)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.post(revoke_url(grant)).status_code == 403
    grant.refresh_from_db()
    assert grant.revoked_at is None
    assert is_active(client_app, tokens["access_token"])


def test_revoke_with_csrf_token_from_the_confirmation_page_works(user, client_app, agent):
    delegate(user, client_app, agent)
    grant = AgentGrant.objects.get(user=user)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    page = browser.get(revoke_url(grant)).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert browser.post(revoke_url(grant), {"csrfmiddlewaretoken": token}).status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_at is not None


def test_revoke_is_not_possible_with_get(user, client_app, agent):
    delegate(user, client_app, agent)
    grant = AgentGrant.objects.get(user=user)
    logged_in(user).get(revoke_url(grant))
    grant.refresh_from_db()
    assert grant.revoked_at is None


def test_confirming_an_already_revoked_grant_goes_back_to_the_list(user, client_app, agent):
    delegate(user, client_app, agent)
    grant = AgentGrant.objects.get(user=user)
    browser = logged_in(user)
    browser.post(revoke_url(grant))
    assert browser.get(revoke_url(grant))["Location"] == AGENTS
    assert browser.post(revoke_url(grant)).status_code == 302
    assert len(events("grant.revoked")) == 1


def test_disabled_agent_is_flagged(user, client_app, agent):
    from django_agent_obo import delegation

    delegate(user, client_app, agent)
    delegation.set_agent_active(agent.model, False)
    assert "This site has stopped this agent" in logged_in(user).get(AGENTS).content.decode()


def test_query_count_does_not_grow_with_the_number_of_grants(user, client_app):
    def queries_for_page() -> int:
        browser = logged_in(user)
        browser.get(AGENTS)  # warm the session
        with CaptureQueriesContext(connection) as captured:
            assert browser.get(AGENTS).status_code == 200
        return len(captured)

    first = make_agent("agent:one", clients=(client_app,))
    delegate(user, client_app, first)
    baseline = queries_for_page()
    for i in range(4):
        extra = make_agent(f"agent:n{i}", clients=(client_app,), name=f"Agent {i}")
        delegate(user, client_app, extra)
        logged_in(user).post(revoke_url(AgentGrant.objects.get(user=user, agent=extra.model)))
        delegate(user, client_app, extra)
    assert AgentGrant.objects.filter(user=user).count() == 9
    assert queries_for_page() == baseline


def test_resource_accesses_appear_when_the_site_records_them(settings, user, client_app, agent):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "RS_AUDIT_ACCESS": True, "RS_AUDIT_SAMPLE_RATE": 1.0}
    tokens = delegate(user, client_app, agent)
    response = Client().get("/api/calendar/events/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    assert response.status_code == 200
    html = logged_in(user).get(AGENTS).content.decode()
    assert "Read your calendar events: once" in html


def test_revoke_is_one_click_from_the_agents_page(user, client_app, agent):
    tokens = delegate(user, client_app, agent)
    grant = AgentGrant.objects.get(user=user)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    page = browser.get(AGENTS).content.decode()
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', page, re.S)
    assert form is not None and form[1] == revoke_url(grant)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form[2])
    assert token is not None and "Revoke access" in form[2]
    answer = browser.post(form[1], {"csrfmiddlewaretoken": token[1]})
    assert answer.status_code == 302
    grant.refresh_from_db()
    assert grant.revoke_reason == "user_revoked" and not is_active(client_app, tokens["access_token"])
