"""DPoP proofs whose claims hold text no database or byte comparison takes (a lone surrogate,
``"\\ud800"`` in the proof's JSON, or a NUL): a ``401 invalid_dpop_proof``, never a 500. The
proof's payload is refused as malformed by ``jose.json_segment`` before any claim is compared
or stored."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.fixtures_dpop import DPoPKey
from tests.fixtures_resource import challenges, configure
from tests.test_dpop_resource import dpop_token, machine  # noqa: F401 (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.dpop_urls")]
URL = "http://testserver/rs/any/"


@pytest.mark.parametrize("store", ["cache", "database"])
@pytest.mark.parametrize(
    "claims",
    [{"ath": "\ud800"}, {"jti": "\ud800"}, {"jti": "a\x00b"}],
    ids=["ath lone surrogate", "jti lone surrogate", "jti NUL"],
)
def test_a_proof_claim_no_database_stores_is_invalid_dpop_proof(machine, settings, store, claims):  # noqa: F811
    configure(settings, RS_DPOP_REPLAY_STORE=store)
    key = DPoPKey()
    token = dpop_token(machine, key)
    browser = Client(raise_request_exception=False)
    proof = key.proof(htu=URL, htm="POST", **claims)
    response = browser.post("/rs/any/", HTTP_AUTHORIZATION=f"DPoP {token}", HTTP_DPOP=proof)
    assert response.status_code == 401, response.content[:200]
    assert challenges(response)["DPoP"]["error"] == "invalid_dpop_proof"
