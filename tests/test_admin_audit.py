"""The audit screens: read-only for everyone, filters, search by jti, timelines, cheap queries."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from django_agent_obo import admin_filters, audit
from django_agent_obo.models import AuditEvent
from tests.conftest import PASSWORD, decode_unverified, logged_in
from tests.fixtures_audit import admin_client, delegate

AUDIT = reverse("admin:django_agent_obo_auditevent_changelist")


def rows(browser, **params):
    """(event, outcome) of each listed row."""
    page = browser.get(AUDIT, params)
    assert page.status_code == 200, page.content[:500]
    html = page.content.decode()
    return list(
        zip(
            re.findall(r'class="field-event">([^<]*)<', html),
            re.findall(r'class="field-outcome">([^<]*)<', html),
            strict=True,
        )
    )


@pytest.fixture
def trail(user, other_user, client_app, agent):
    tokens = delegate(user, client_app, agent)
    audit.record(
        "token.refused", outcome="failure", reason="grant_expired", user=other_user, client_id="other"
    )
    return tokens


def test_superuser_cannot_add_change_or_delete_audit_rows(django_user_model, trail):
    browser, _ = admin_client(django_user_model)
    row = AuditEvent.objects.first()
    change = reverse("admin:django_agent_obo_auditevent_change", args=[row.pk])
    assert browser.get(reverse("admin:django_agent_obo_auditevent_add")).status_code == 403
    assert (
        browser.post(reverse("admin:django_agent_obo_auditevent_add"), {"event": "token.issued"}).status_code
        == 403
    )
    assert browser.post(change, {"event": "edited", "outcome": "success"}).status_code == 403
    delete = reverse("admin:django_agent_obo_auditevent_delete", args=[row.pk])
    assert browser.get(delete).status_code == 403
    assert browser.post(delete, {"post": "yes"}).status_code == 403
    bulk = browser.post(AUDIT, {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"})
    assert bulk.status_code in (200, 302)
    assert AuditEvent.objects.filter(pk=row.pk, event=row.event).exists()
    page = browser.get(change)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()


def test_audit_list_filters_by_event_outcome_agent_client_and_user(
    django_user_model, trail, user, agent, client_app
):
    browser, _ = admin_client(django_user_model)
    assert rows(browser, event="token.refused") == [("token.refused", "failure")]
    assert rows(browser, outcome="failure") == [("token.refused", "failure")]
    by_actor = rows(browser, actor=agent.actor_id)
    assert ("token.issued", "success") in by_actor and ("token.refused", "failure") not in by_actor
    assert rows(browser, client="other") == [("token.refused", "failure")]
    assert ("token.refused", "failure") not in rows(browser, user=user.pk)
    assert ("consent.granted", "success") in rows(browser, user=user.pk)


def test_audit_search_finds_a_token_by_jti(django_user_model, trail):
    browser, _ = admin_client(django_user_model)
    jti = decode_unverified(trail["access_token"])["jti"]
    assert rows(browser, q=jti) == [("token.issued", "success")]
    assert rows(browser, q=jti[:-2]) == []
    assert rows(browser, q="mallory") == [("token.refused", "failure")]


def test_audit_date_hierarchy_drills_down_to_a_day(django_user_model, trail):
    browser, _ = admin_client(django_user_model)
    today = timezone.localdate()
    page = browser.get(AUDIT).content.decode()
    assert f"at__day={today.day}" in page
    day = rows(browser, at__year=today.year, at__month=today.month, at__day=today.day)
    assert len(day) == AuditEvent.objects.count()
    assert rows(browser, at__year=today.year - 1) == []


def test_audit_list_never_counts_the_whole_table(django_user_model, trail, monkeypatch):
    """On a million rows a full COUNT(*) or DISTINCT scan is what makes an admin list slow."""
    browser, _ = admin_client(django_user_model)
    monkeypatch.setattr(admin_filters, "COUNT_CAP", 3)
    with CaptureQueriesContext(connection) as queries:
        page = browser.get(AUDIT)
    html = page.content.decode()
    assert "More than 3 audit events" in html
    audit_sql = [q["sql"] for q in queries.captured_queries if "agent_obo_auditevent" in q["sql"]]
    assert all("DISTINCT" not in sql for sql in audit_sql)
    counts = [sql for sql in audit_sql if "COUNT(" in sql]
    assert counts and all("LIMIT 4" in sql for sql in counts)


def test_audit_list_sorts_only_by_time(django_user_model, trail):
    browser, _ = admin_client(django_user_model)
    html = browser.get(AUDIT).content.decode()
    assert re.findall(r'<th scope="col" class="sortable[^"]*column-(\w+)', html) == ["at"]


def test_agent_timeline_shows_grants_failures_and_events(django_user_model, trail, user, agent):
    browser, _ = admin_client(django_user_model)
    audit.record(
        "token.refused",
        outcome="failure",
        reason="actor_token_replayed",
        actor_chain=[agent.actor_id],
        ip="192.0.2.9",
    )
    page = browser.get(reverse("admin:django_agent_obo_agent_timeline", args=[agent.model.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Timeline of agent agent:calendar-assistant" in html
    assert "actor_token_replayed" in html and "192.0.2.9" in html
    assert "1 live, 0 expired, 0 revoked" in html
    assert "Live delegated tokens now</th><td>1<" in html
    failures = browser.get(
        reverse("admin:django_agent_obo_agent_timeline", args=[agent.model.pk]), {"outcome": "failure"}
    )
    events_section = failures.content.decode().split('id="events-heading"')[1]
    assert "actor_token_replayed" in events_section and "token.issued" not in events_section


def test_user_timeline_lists_the_agents_that_acted_for_the_user(django_user_model, trail, user, agent):
    browser, _ = admin_client(django_user_model)
    url = reverse("admin:django_agent_obo_auditevent_user_timeline", args=[user.pk])
    html = browser.get(url).content.decode()
    assert "Timeline of user alice" in html
    assert agent.actor_id in html
    assert "grant_expired" not in html  # mallory's refusal is not alice's


def test_timeline_pages_by_keyset(django_user_model, user, agent, monkeypatch):
    from django_agent_obo import timeline

    for i in range(5):
        audit.record("token.issued", user=user, actor_chain=[agent.actor_id], jti=f"jti-{i}")
    monkeypatch.setattr(timeline, "PAGE_SIZE", 2)
    browser, _ = admin_client(django_user_model)
    url = reverse("admin:django_agent_obo_agent_timeline", args=[agent.model.pk])
    seen = []
    params: dict[str, str] = {}
    while True:
        html = browser.get(url, params).content.decode()
        seen += re.findall(r"<code>(jti-\d)</code>", html)
        older = re.search(r'href="\?before=(\d+)"', html)
        if not older:
            break
        params = {"before": older.group(1)}
    assert seen == [f"jti-{i}" for i in reversed(range(5))]


def test_staff_with_view_permission_reads_audit_but_cannot_write(django_user_model, trail):
    from django.contrib.auth.models import Permission

    staff = django_user_model.objects.create_user("auditor", password=PASSWORD, is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_auditevent", "view_agentgrant", "change_auditevent", "delete_auditevent"]
        )
    )
    browser = logged_in(staff)
    assert browser.get(AUDIT).status_code == 200
    assert (
        browser.get(reverse("admin:django_agent_obo_auditevent_user_timeline", args=[staff.pk])).status_code
        == 200
    )
    row = AuditEvent.objects.first()
    assert (
        browser.post(
            reverse("admin:django_agent_obo_auditevent_delete", args=[row.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
