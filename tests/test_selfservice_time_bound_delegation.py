"""Time-bound delegation: the user picks how long, and the end is enforced everywhere.

The consent screen offers the site's durations; the grant's ``expires_at`` bounds every
token issue, refresh and token lifetime; an agent past ``valid_until`` is refused at the
authorization endpoint, for actor tokens and at the token endpoint, as if disabled.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from django_agent_obo.models import Agent, AgentGrant
from tests.conftest import (
    AUTHORIZE_URL,
    TOKEN_URL,
    actor_assertion,
    actor_token_issued,
    authorize_params,
    decode_unverified,
    error_of,
    get_code,
    hidden_fields,
    logged_in,
    make_agent,
    pkce,
    redeem,
    redirect_params,
)
from tests.fixtures_audit import delegate, events, refresh
from tests.fixtures_exchange import accepts, exchange


def consent_page(user, client_app, agent) -> str:
    _, challenge = pkce()
    page = logged_in(user).get(AUTHORIZE_URL, authorize_params(client_app, challenge, agent.actor_id))
    assert page.status_code == 200
    return page.content.decode()


def past(seconds: int = 1):
    return timezone.now() - timedelta(seconds=seconds)


def test_consent_offers_the_configured_durations_with_the_default_selected(user, client_app, agent):
    html = consent_page(user, client_app, agent)
    assert '<label for="id_duration">Allow for</label>' in html
    options = re.findall(r'<option value="([^"]+)"( selected)?>([^<]+)</option>', html)
    assert [(v, label) for v, _, label in options] == [
        ("3600", "1 hour"),
        ("86400", "1 day"),
        ("2592000", "30 days"),
        ("forever", "Until I revoke it"),
    ]
    assert [v for v, selected, _ in options if selected] == ["86400"]


def test_site_chooses_the_durations_and_the_default(settings, user, client_app, agent):
    settings.AGENT_OBO = {
        **settings.AGENT_OBO,
        "DELEGATION_DURATIONS": [(600, "10 minutes"), (None, "Until revoked")],
        "DEFAULT_DELEGATION_DURATION": 600,
    }
    html = consent_page(user, client_app, agent)
    assert re.findall(r'<option value="([^"]+)"', html) == ["600", "forever"]
    delegate(user, client_app, agent)
    grant = AgentGrant.objects.get()
    assert timedelta(seconds=590) < grant.expires_at - timezone.now() <= timedelta(seconds=600)


@pytest.mark.parametrize(("choice", "seconds"), [("3600", 3600), ("2592000", 30 * 86400), ("forever", None)])
def test_chosen_duration_sets_the_grants_expiry(user, client_app, agent, choice, seconds):
    tokens = delegate(user, client_app, agent, duration=choice)
    grant = AgentGrant.objects.get()
    if seconds is None:
        assert grant.expires_at is None
    else:
        left = (grant.expires_at - timezone.now()).total_seconds()
        assert seconds - 10 < left <= seconds
        assert decode_unverified(tokens["access_token"])["exp"] <= grant.expires_at.timestamp()
    assert events("consent.granted")[0].detail["duration_seconds"] == seconds


def test_a_duration_the_site_does_not_offer_is_refused(user, client_app, agent):
    browser = logged_in(user)
    _, challenge = pkce()
    page = browser.get(AUTHORIZE_URL, authorize_params(client_app, challenge, agent.actor_id))
    form = hidden_fields(page.content.decode())
    form.update(allow="Authorize", duration="31536000")
    response = browser.post(AUTHORIZE_URL, form)
    assert response.status_code == 400
    assert not AgentGrant.objects.exists()
    (row,) = events("consent.denied")
    assert row.reason == "consent_tampered" and row.detail["fields"] == ["duration"]


def test_token_never_outlives_the_delegation(settings, user, client_app, agent):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "AGENT_ACCESS_TOKEN_EXPIRE_SECONDS": 7200}
    tokens = delegate(user, client_app, agent, duration="3600")
    grant = AgentGrant.objects.get()
    assert decode_unverified(tokens["access_token"])["exp"] <= int(grant.expires_at.timestamp())


def test_expired_delegation_refuses_code_redemption(user, client_app, agent):
    code, verifier = get_code(logged_in(user), client_app, actor=agent.actor_id, duration="3600")
    AgentGrant.objects.update(expires_at=past())
    response = redeem(client_app, code, verifier, actor_token=actor_assertion(agent))
    assert response.status_code == 400 and error_of(response) == "invalid_grant"
    (row,) = events("token.refused")
    assert (row.reason, row.user, row.actor_id) == ("grant_expired", user, agent.actor_id)


def test_expired_delegation_refuses_refresh(user, client_app, agent):
    tokens = delegate(user, client_app, agent, duration="3600")
    AgentGrant.objects.update(expires_at=past())
    response = refresh(client_app, agent, tokens["refresh_token"])
    assert error_of(response) == "invalid_grant"
    assert events("token.refused")[-1].reason == "grant_expired"


def test_consent_after_expiry_starts_a_new_delegation(user, client_app, agent):
    delegate(user, client_app, agent, duration="3600")
    AgentGrant.objects.update(expires_at=past())
    delegate(user, client_app, agent, duration="forever")
    old, new = AgentGrant.objects.order_by("id")
    assert old.revoke_reason == "grant_expired" and old.revoked_at is not None
    assert new.is_live() and new.expires_at is None


def test_renewed_consent_replaces_the_duration(user, client_app, agent):
    delegate(user, client_app, agent, duration="forever")
    delegate(user, client_app, agent, duration="3600")
    grant = AgentGrant.objects.get()
    assert grant.expires_at is not None


# --- an agent past its valid_until is refused everywhere, as if disabled -----------------


def expire_agent(agent) -> None:
    Agent.objects.filter(pk=agent.model.pk).update(valid_until=past())


def test_expired_agent_is_refused_at_the_authorization_endpoint(user, client_app, agent):
    expire_agent(agent)
    _, challenge = pkce()
    params = authorize_params(client_app, challenge, agent.actor_id)
    values = redirect_params(logged_in(user).get(AUTHORIZE_URL, params))
    assert values["error"] == "invalid_request" and values["state"] == params["state"]
    assert events("consent.denied")[0].reason == "agent_expired"


def test_expired_agent_gets_no_actor_token(agent):
    expire_agent(agent)
    response = Client().post(TOKEN_URL, {"grant_type": "client_credentials"}, **agent.app.basic())
    assert response.status_code in (400, 401) and error_of(response) == "unauthorized_client"
    assert events("token.refused")[0].reason == "agent_expired"


def test_agent_expiring_after_consent_cannot_redeem_the_code(user, client_app, agent):
    code, verifier = get_code(logged_in(user), client_app, actor=agent.actor_id)
    assertion = actor_assertion(agent)
    expire_agent(agent)
    response = redeem(client_app, code, verifier, actor_token=assertion)
    assert error_of(response) == "invalid_grant"
    assert events("token.refused")[0].reason == "agent_expired"


def test_expired_agent_cannot_refresh(user, client_app, agent):
    tokens = delegate(user, client_app, agent)
    expire_agent(agent)
    assert error_of(refresh(client_app, agent, tokens["refresh_token"])) == "invalid_grant"
    assert events("token.refused")[-1].reason == "agent_expired"


def test_tokens_never_outlive_the_agents_valid_until(user, client_app, agent):
    """So that when valid_until arrives nothing the agent holds still works."""
    end = timezone.now() + timedelta(seconds=90)
    Agent.objects.filter(pk=agent.model.pk).update(valid_until=end)
    tokens = delegate(user, client_app, agent, duration="forever")
    assert decode_unverified(tokens["access_token"])["exp"] <= int(end.timestamp())
    actor = Client().post(TOKEN_URL, {"grant_type": "client_credentials"}, **agent.app.basic())
    assert decode_unverified(actor.json()["access_token"])["exp"] <= int(end.timestamp())


def test_self_service_shows_the_earlier_of_grant_expiry_and_agent_end(user, client_app, agent):
    end = timezone.now() + timedelta(days=3)
    Agent.objects.filter(pk=agent.model.pk).update(valid_until=end)
    delegate(user, client_app, agent, duration="2592000")
    html = logged_in(user).get("/agents/").content.decode()
    assert end.strftime("%-d %B %Y") in html


# --- token exchange (RFC 8693) honours the same ends ----------------------------------------


def test_exchange_is_refused_once_the_delegation_expired(user, client_app, agent):
    downstream = make_agent("agent:downstream")
    accepts(downstream, agent)
    tokens = delegate(user, client_app, agent)
    AgentGrant.objects.update(expires_at=past())
    response = exchange(agent, tokens["access_token"], actor_token=actor_token_issued(downstream))
    assert response.status_code == 400
    assert events("token.refused")[-1].reason == "grant_expired"
    assert not events("token.exchanged")


def test_exchange_to_an_agent_past_valid_until_is_refused(user, client_app, agent):
    downstream = make_agent("agent:downstream")
    accepts(downstream, agent)
    tokens = delegate(user, client_app, agent)
    proof = actor_token_issued(downstream)
    expire_agent(downstream)
    response = exchange(agent, tokens["access_token"], actor_token=proof)
    assert response.status_code == 400
    assert events("token.refused")[-1].reason == "agent_expired"
    assert not events("token.exchanged")
