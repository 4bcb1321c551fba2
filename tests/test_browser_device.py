"""Real Chromium at a phone's width (390 px): the user enters a device code and allows the agent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connections
from playwright.sync_api import Page, expect, sync_playwright

from django_agent_obo.models import AgentGrant
from tests.browser import launch_chromium
from tests.conftest import make_agent
from tests.fixtures_device import ask, device_app
from tests.test_browser_delegation import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Page]:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
        yield context.new_page()
        browser.close()
        connections.close_all()


def test_enter_the_code_and_allow_the_agent_on_a_phone(phone, live_server, user):
    tv = device_app()
    agent = make_agent(clients=(tv,))
    body = ask(tv, requested_actor=agent.actor_id).json()
    sign_in(phone, live_server.url, "alice", "/o/device/")
    phone.get_by_label("Code").fill(body["user_code"])
    phone.get_by_role("button", name="Continue").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Allow an AI agent to act for you?")
    expect(phone.get_by_role("heading", name="Agent: Calendar Assistant")).to_be_visible()
    expect(phone.get_by_text(agent.actor_id)).to_be_visible()
    expect(phone.get_by_text(body["user_code"])).to_be_visible()
    allow = phone.get_by_role("button", name="Allow")
    box = allow.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390  # reachable without scrolling sideways
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.get_by_label("Allow for").select_option(label="1 hour")
    allow.click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Device connected")
    assert AgentGrant.objects.get(user=user).expires_at is not None
