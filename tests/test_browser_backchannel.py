"""Real Chromium at a phone's width (390 px): the user approves an agent's pending request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connections
from playwright.sync_api import Page, expect, sync_playwright

from django_agent_obo.models import AgentGrant, BackchannelRequest
from tests.browser import launch_chromium
from tests.fixtures_backchannel import bc_authorize
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


def test_approve_a_pending_request_on_a_phone(phone, live_server, user, client_app, agent):
    response = bc_authorize(
        client_app, requested_actor=agent.actor_id, binding_message="Trip to Lisbon, 03:00"
    )
    assert response.status_code == 200, response.content
    sign_in(phone, live_server.url, "alice", "/agents/")
    phone.get_by_role("link", name="Requests waiting for your answer").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Requests waiting for your answer")
    expect(phone.get_by_role("heading", name="Calendar Assistant asks for your approval")).to_be_visible()
    expect(phone.get_by_text("Trip to Lisbon, 03:00")).to_be_visible()
    expect(phone.get_by_text("Read your calendar events")).to_be_visible()
    expect(phone.get_by_text(agent.actor_id)).to_be_visible()
    approve = phone.get_by_role("button", name="Approve")
    expect(approve).to_be_visible()
    box = approve.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390  # reachable without scrolling sideways
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.get_by_label("Allow for").select_option(label="1 hour")
    approve.click()
    expect(phone.get_by_role("status")).to_contain_text("You approved the request.")
    expect(phone.get_by_text("Nothing is waiting for your answer.")).to_be_visible()
    assert BackchannelRequest.objects.get().status == "approved"
    assert AgentGrant.objects.get(user=user).expires_at is not None
