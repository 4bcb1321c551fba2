"""The pages people use, in Debian's Chromium at 1280 px and 390 px (a phone): nothing scrolls
sideways on consent, /agents/, revoke confirmation or the error page (``scrollWidth`` is measured),
the consent page names the signed-in account, the admin audit list keeps the actor column in view.

Each test also saves a screenshot; ``OBO_SCREENSHOT_DIR=docs/img`` writes the documentation's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.db import connections
from django.test import Client
from playwright.sync_api import Page, expect, sync_playwright

from django_agent_obo.models import AgentGrant
from tests.browser import launch_chromium
from tests.conftest import AUTHORIZE_URL, PASSWORD, REDIRECT_URI, authorize_params, make_agent, pkce
from tests.fixtures_audit import delegate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": 1280, "phone": 390}
LONG_ACTOR = "https://agents.example.com/calendar-assistant/v2/instances/7f3c9a1e-household"


@pytest.fixture(params=sorted(WIDTHS))
def width(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch, width: str) -> Iterator[Page]:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport={"width": WIDTHS[width], "height": 900})
        context.route(REDIRECT_URI + "*", lambda route: route.fulfill(status=200, body="client callback"))
        yield context.new_page()
        browser.close()
        connections.close_all()


def shoot(page: Page, name: str, width: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("OBO_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}-{WIDTHS[width]}.png"), full_page=True)


def assert_no_sideways_scroll(page: Page) -> None:
    sizes = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert sizes[0] <= sizes[1], f"scrollWidth {sizes[0]} > viewport {sizes[1]} at {page.url}"


def sign_in(page: Page, base: str, username: str, next_path: str, login_path: str = "/accounts/login/"):
    page.goto(f"{base}{login_path}?{urlencode({'next': next_path})}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")


@pytest.fixture
def busy_agent(settings, user, client_app):
    """An agent with a long URL id that read and wrote the calendar, and was refused once."""
    settings.AGENT_OBO = {**settings.AGENT_OBO, "RS_AUDIT_ACCESS": True, "RS_AUDIT_SAMPLE_RATE": 1.0}
    agent = make_agent(LONG_ACTOR, clients=(client_app,), name="Household Calendar Assistant")
    tokens = delegate(user, client_app, agent, scope="calendar.read calendar.write")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
    for _ in range(14):
        assert Client().get("/api/calendar/events/", **auth).status_code == 200
    for title in ("Dentist", "Parents' evening"):
        body = json.dumps({"title": title})
        assert (
            Client().post("/api/calendar/events/", body, content_type="application/json", **auth).status_code
            == 201
        )
    return agent


def test_consent_page_fits_and_names_the_signed_in_account(
    page, width, live_server, user, client_app, tmp_path
):
    agent = make_agent(LONG_ACTOR, clients=(client_app,), name="Household Calendar Assistant")
    _, challenge = pkce()
    params = authorize_params(client_app, challenge, agent.actor_id, scope="calendar.read calendar.write")
    sign_in(page, live_server.url, "alice", f"{AUTHORIZE_URL}?{urlencode(params)}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Allow an AI agent to act for you?")
    expect(page.get_by_label("Your account")).to_contain_text("Signed in as alice")
    switch = page.get_by_role("link", name="Not you? Sign in as someone else")
    assert switch.get_attribute("href").startswith("/accounts/login/?next=%2Fo%2Fauthorize%2F%3F")
    expect(page.get_by_role("link", name="Agents page")).to_have_attribute("href", "/agents/")
    assert_no_sideways_scroll(page)
    shoot(page, "consent", width, tmp_path)
    switch.click()
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Allow an AI agent to act for you?")


def test_agents_page_and_revoke_confirmation_fit(
    page, width, live_server, user, client_app, busy_agent, tmp_path
):
    sign_in(page, live_server.url, "alice", "/agents/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Agents acting for you")
    expect(page.get_by_text("Read your calendar events: 14 times")).to_be_visible()
    expect(page.get_by_text("Create events in your calendar: twice")).to_be_visible()
    expect(page.get_by_text("Technical details")).to_be_visible()
    expect(page.get_by_text("It received an access token")).to_be_hidden()  # folded away
    assert_no_sideways_scroll(page)
    shoot(page, "agents", width, tmp_path)
    page.goto(f"{live_server.url}/agents/grants/{AgentGrant.objects.get().pk}/revoke/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Revoke Household Calendar Assistant's access?")
    assert_no_sideways_scroll(page)


def test_unregistered_redirect_uri_gets_a_page_in_words(
    page, width, live_server, user, client_app, agent, tmp_path
):
    _, challenge = pkce()
    params = authorize_params(client_app, challenge, agent.actor_id)
    params["redirect_uri"] = "https://evil.example/steal-the-code/with/a/very/long/path/that/goes/on"
    sign_in(page, live_server.url, "alice", f"{AUTHORIZE_URL}?{urlencode(params)}")
    expect(page.get_by_role("heading", level=1)).to_have_text("This request cannot be used")
    expect(page.get_by_role("alert")).to_contain_text("an address it has not registered")
    expect(page.get_by_role("heading", name="What you can do")).to_be_visible()
    assert "evil.example" not in page.content() and client_app.client_id not in page.content()
    assert_no_sideways_scroll(page)
    shoot(page, "error-redirect-uri", width, tmp_path)


def test_admin_timeline_and_audit_list(
    page, width, live_server, django_user_model, user, client_app, busy_agent, tmp_path
):
    django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    timeline = f"/admin/django_agent_obo/agent/{busy_agent.model.pk}/timeline/"
    sign_in(page, live_server.url, "root", timeline, login_path="/admin/login/")
    expect(page.get_by_role("heading", name="Agent", exact=True)).to_be_visible()
    expect(page.locator("#content-main")).to_contain_text("Household Calendar Assistant")
    expect(page.locator("#content-main")).not_to_contain_text("root")
    if width == "desktop":
        assert_no_sideways_scroll(page)  # wide tables scroll inside their own box
    shoot(page, "admin-timeline", width, tmp_path)
    if width == "desktop":
        page.goto(f"{live_server.url}/admin/django_agent_obo/auditevent/")
        viewport = page.viewport_size
        assert viewport is not None
        results = page.locator("#changelist .results").bounding_box()
        assert results is not None and results["x"] + results["width"] <= viewport["width"]
        # What happened, to whom and by which agent, in view; the rest may scroll inside the box.
        for column in ("at", "event", "outcome", "actor_link", "user_link"):
            box = page.locator(f"th.column-{column}").bounding_box()
            assert box is not None, column  # not scrolled out of the results box:
            assert box["x"] + box["width"] <= results["x"] + results["width"] + 1, column
        shoot(page, "admin-audit-list", width, tmp_path)
