"""What an admin reads: each timeline names its own subject, counts the right tokens, and the
agent form offers only what makes sense (issue #14). The 1280 px layout is in test_browser_pages."""

from __future__ import annotations

import re

from django.urls import reverse

from django_agent_obo.models import Agent
from tests.conftest import actor_token_issued
from tests.fixtures_audit import admin_client, delegate


def subject_rows(html: str) -> dict[str, str]:
    section = html.split('id="subject-heading"')[1].split("</section>")[0]
    rows = re.findall(r'<th scope="row">([^<]+)</th><td>(.*?)</td></tr>', section, re.S)
    return {name: re.sub(r"<[^>]+>", "", value).strip() for name, value in rows}


def test_agent_timeline_is_about_the_agent_not_the_signed_in_admin(
    django_user_model, user, client_app, agent
):
    delegate(user, client_app, agent)
    browser, _ = admin_client(django_user_model, username="root")
    html = browser.get(
        reverse("admin:django_agent_obo_agent_timeline", args=[agent.model.pk])
    ).content.decode()
    assert '<h2 id="subject-heading">Agent</h2>' in html
    rows = subject_rows(html)
    assert rows["Actor id"] == "agent:calendar-assistant"
    assert rows["Name"] == "Calendar Assistant (Example Agents Inc.)"
    assert rows["May be run by"].startswith("Calendar client")
    assert "Username" not in rows
    counterparts = html.split("<caption>Users it acted for</caption>")[1].split("</table>")[0]
    assert "<td>alice</td>" in counterparts and "root" not in counterparts


def test_user_timeline_is_about_the_user_not_the_signed_in_admin(django_user_model, user, client_app, agent):
    delegate(user, client_app, agent)
    browser, _ = admin_client(django_user_model, username="root")
    url = reverse("admin:django_agent_obo_auditevent_user_timeline", args=[user.pk])
    html = browser.get(url).content.decode()
    assert '<h2 id="subject-heading">User</h2>' in html
    assert subject_rows(html)["Username"] == "alice"
    counterparts = html.split("<caption>Agents that acted for this user</caption>")[1].split("</table>")[0]
    assert "<td>agent:calendar-assistant</td>" in counterparts


def test_live_delegated_tokens_leave_out_the_agents_own_actor_tokens(
    django_user_model, user, client_app, agent
):
    delegate(user, client_app, agent)
    for _ in range(3):
        actor_token_issued(agent)  # the agent's own client_credentials tokens
    browser, _ = admin_client(django_user_model)
    html = browser.get(
        reverse("admin:django_agent_obo_agent_timeline", args=[agent.model.pk])
    ).content.decode()
    assert subject_rows(html)["Live delegated tokens now"] == "1"


def test_audit_list_shows_the_actor_right_after_what_happened(django_user_model, user, client_app, agent):
    delegate(user, client_app, agent)
    browser, _ = admin_client(django_user_model)
    html = browser.get(reverse("admin:django_agent_obo_auditevent_changelist")).content.decode()
    columns = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', html)
    assert columns[:4] == ["at", "event", "outcome", "actor_link"]
    assert re.search(r'<code title="[\w-]{20,}">[\w-]{8}…</code>', html)
    assert f'<code title="{client_app.client_id}">{client_app.client_id[:8]}…</code>' in html


def test_agent_form_shows_an_empty_jwk_set_box_not_null(django_user_model, client_app):
    browser, _ = admin_client(django_user_model)
    Agent.objects.create(actor_id="agent:bare", name="Bare")
    bare = Agent.objects.get(actor_id="agent:bare")
    for url in (
        reverse("admin:django_agent_obo_agent_add"),
        reverse("admin:django_agent_obo_agent_change", args=[bare.pk]),
    ):
        html = browser.get(url).content.decode()
        box = re.search(r'<textarea name="jwks"[^>]*>(.*?)</textarea>', html, re.S)
        assert box is not None and box[1].strip() == "", url


def test_allowed_clients_never_offer_an_agents_own_credentials(django_user_model, client_app, agent):
    browser, _ = admin_client(django_user_model)
    html = browser.get(reverse("admin:django_agent_obo_agent_add")).content.decode()
    select = re.search(r'<select name="allowed_clients".*?</select>', html, re.S)
    assert select is not None
    assert f'value="{client_app.model.pk}"' in select[0]
    assert agent.model.credentials.name not in select[0]
    assert f'value="{agent.model.credentials.pk}"' not in select[0]
    refused = browser.post(
        reverse("admin:django_agent_obo_agent_add"),
        {
            "actor_id": "agent:travel",
            "name": "Travel",
            "allowed_clients": [agent.model.credentials.pk],
            "allowed_scopes": ["calendar.read"],
        },
    )
    assert refused.status_code == 200 and not Agent.objects.filter(actor_id="agent:travel").exists()


def test_hostile_query_parameters_on_admin_screens_are_never_a_500(
    django_user_model, user, client_app, agent
):
    """``?before=²`` (a digit to ``str.isdigit``, not to ``int``) and a user id beyond the
    column's range (the ``?user=`` links) are pages without rows, not server errors."""
    delegate(user, client_app, agent)
    browser, _ = admin_client(django_user_model, username="root")
    timelines = [
        reverse("admin:django_agent_obo_agent_timeline", args=[agent.model.pk]),
        reverse("admin:django_agent_obo_auditevent_user_timeline", args=[user.pk]),
    ]
    lists = [reverse(f"admin:django_agent_obo_{name}_changelist") for name in ("auditevent", "agentgrant")]
    for url in [f"{page}?before={value}" for page in timelines for value in ("²", "٣", "9" * 30)] + [
        f"{page}?user={'9' * 30}" for page in lists
    ]:
        assert browser.get(url).status_code == 200, url
