"""Pending consents survive concurrent authorize pages in one session (issue #12 item 6)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.db import connection

from django_agent_obo.models import AuditEvent, CodeBinding, PendingConsent
from tests.conftest import (
    AUTHORIZE_URL,
    authorize_params,
    hidden_fields,
    logged_in,
    pkce,
    redirect_params,
)
from tests.test_races import all_at_once


def _page(browser, client_app, agent):
    params = authorize_params(client_app, pkce()[1], agent.actor_id)
    page = browser.get(AUTHORIZE_URL + "?" + urlencode(params))
    assert page.status_code == 200, page.content[:300]
    return {**hidden_fields(page.content.decode()), "allow": "Authorize"}, params["state"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_eight_authorize_pages_loaded_at_once_in_one_session_all_succeed(user, client_app, agent, attempt):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    browser = logged_in(user)  # one session, shared by every page
    pages = all_at_once([lambda: _page(browser, client_app, agent) for _ in range(8)])
    answers = all_at_once([lambda f=form: browser.post(AUTHORIZE_URL, f) for form, _ in pages])
    assert [a.status_code for a in answers] == [302] * 8, [a.content[:200] for a in answers]
    assert sorted(redirect_params(a)["state"] for a in answers) == sorted(state for _, state in pages)
    assert CodeBinding.objects.count() == 8
    assert not AuditEvent.objects.filter(event="consent.denied").exists()


def test_pages_of_one_session_are_answered_in_any_order(user, client_app, agent):
    browser = logged_in(user)
    pages = [_page(browser, client_app, agent) for _ in range(3)]
    for form, state in reversed(pages):
        assert redirect_params(browser.post(AUTHORIZE_URL, form))["state"] == state
    assert PendingConsent.objects.count() == 0


def test_a_page_is_answered_once(user, client_app, agent):
    browser = logged_in(user)
    form, _ = _page(browser, client_app, agent)
    assert browser.post(AUTHORIZE_URL, form).status_code == 302
    assert browser.post(AUTHORIZE_URL, form).status_code == 400
    assert AuditEvent.objects.filter(event="consent.denied", reason="consent_expired").count() == 1


def test_another_users_consent_id_is_not_theirs(user, other_user, client_app, agent):
    form, _ = _page(logged_in(user), client_app, agent)
    assert logged_in(other_user).post(AUTHORIZE_URL, form).status_code == 400
    assert CodeBinding.objects.count() == 0
    assert PendingConsent.objects.filter(user=user).count() == 1  # still answerable by its user
