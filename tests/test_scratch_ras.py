import json, pytest
from urllib.parse import urlencode
from django.test import Client
from tests.conftest import logged_in, pkce, AUTHORIZE_URL, TOKEN_URL, REDIRECT_URI

pytestmark = pytest.mark.django_db(transaction=True)
URL = "https://cimd.example/client.json"
NAME = {"v": "x"}

class Fetcher:
    def fetch(self, client_id):
        return {"client_id": client_id, "client_name": NAME["v"], "redirect_uris": [REDIRECT_URI]}, 300

@pytest.mark.parametrize("name", ["a\x00b", "a\ud800"])
def test_cimd(settings, user, name):
    NAME["v"] = name
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "CIMD_METADATA_FETCHER": "tests.test_scratch_ras.Fetcher"}
    v, ch = pkce()
    params = {"response_type": "code", "client_id": URL, "redirect_uri": REDIRECT_URI, "scope": "calendar.read", "state": "s", "code_challenge": ch, "code_challenge_method": "S256"}
    r = logged_in(user).get(AUTHORIZE_URL + "?" + urlencode(params))
    print(r.status_code, r.content[:300])
    assert r.status_code < 500
    r = Client(raise_request_exception=False).post(TOKEN_URL, {"grant_type": "authorization_code", "client_id": URL + "?x", "code": "x", "code_verifier": v, "redirect_uri": REDIRECT_URI})
    print(r.status_code, r.content[:300])
    assert r.status_code < 500
