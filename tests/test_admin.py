"""Admin: register agents with keys and credentials, the kill switch, grants and revocation."""

from __future__ import annotations

import json
import re

from django.contrib.auth.hashers import check_password
from django.urls import reverse
from oauth2_provider.models import get_application_model

from django_agent_obo.models import Agent, AgentGrant, AuditEvent
from tests.conftest import PASSWORD, actor_token_issued, logged_in, make_agent, rsa_jwk
from tests.fixtures_audit import admin_client, delegate, events, is_active, refresh

AGENTS = reverse("admin:django_agent_obo_agent_changelist")
GRANTS = reverse("admin:django_agent_obo_agentgrant_changelist")


def agent_form(client_app, **overrides):
    data = {
        "actor_id": "agent:travel",
        "name": "Travel Agent",
        "publisher": "Example Travel",
        "description": "Books trips.",
        "logo_uri": "",
        "allowed_clients": [client_app.model.pk],
        "allowed_scopes": ["calendar.read"],
        "valid_until_0": "",
        "valid_until_1": "",
        "jwks": "",
        "jwks_uri": "",
    }
    data.update(overrides)
    return data


def listed(browser, **params):
    """The actor ids in the result rows of the agent list."""
    page = browser.get(AGENTS, params)
    assert page.status_code == 200
    return re.findall(r'class="field-actor_id"><a href="[^"]*">([^<]+)</a>', page.content.decode())


def test_agent_list_search_and_filters(django_user_model, client_app, agent):
    browser, _ = admin_client(django_user_model)
    make_agent("agent:other", name="Other Bot")
    assert listed(browser, q="calendar") == [agent.actor_id]
    assert listed(browser, status="usable") == [agent.actor_id, "agent:other"]
    Agent.objects.filter(actor_id="agent:other").update(is_active=False)
    assert listed(browser, status="disabled") == ["agent:other"]
    assert listed(browser, allowed_clients__id__exact=client_app.model.pk) == [agent.actor_id]


def test_register_an_agent_with_keys_scopes_and_clients(django_user_model, client_app):
    browser, _ = admin_client(django_user_model)
    form = browser.get(reverse("admin:django_agent_obo_agent_add")).content.decode()
    assert 'type="checkbox" name="allowed_scopes" value="calendar.write"' in form
    assert "Read your calendar events" in form
    _, jwk = rsa_jwk("k1")
    response = browser.post(
        reverse("admin:django_agent_obo_agent_add"), agent_form(client_app, jwks=json.dumps({"keys": [jwk]}))
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    agent = Agent.objects.get(actor_id="agent:travel")
    assert agent.allowed_scopes == "calendar.read"
    assert list(agent.allowed_clients.all()) == [client_app.model]
    assert agent.jwks == {"keys": [jwk]}
    assert agent.is_active and agent.credentials is None


def test_registering_private_key_material_is_refused(django_user_model, client_app):
    browser, _ = admin_client(django_user_model)
    private = {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}
    response = browser.post(
        reverse("admin:django_agent_obo_agent_add"),
        agent_form(client_app, jwks=json.dumps({"keys": [private]})),
    )
    assert response.status_code == 200
    assert "Not a usable JWK Set" in response.content.decode()
    assert not Agent.objects.filter(actor_id="agent:travel").exists()


def test_unknown_scope_is_refused(django_user_model, client_app):
    browser, _ = admin_client(django_user_model)
    response = browser.post(
        reverse("admin:django_agent_obo_agent_add"),
        agent_form(client_app, allowed_scopes=["admin.everything"]),
    )
    assert response.status_code == 200
    assert not Agent.objects.exists()


def test_credentials_secret_is_shown_once_and_stored_hashed(django_user_model, client_app):
    browser, _ = admin_client(django_user_model)
    response = browser.post(
        reverse("admin:django_agent_obo_agent_add"),
        agent_form(client_app, create_credentials="on"),
        follow=True,
    )
    agent = Agent.objects.select_related("credentials").get(actor_id="agent:travel")
    (shown,) = [str(m) for m in response.context["messages"] if "client_secret" in str(m)]
    secret = shown.split("client_secret ")[1].split(" ")[0]
    assert secret in response.content.decode()
    stored = get_application_model().objects.get(pk=agent.credentials.pk)
    assert stored.client_secret != secret
    assert check_password(secret, stored.client_secret)
    assert (
        secret
        not in browser.get(reverse("admin:django_agent_obo_agent_change", args=[agent.pk])).content.decode()
    )


def test_action_issues_a_new_secret_that_works(django_user_model, agent):
    browser, _ = admin_client(django_user_model)
    response = browser.post(
        AGENTS, {"action": "issue_new_credentials", "_selected_action": [agent.model.pk]}, follow=True
    )
    (message,) = [str(m) for m in response.context["messages"] if "client_secret" in str(m)]
    agent.app.secret = message.split("client_secret ")[1].split(" ")[0]
    assert actor_token_issued(agent)


def test_agents_cannot_be_deleted_only_disabled(django_user_model, agent):
    browser, _ = admin_client(django_user_model)
    response = browser.post(
        reverse("admin:django_agent_obo_agent_delete", args=[agent.model.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert Agent.objects.filter(pk=agent.model.pk).exists()


def test_kill_switch_stops_every_token_of_the_agent_at_once(
    django_user_model, user, other_user, client_app, agent
):
    browser, admin = admin_client(django_user_model)
    first = delegate(user, client_app, agent)
    second = delegate(other_user, client_app, agent)
    bystander = make_agent("agent:bystander", clients=(client_app,))
    unaffected = delegate(user, client_app, bystander)
    response = browser.post(AGENTS, {"action": "disable_agents", "_selected_action": [agent.model.pk]})
    assert response.status_code == 302
    assert not Agent.objects.get(pk=agent.model.pk).is_active
    assert not is_active(client_app, first["access_token"])
    assert not is_active(client_app, second["access_token"])
    assert refresh(client_app, agent, first["refresh_token"]).json()["error"] == "invalid_grant"
    assert is_active(client_app, unaffected["access_token"])
    (row,) = events("agent.disabled")
    assert (row.user, row.actor_id, row.detail["tokens_revoked"]) == (admin, agent.actor_id, 2)


def test_enable_action_lets_the_agent_work_again(django_user_model, client_app, agent):
    browser, _ = admin_client(django_user_model)
    browser.post(AGENTS, {"action": "disable_agents", "_selected_action": [agent.model.pk]})
    browser.post(AGENTS, {"action": "enable_agents", "_selected_action": [agent.model.pk]})
    assert Agent.objects.get(pk=agent.model.pk).is_active
    assert actor_token_issued(agent)
    assert len(events("agent.enabled")) == 1


def test_grants_filter_per_user_and_agent_and_revoke_action(
    django_user_model, user, other_user, client_app, agent
):
    browser, admin = admin_client(django_user_model)
    mine = delegate(user, client_app, agent)
    theirs = delegate(other_user, client_app, agent)
    page = browser.get(GRANTS, {"user": user.pk}).content.decode()
    assert "alice" in page and "mallory" not in page
    assert "mallory" in browser.get(GRANTS, {"agent__id__exact": agent.model.pk}).content.decode()
    grant = AgentGrant.objects.get(user=user)
    response = browser.post(GRANTS, {"action": "revoke_grants", "_selected_action": [grant.pk]})
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_at is not None and grant.revoke_reason == "admin_revoked"
    assert not is_active(client_app, mine["access_token"])
    assert is_active(client_app, theirs["access_token"])
    (row,) = events("grant.revoked")
    assert row.detail["by"] == admin.get_username()
    revoked = browser.get(GRANTS, {"status": "revoked"}).content.decode()
    assert "alice" in revoked and "mallory" not in revoked


def test_grants_are_read_only_history(django_user_model, user, client_app, agent):
    browser, _ = admin_client(django_user_model)
    delegate(user, client_app, agent)
    grant = AgentGrant.objects.get()
    change = reverse("admin:django_agent_obo_agentgrant_change", args=[grant.pk])
    assert browser.get(change).status_code == 200
    assert browser.post(change, {"scope": "calendar.write"}).status_code == 403
    assert (
        browser.post(reverse("admin:django_agent_obo_agentgrant_delete", args=[grant.pk])).status_code == 403
    )
    assert browser.get(reverse("admin:django_agent_obo_agentgrant_add")).status_code == 403


def test_agent_page_links_to_its_grants_audit_and_timeline(django_user_model, agent):
    browser, _ = admin_client(django_user_model)
    page = browser.get(reverse("admin:django_agent_obo_agent_change", args=[agent.model.pk])).content.decode()
    assert f"{GRANTS}?agent__id__exact={agent.model.pk}" in page
    assert "?actor=agent%3Acalendar-assistant" in page
    assert reverse("admin:django_agent_obo_agent_timeline", args=[agent.model.pk]) in page


def test_non_staff_cannot_reach_the_admin(user, agent):
    response = logged_in(user).get(AGENTS)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_staff_without_permissions_gets_403(django_user_model, agent):
    staff = django_user_model.objects.create_user("staff", password=PASSWORD, is_staff=True)
    browser = logged_in(staff)
    assert browser.get(AGENTS).status_code == 403
    assert (
        browser.get(reverse("admin:django_agent_obo_agent_timeline", args=[agent.model.pk])).status_code
        == 403
    )
    assert not AuditEvent.objects.filter(event="agent.disabled").exists()
