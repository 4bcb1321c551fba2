"""``AccessTokenMiddleware`` on a site that also serves its user pages: an access token (an
agent's delegated token of any scope) must never stand in for the user's signed-in session."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from django.test import Client

from django_agent_obo.models import AgentGrant
from tests.conftest import authorize_params, pkce
from tests.fixtures_resource import bearer, delegated_token

MIDDLEWARE = "django_agent_obo.resource.AccessTokenMiddleware"


def forged_csrf_client() -> tuple[Client, str]:
    """A non-browser caller picks its own CSRF cookie and sends the same value in the form."""
    browser = Client(enforce_csrf_checks=True)
    csrf = secrets.token_hex(16)  # 32 characters: Django's unmasked secret length
    browser.cookies["csrftoken"] = csrf
    return browser, csrf


def test_a_delegated_token_does_not_sign_the_agent_in_on_user_pages(settings, user, client_app, agent):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]
    token = delegated_token(user, client_app, agent)
    user.is_staff = user.is_superuser = True
    user.save()
    grant = AgentGrant.objects.get(user=user)
    browser, csrf = forged_csrf_client()
    # The token still works where tokens are meant to work (the API, CSRF-exempt).
    assert browser.get("/api/whoami/", **bearer(token)).status_code == 200
    _, challenge = pkce()
    consent = "/o/authorize/?" + urlencode(authorize_params(client_app, challenge, actor=agent.actor_id))
    pages = ("/agents/", f"/agents/grants/{grant.pk}/revoke/", "/admin/", "/agents/requests/", consent)
    for page in pages:
        response = browser.get(page, **bearer(token))
        assert response.status_code == 302 and "login" in response["Location"], page
    response = browser.post(
        f"/agents/grants/{grant.pk}/revoke/", {"csrfmiddlewaretoken": csrf}, **bearer(token)
    )
    assert response.status_code == 302 and "login" in response["Location"]
    grant.refresh_from_db()
    assert grant.revoked_at is None
