"""DPoP at resource servers (RFC 9449 §7): the decorator, DRF and the middleware accept
``Authorization: DPoP`` with a proof; a stolen token is no use without its key."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from django_agent_obo import dpop
from django_agent_obo.models import AuditEvent
from django_agent_obo.resource import validate_access_token
from tests.conftest import TOKEN_URL, App, make_app
from tests.fixtures_dpop import TOKEN_ENDPOINT, DPoPKey
from tests.fixtures_resource import challenges, configure
from tests.test_dpop_token_endpoint import PROOF_CASES

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.dpop_urls")]

URL = "http://testserver/rs/any/"


@pytest.fixture
def machine() -> App:
    return make_app("Machine client", grant="client-credentials")


def dpop_token(app: App, key: DPoPKey, scope: str = "calendar.read") -> str:
    """A token bound to ``key``; the key's next proofs are for ``URL`` with that token."""
    key.htu, key.access_token = TOKEN_ENDPOINT, None
    response = Client().post(
        TOKEN_URL, {"grant_type": "client_credentials", "scope": scope}, HTTP_DPOP=key.proof(), **app.basic()
    )
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "DPoP"
    token = str(response.json()["access_token"])
    key.htu, key.access_token = URL, token
    return token


def call(
    path: str, token: str, proof: str | None, scheme: str = "DPoP", method: str = "post", **extra: Any
) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"{scheme} {token}", **extra}
    if proof is not None:
        headers["HTTP_DPOP"] = proof
    return getattr(Client(), method)(path, **headers)


def assert_refused(response: Any, error: str, reason: str | None = None) -> dict[str, str]:
    assert response.status_code == 401, response.content
    found = challenges(response)
    assert found["DPoP"]["error"] == error, response["WWW-Authenticate"]
    assert found["DPoP"]["algs"]
    assert "error" not in found["Bearer"]  # the error is reported in the scheme the client used
    assert response.json()["error"] == error
    if reason is not None:
        row = AuditEvent.objects.filter(event="resource.accessed").order_by("-id").first()
        assert row is not None and row.reason == reason, row and row.reason
    return found["DPoP"]


@pytest.fixture
def audited(settings: Any) -> None:
    configure(settings, RS_AUDIT_ACCESS=True)


# --- accepted -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/rs/any/", "/drf/any/"])
def test_a_dpop_token_with_its_proof_is_accepted_and_marked_proven(machine, path):
    key = DPoPKey()
    token = dpop_token(machine, key)
    response = call(path, token, key.proof(htu="http://testserver" + path))
    assert response.status_code == 200, response.content
    assert response.json()["proven"] is True


def test_the_middleware_marks_a_proven_token(machine, settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django_agent_obo.resource.AccessTokenMiddleware"]
    key = DPoPKey()
    token = dpop_token(machine, key)
    body = call("/rs/open/", token, key.proof(htu="http://testserver/rs/open/")).json()
    assert body["proven"] is True and body["jkt"] == key.jkt


def test_a_bearer_token_is_still_accepted_and_not_proven(machine):
    token = (
        Client()
        .post(TOKEN_URL, {"grant_type": "client_credentials"}, **machine.basic())
        .json()["access_token"]
    )
    response = call("/rs/any/", token, None, scheme="Bearer")
    assert response.status_code == 200 and response.json()["proven"] is False


def test_validate_access_token_keeps_working_on_the_token_string(machine):
    key = DPoPKey()
    info = validate_access_token(dpop_token(machine, key))
    assert info.dpop_jkt == key.jkt and info.proven is False


# --- stolen-token replay -------------------------------------------------------------------------


def test_stolen_token_without_proof_is_refused(machine, audited):
    token = dpop_token(machine, DPoPKey())
    assert_refused(call("/rs/any/", token, None), "invalid_dpop_proof", "dpop_missing")


def test_stolen_token_presented_as_bearer_is_refused(machine, audited):
    token = dpop_token(machine, DPoPKey())
    response = call("/rs/any/", token, None, scheme="Bearer")
    assert response.status_code == 401
    found = challenges(response)
    assert found["DPoP"]["error"] == "invalid_token"
    assert AuditEvent.objects.filter(event="resource.accessed", reason="token_dpop_bound").exists()


def test_stolen_token_with_a_proof_from_another_key_is_refused(machine, audited):
    key, thief = DPoPKey(), DPoPKey()
    token = dpop_token(machine, key)
    thief.htu, thief.access_token = URL, token
    assert_refused(call("/rs/any/", token, thief.proof()), "invalid_dpop_proof", "dpop_key_mismatch")


def test_proof_for_another_url_or_method_is_refused(machine, audited):
    key = DPoPKey()
    token = dpop_token(machine, key)
    assert_refused(
        call("/rs/any/", token, key.proof(htu="http://testserver/rs/other/")),
        "invalid_dpop_proof",
        "dpop_htu",
    )
    assert_refused(call("/rs/any/", token, key.proof(htm="GET")), "invalid_dpop_proof", "dpop_htm")


def test_replayed_proof_is_refused(machine, audited):
    key = DPoPKey()
    token = dpop_token(machine, key)
    proof = key.proof()
    assert call("/rs/any/", token, proof).status_code == 200
    assert_refused(call("/rs/any/", token, proof), "invalid_dpop_proof", "dpop_replayed")


def test_proof_for_another_token_is_refused(machine, audited):
    key = DPoPKey()
    token = dpop_token(machine, key)
    other = dpop_token(machine, key)
    assert_refused(call("/rs/any/", token, key.proof(access_token=other)), "invalid_dpop_proof", "dpop_ath")
    assert_refused(call("/rs/any/", token, key.proof(drop=("ath",))), "invalid_dpop_proof", "dpop_claims")


def test_a_bearer_token_sent_as_dpop_is_refused(machine, audited):
    token = (
        Client()
        .post(TOKEN_URL, {"grant_type": "client_credentials"}, **machine.basic())
        .json()["access_token"]
    )
    key = DPoPKey()
    key.htu, key.access_token = URL, token
    assert_refused(call("/rs/any/", token, key.proof()), "invalid_token", "token_not_dpop_bound")


def test_an_invalid_token_sent_as_dpop_gets_the_dpop_challenge(audited):
    assert_refused(call("/rs/any/", "not.a.token", DPoPKey().proof()), "invalid_token", "token_malformed")


# Built without ``ath``: at a resource server the required-claims check (§4.3 item 3) comes first.
WITHOUT_ATH = {"alg none", "alg HS256", "alg not allow-listed", "ES256 with a P-384 key"}


@pytest.mark.parametrize("case", sorted(set(PROOF_CASES) - {"htm GET"}))
def test_each_proof_check_refuses_at_the_resource_server(machine, audited, case):
    build, reason = PROOF_CASES[case]
    reason = "dpop_claims" if case in WITHOUT_ATH else reason
    key = DPoPKey()
    token = dpop_token(machine, key)
    assert_refused(call("/rs/any/", token, build(key)), "invalid_dpop_proof", reason)


def test_an_algorithm_the_resource_server_does_not_list_is_refused(machine, settings, audited):
    key = DPoPKey()
    token = dpop_token(machine, key)
    configure(settings, RS_DPOP_ALGORITHMS=["EdDSA"], RS_AUDIT_ACCESS=True)
    assert (
        assert_refused(call("/rs/any/", token, key.proof()), "invalid_dpop_proof", "dpop_alg")["algs"]
        == "EdDSA"
    )


@pytest.mark.parametrize("path", ["/rs/any/", "/drf/any/"])
def test_drf_and_decorator_refuse_a_bound_token_as_bearer(machine, path):
    token = dpop_token(machine, DPoPKey())
    response = call(path, token, None, scheme="Bearer")
    assert response.status_code == 401
    assert challenges(response)["DPoP"]["error"] == "invalid_token"


def test_malformed_dpop_authorization_is_invalid_request():
    response = call("/rs/any/", "two words", None)
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


# --- challenges (§7.1) ---------------------------------------------------------------------------


def test_no_token_gets_bearer_and_dpop_challenges():
    response = Client().get("/rs/any/")
    assert response.status_code == 401
    found = challenges(response)
    assert set(found) == {"Bearer", "DPoP"}
    assert "resource_metadata" in found["Bearer"] and found["DPoP"] == {
        "algs": "ES256 ES384 EdDSA RS256 PS256"
    }


@pytest.mark.parametrize("path", ["/rs/write/", "/drf/write/"])
def test_insufficient_scope_of_a_proven_token_is_a_dpop_challenge(machine, settings, path):
    settings.REST_FRAMEWORK = {
        "EXCEPTION_HANDLER": "django_agent_obo.contrib.rest_framework.exception_handler"
    }
    key = DPoPKey()
    token = dpop_token(machine, key, scope="calendar.read")
    response = call(path, token, key.proof(htu="http://testserver" + path))
    assert response.status_code == 403, response.content
    found = challenges(response)
    assert found["DPoP"]["error"] == "insufficient_scope" and found["DPoP"]["scope"] == "calendar.write"


def test_dpop_required_refuses_bearer_and_challenges_dpop_only(machine, settings):
    configure(settings, RS_DPOP_REQUIRED=True)
    token = (
        Client()
        .post(TOKEN_URL, {"grant_type": "client_credentials"}, **machine.basic())
        .json()["access_token"]
    )
    response = call("/rs/any/", token, None, scheme="Bearer")
    assert response.status_code == 401
    assert set(challenges(response)) == {"DPoP"}
    assert challenges(response)["DPoP"]["error"] == "invalid_token"
    key = DPoPKey()
    assert call("/rs/any/", dpop_token(machine, key), key.proof()).status_code == 200


# --- nonces (§9) and the external URL ------------------------------------------------------------


def test_resource_server_nonce_is_demanded_then_accepted(machine, settings):
    configure(settings, RS_DPOP_NONCE_REQUIRED=True)
    key = DPoPKey()
    token = dpop_token(machine, key)
    first = call("/rs/any/", token, key.proof())
    assert_refused(first, "use_dpop_nonce")
    nonce = first["DPoP-Nonce"]
    second = call("/rs/any/", token, key.proof(nonce=nonce))
    assert second.status_code == 200, second.content
    assert second["DPoP-Nonce"]
    as_nonce = dpop.server_nonces("as").current()
    assert_refused(call("/rs/any/", token, key.proof(nonce=as_nonce)), "use_dpop_nonce")


def test_drf_answers_use_dpop_nonce_with_the_nonce(machine, settings):
    configure(settings, RS_DPOP_NONCE_REQUIRED=True)
    settings.REST_FRAMEWORK = {
        "EXCEPTION_HANDLER": "django_agent_obo.contrib.rest_framework.exception_handler"
    }
    key = DPoPKey()
    token = dpop_token(machine, key)
    first = call("/drf/any/", token, key.proof(htu="http://testserver/drf/any/"))
    assert first.status_code == 401 and challenges(first)["DPoP"]["error"] == "use_dpop_nonce"
    proof = key.proof(htu="http://testserver/drf/any/", nonce=first["DPoP-Nonce"])
    assert call("/drf/any/", token, proof).status_code == 200


def test_external_url_setting_names_the_url_clients_see(machine, settings):
    configure(settings, RS_EXTERNAL_URL="https://api.example.com/")
    key = DPoPKey()
    token = dpop_token(machine, key)
    assert call("/rs/any/", token, key.proof(htu="https://api.example.com/rs/any/")).status_code == 200
    assert_refused(call("/rs/any/", token, key.proof()), "invalid_dpop_proof")


def test_forwarded_host_is_used_when_django_trusts_it(machine, settings):
    settings.USE_X_FORWARDED_HOST = True
    settings.ALLOWED_HOSTS = ["*"]
    key = DPoPKey()
    token = dpop_token(machine, key)
    proof = key.proof(htu="http://public.example/rs/any/")
    assert call("/rs/any/", token, proof, HTTP_X_FORWARDED_HOST="public.example").status_code == 200
