"""Agents named by URL (SPEC §11): documents fetched by DOT's safe fetcher from loopback."""

import uuid
from datetime import timedelta
from urllib.parse import urlencode

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.cache import cache
from django.utils import timezone
from jwt.algorithms import ECAlgorithm

from django_agent_obo.models import Agent, AuditEvent
from tests import document_server as docs
from tests.conftest import (
    AUTHORIZE_URL,
    ISSUER,
    authorize_params,
    error_of,
    get_code,
    logged_in,
    pkce,
    redeem,
    redirect_params,
)

SCOPES = ["calendar.read", "calendar.write"]


@pytest.fixture
def document_server(monkeypatch):
    yield from docs.serve(monkeypatch)


@pytest.fixture(autouse=True)
def _documents_on(settings):
    settings.AGENT_OBO = {
        **settings.AGENT_OBO,
        "AGENT_DOCUMENTS": "allowlist",
        "AGENT_DOCUMENT_HOSTS": ["agents.test"],
        "AGENT_DOCUMENT_SCOPES": SCOPES,
    }
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "CIMD_FETCH_TIMEOUT_SECONDS": 1}
    cache.clear()


def keypair(kid):
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update(kid=kid, alg="ES256")
    return key, jwk


def serve_agent(server, path="/agents/helper.json", jwk=None, **extra):
    url = server.url(path)
    document = {"actor_id": url, "name": "Helper", "publisher": "Agents Test", **extra}
    if jwk is not None:
        document["jwks"] = {"keys": [jwk]}
    server.serve_json(path, document)
    return url


def assertion(url, key, kid):
    now = int(timezone.now().timestamp())
    claims = {"iss": url, "sub": url, "aud": ISSUER, "iat": now, "exp": now + 60, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})


def consent_refusal(user, client_app, actor):
    _, challenge = pkce()
    response = logged_in(user).get(
        AUTHORIZE_URL + "?" + urlencode(authorize_params(client_app, challenge, actor))
    )
    values = redirect_params(response)
    row = AuditEvent.objects.filter(event="consent.denied").latest("pk")
    return values["error"], row.reason


def test_allowlisted_document_agent_gets_a_token_with_act(user, client_app, document_server):
    key, jwk = keypair("k1")
    url = serve_agent(document_server, jwk=jwk)
    code, verifier = get_code(logged_in(user), client_app, actor=url)
    response = redeem(client_app, code, verifier, actor_token=assertion(url, key, "k1"))
    assert response.status_code == 200, response.content
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["act"]["sub"] == url
    agent = Agent.objects.get(actor_id=url)
    assert (agent.name, agent.registration_source, agent.is_active) == ("Helper", "document", True)


def test_policy_off_means_unknown_actor(user, client_app, document_server, settings):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "AGENT_DOCUMENTS": "off"}
    url = serve_agent(document_server, jwk=keypair("k1")[1])
    assert consent_refusal(user, client_app, url) == ("invalid_request", "unknown_actor")
    assert document_server.hits == {}


def test_host_not_on_the_allowlist_is_refused_without_fetching(user, client_app, document_server, settings):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "AGENT_DOCUMENT_HOSTS": ["other.example"]}
    url = serve_agent(document_server, jwk=keypair("k1")[1])
    assert consent_refusal(user, client_app, url) == (
        "unauthorized_client",
        "actor_document_host_not_allowed",
    )
    assert document_server.hits == {}


def test_mismatched_actor_id_is_refused(user, client_app, document_server):
    url = document_server.url("/agents/liar.json")
    document_server.serve_json(
        "/agents/liar.json",
        {"actor_id": "https://agents.test/other.json", "name": "Liar", "jwks": {"keys": [keypair("k")[1]]}},
    )
    assert consent_refusal(user, client_app, url) == ("invalid_request", "actor_document_mismatch")
    assert not Agent.objects.filter(actor_id=url).exists()


def test_pending_document_is_refused_until_an_admin_approves(
    user, client_app, document_server, settings, admin_client
):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "AGENT_DOCUMENTS": "pending", "AGENT_DOCUMENT_HOSTS": []}
    key, jwk = keypair("k1")
    url = serve_agent(document_server, jwk=jwk)
    assert consent_refusal(user, client_app, url) == ("invalid_request", "agent_pending_approval")
    agent = Agent.objects.get(actor_id=url)
    assert agent.pending_approval and not agent.is_active
    page = admin_client.get("/admin/django_agent_obo/agent/?pending_approval__exact=1")
    assert url in page.content.decode() and "awaiting approval" in page.content.decode()
    admin_client.post(
        "/admin/django_agent_obo/agent/",
        {"action": "approve_agent_documents", "_selected_action": [agent.pk]},
    )
    agent.refresh_from_db()
    assert agent.is_active and not agent.pending_approval
    code, verifier = get_code(logged_in(user), client_app, actor=url)
    assert redeem(client_app, code, verifier, actor_token=assertion(url, key, "k1")).status_code == 200


def test_key_rotation_is_picked_up_once_the_cached_document_is_stale(user, client_app, document_server):
    old_key, old_jwk = keypair("old")
    url = serve_agent(document_server, jwk=old_jwk)
    code, verifier = get_code(logged_in(user), client_app, actor=url)
    new_key, new_jwk = keypair("new")
    serve_agent(document_server, jwk=new_jwk)
    response = redeem(client_app, code, verifier, actor_token=assertion(url, new_key, "new"))
    assert error_of(response) == "invalid_grant"  # still within the document's cache lifetime
    Agent.objects.filter(actor_id=url).update(document_expires_at=timezone.now() - timedelta(seconds=1))
    code, verifier = get_code(logged_in(user), client_app, actor=url)
    assert redeem(client_app, code, verifier, actor_token=assertion(url, new_key, "new")).status_code == 200
    code, verifier = get_code(logged_in(user), client_app, actor=url)
    assert (
        error_of(redeem(client_app, code, verifier, actor_token=assertion(url, old_key, "old")))
        == "invalid_grant"
    )


@pytest.mark.parametrize(
    "case",
    ["http", "private_address", "redirect_to_private", "oversized", "slow", "not_json"],
)
def test_ssrf_and_abusive_documents_are_refused(user, client_app, document_server, settings, case):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "AGENT_DOCUMENTS": "pending"}
    jwk = keypair("k")[1]
    if case == "http":
        url = f"http://agents.test:{document_server.port}/a.json"
    elif case == "private_address":
        url = f"https://127.0.0.1:{document_server.port}/a.json"
        document_server.serve_json("/a.json", {"actor_id": url, "name": "x", "jwks": {"keys": [jwk]}})
    elif case == "redirect_to_private":
        url = document_server.url("/a.json")
        document_server.serve_json(
            "/a.json", {}, status=302, headers={"Location": "https://169.254.169.254/latest/meta-data/"}
        )
    elif case == "oversized":
        url = serve_agent(document_server, "/a.json", jwk=jwk, description="x" * 20000)
    elif case == "slow":
        url = serve_agent(document_server, "/a.json", jwk=jwk)
        document_server.routes["/a.json"].delay = 2.5
    else:
        url = document_server.url("/a.json")
        document_server.serve_json("/a.json", {}, headers={"Content-Type": "text/html"})
    error, reason = consent_refusal(user, client_app, url)
    assert error in ("invalid_request", "unauthorized_client")
    if case == "http":
        assert reason == "unknown_actor"  # not a document URL at all: never fetched
    else:
        assert reason == "actor_document_unavailable"
    assert not Agent.objects.filter(actor_id=url).exists()


def test_failed_fetch_backs_off(user, client_app, document_server):
    url = document_server.url("/gone.json")
    assert consent_refusal(user, client_app, url)[1] == "actor_document_unavailable"
    assert consent_refusal(user, client_app, url)[1] == "actor_document_backoff"
    assert document_server.hits == {"/gone.json": 1}


def test_admin_registered_agent_at_a_url_is_never_overwritten(user, client_app, document_server, agent):
    url = serve_agent(document_server, jwk=keypair("k")[1], name="Impostor")
    agent.model.actor_id = url
    agent.model.save()
    get_code(logged_in(user), client_app, actor=url)
    agent.model.refresh_from_db()
    assert agent.model.name == "Calendar Assistant" and document_server.hits == {}


def test_dot_still_refuses_loopback_unpatched():
    assert docs.loopback_is_refused_by_dot()
