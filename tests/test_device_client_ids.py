"""A device client whose id is not a URL slug (``com.example.tv``, a reverse-DNS id many
installed apps use) completes the device flow: DOT's confirmation URLs carry the client id,
which our URL converter encodes when it is not a slug."""

import pytest
from django.urls import reverse
from oauth2_provider.models import get_application_model

from tests.conftest import App, decode_unverified
from tests.fixtures_device import answer, ask, device_app, enter_code, redeem

pytestmark = pytest.mark.django_db


def renamed(app: App, client_id: str) -> App:
    get_application_model().objects.filter(pk=app.model.pk).update(client_id=client_id)
    app.model.refresh_from_db()
    return App(model=app.model, client_id=client_id, secret=app.secret)


@pytest.mark.parametrize("client_id", ["com.example.tv", "tv client/ü~1"])
def test_a_client_id_that_is_not_a_slug_completes_the_device_flow(user, client_id):
    tv = renamed(device_app(), client_id)
    started = ask(tv)
    assert started.status_code == 200, started.content
    body = started.json()
    browser = enter_code(user, body["user_code"])
    confirm = browser.get(browser.post("/o/device/", {"user_code": body["user_code"]})["Location"])
    assert confirm.status_code == 200 and b"TV client" in confirm.content
    assert answer(user, tv, body["user_code"]).status_code == 302
    response = redeem(tv, body["device_code"])
    assert response.status_code == 200, response.content
    assert decode_unverified(response.json()["access_token"])["client_id"] == client_id


def test_slug_client_ids_keep_their_readable_confirmation_url():
    url = reverse("oauth2_provider:device-confirm", kwargs={"client_id": "abc-123", "user_code": "XYZ"})
    assert url == "/o/device-confirm/abc-123/XYZ/"


@pytest.mark.parametrize("segment", ["~", "~%%%", "~_w", "~gA", "~AA", "~dHYKAGlk", "~fw"])
def test_an_undecodable_client_id_segment_is_not_found(user, segment):
    """Not base64url, not UTF-8, or a control character PostgreSQL would refuse (NUL, ``\\x7f``):
    a 404 before any query."""
    from tests.conftest import logged_in

    assert logged_in(user).get(f"/o/device-confirm/{segment}/ABCD/").status_code == 404
