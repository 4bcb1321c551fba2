"""Real Chromium (Playwright, Debian's chromium) on a live server: the pages a person uses.

Consent with a chosen duration, ``/agents/`` → revoke → confirmation, and the admin audit
list. Only the keyboard and plain forms are used (no JavaScript is needed by the pages).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connections
from django.utils import timezone
from playwright.sync_api import Page, expect, sync_playwright

from django_agent_obo.models import AgentGrant
from tests.browser import launch_chromium
from tests.conftest import AUTHORIZE_URL, PASSWORD, REDIRECT_URI, authorize_params, pkce
from tests.fixtures_audit import delegate, is_active, refresh

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Page]:
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # still plain synchronous code, so let Django allow them.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(java_script_enabled=False)
        # The client's redirect URI does not exist; answer it so the browser can land there.
        context.route(REDIRECT_URI + "*", lambda route: route.fulfill(status=200, body="client callback"))
        yield context.new_page()
        browser.close()
        # Under the running event loop the ORM used its own connection; close it, or
        # PostgreSQL cannot drop the test database at the end of the run.
        connections.close_all()


def sign_in(
    page: Page, base: str, username: str, next_path: str, login_path: str = "/accounts/login/"
) -> None:
    page.goto(f"{base}{login_path}?{urlencode({'next': next_path})}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")


def test_consent_with_a_chosen_duration(page, live_server, user, client_app, agent):
    _, challenge = pkce()
    params = authorize_params(client_app, challenge, agent.actor_id, scope="calendar.read calendar.write")
    sign_in(page, live_server.url, "alice", f"{AUTHORIZE_URL}?{urlencode(params)}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Allow an AI agent to act for you?")
    expect(page.get_by_role("heading", name="Agent: Calendar Assistant")).to_be_visible()
    expect(page.get_by_text("Create events in your calendar")).to_be_visible()
    page.get_by_label("Allow for").select_option(label="1 hour")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(REDIRECT_URI + "*")
    assert "code=" in page.url and f"state={params['state']}" in page.url
    grant = AgentGrant.objects.get(user=user)
    left = grant.expires_at - timezone.now()
    assert timedelta(minutes=59) < left <= timedelta(hours=1)
    assert grant.scope_set == {"calendar.read", "calendar.write"}


def test_agents_page_revokes_in_one_click(page, live_server, user, client_app, agent):
    tokens = delegate(user, client_app, agent)
    sign_in(page, live_server.url, "alice", "/agents/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Agents acting for you")
    expect(page.get_by_role("heading", name="Calendar Assistant", exact=True)).to_be_visible()
    expect(page.get_by_text("Read your calendar events (calendar.read)")).to_be_visible()
    assert is_active(client_app, tokens["access_token"])
    revoke = page.get_by_role("button", name="Revoke access of Calendar Assistant through Calendar client")
    revoke.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/agents/")
    expect(page.get_by_role("status")).to_contain_text("can no longer act for you")
    expect(page.get_by_role("heading", name="Through Calendar client: revoked")).to_be_visible()
    expect(
        page.get_by_role("button", name="Revoke access of Calendar Assistant through Calendar client")
    ).to_have_count(0)
    assert not is_active(client_app, tokens["access_token"])
    assert refresh(client_app, agent, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_admin_audit_list_renders_and_filters(page, live_server, django_user_model, user, client_app, agent):
    django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    delegate(user, client_app, agent)
    sign_in(page, live_server.url, "root", "/admin/django_agent_obo/auditevent/", login_path="/admin/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Select audit event to view")
    expect(page.locator("td.field-event", has_text="token.issued")).to_have_count(1)
    expect(page.locator("td.field-event", has_text="consent.granted")).to_have_count(1)
    page.get_by_role("link", name="token.issued", exact=True).click()
    expect(page.locator("td.field-event")).to_have_count(1)
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)


def test_pages_load_nothing_from_another_origin(page, live_server, user, client_app, agent):
    delegate(user, client_app, agent)
    origins: set[str] = set()
    page.on("request", lambda request: origins.add(request.url.split("/")[2]))
    sign_in(page, live_server.url, "alice", "/agents/")
    page.goto(f"{live_server.url}/agents/grants/{AgentGrant.objects.get().pk}/revoke/")
    assert origins == {live_server.url.split("/")[2]}
