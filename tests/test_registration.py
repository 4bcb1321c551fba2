"""Self-registered clients (SPEC §10): DOT's RFC 7591/7592 views through our URL conf, the
site's policy, our metadata checks, the consent page, and what such a client may run."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.cache import cache
from django.test import Client
from oauth2_provider.models import get_application_model

from django_agent_obo.adapter import DefaultAgentOBOAdapter
from django_agent_obo.models import AuditEvent
from django_agent_obo.registration import hash_initial_access_token
from tests.conftest import (
    AUTHORIZE_URL,
    REDIRECT_URI,
    TOKEN_URL,
    App,
    authorize_params,
    hidden_fields,
    logged_in,
    make_agent,
    make_app,
    pkce,
)
from tests.fixtures_resource import configure

CALLBACK = "http://127.0.0.1:53682/callback"


def register(body: Any, **headers: str) -> Any:
    raw = body if isinstance(body, bytes | str) else json.dumps(body)
    return Client().post("/o/register/", raw, content_type="application/json", **headers)


def registered(**metadata: Any) -> App:
    response = register({"client_name": "Some MCP client", "redirect_uris": [CALLBACK], **metadata})
    assert response.status_code == 201, response.content
    data = response.json()
    model = get_application_model().objects.get(client_id=data["client_id"])
    return App(model=model, client_id=data["client_id"], secret=data.get("client_secret", ""))


def dot(settings: Any, **values: Any) -> None:
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, **values}


def test_metadata_advertises_registration_and_client_id_metadata_documents():
    data = Client().get("/.well-known/oauth-authorization-server").json()
    assert data["registration_endpoint"] == "http://127.0.0.1:8000/o/register/"
    assert data["client_id_metadata_document_supported"] is True


def test_registration_is_off_unless_the_site_turns_it_on(settings):
    dot(settings, DCR_ENABLED=False, CIMD_ENABLED=False)
    data = Client().get("/.well-known/oauth-authorization-server").json()
    assert "registration_endpoint" not in data
    assert data["client_id_metadata_document_supported"] is False
    assert register({"redirect_uris": [CALLBACK]}).status_code == 404


def test_open_registration_gives_a_confidential_client_with_its_management_uri():
    response = register(
        {
            "client_name": "MCP",
            "redirect_uris": [CALLBACK],
            "grant_types": ["authorization_code", "refresh_token"],
        }
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["token_endpoint_auth_method"] == "client_secret_basic" and data["client_secret"]
    management = Client().get(
        data["registration_client_uri"].removeprefix("http://testserver"),
        HTTP_AUTHORIZATION=f"Bearer {data['registration_access_token']}",
    )
    assert management.status_code == 200
    assert management.json()["client_id"] == data["client_id"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"redirect_uris": [CALLBACK], "client_name": "evil\x00name"}, "NUL"),
        ({"redirect_uris": ["http://127.0.0.1/cb\x00"]}, "NUL"),
        # A lone surrogate (JSON escape or raw bytes) no database can store: it was a 500.
        ('{"redirect_uris": ["' + CALLBACK + '"], "client_name": "a\\ud800"}', "surrogate"),
        ('{"redirect_uris": ["' + CALLBACK + '\\udfff"]}', "surrogate"),
        (b'{"redirect_uris": ["' + CALLBACK.encode() + b'"], "client_name": "a\xed\xa0\x80"}', "surrogate"),
        ({"redirect_uris": [CALLBACK], "grant_types": ["client_credentials"]}, "client_credentials"),
        ({"redirect_uris": [CALLBACK], "grant_types": ["password"]}, "password"),
        ({"redirect_uris": [CALLBACK], "client_name": {"a": 1}}, "client_name"),
        ({"redirect_uris": [CALLBACK], "client_name": "two\nlines"}, "client_name"),
        ({"redirect_uris": ["https://a.example/cb https://evil.example/cb"]}, "redirect_uri"),
        ({"redirect_uris": ["/relative"]}, "redirect_uri"),
        ({"redirect_uris": "https://a.example/cb"}, "redirect_uris"),
        ({"redirect_uris": []}, "redirect_uris"),
        (
            {"redirect_uris": [CALLBACK], "token_endpoint_auth_method": "private_key_jwt"},
            "token_endpoint_auth_method",
        ),
        (b"[" * 100_000, "nested"),
        (b"not json", "JSON"),
        (b"\xff\xfe", "JSON"),
        ([1, 2], "object"),
    ],
)
def test_bad_registration_metadata_is_invalid_client_metadata_never_a_500(body, needle):
    response = register(body)
    assert response.status_code == 400, response.content
    data = response.json()
    assert data["error"] == "invalid_client_metadata"
    assert needle in data["error_description"]
    assert not get_application_model().objects.exists()


def test_initial_access_token_policy(settings):
    dot(
        settings,
        DCR_REGISTRATION_PERMISSION_CLASSES=("django_agent_obo.registration.InitialAccessTokenPermission",),
    )
    configure(settings, REGISTRATION_INITIAL_ACCESS_TOKENS=[hash_initial_access_token("let-me-in")])
    body = {"redirect_uris": [CALLBACK]}
    assert register(body).status_code == 401
    assert register(body, HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    # Bad metadata from an outsider is not examined: the policy answers first.
    assert register({"redirect_uris": [CALLBACK], "client_name": "\x00"}).status_code == 401
    assert register(body, HTTP_AUTHORIZATION="Bearer let-me-in").status_code == 201


def test_management_put_checks_metadata_after_the_registration_token():
    app_data = register({"redirect_uris": [CALLBACK]}).json()
    uri = app_data["registration_client_uri"].removeprefix("http://testserver")
    bad = json.dumps({"redirect_uris": [CALLBACK], "client_name": "x\x00"})
    assert Client().put(uri, bad, content_type="application/json").status_code == 401
    answer = Client().put(
        uri,
        bad,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {app_data['registration_access_token']}",
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_client_metadata"


def consent_page(user: Any, app: App, actor: str | None = None) -> Any:
    _, code_challenge = pkce()
    params = authorize_params(app, code_challenge, actor, redirect_uri=CALLBACK)
    return logged_in(user).get(AUTHORIZE_URL + "?" + urlencode(params))


def test_consent_shows_a_self_registered_client_as_unverified_with_its_redirect_host(user, client_app):
    page = consent_page(user, registered()).content.decode()
    assert "Unverified application" in page
    assert '<strong class="redirect-host">127.0.0.1:53682</strong>' in page
    admin_made = make_app(redirect=CALLBACK)
    assert "Unverified application" not in consent_page(user, admin_made).content.decode()


def error_at_callback(response: Any) -> str:
    assert response.status_code == 302, response.content[:300]
    assert response["Location"].startswith(CALLBACK)
    return parse_qs(urlsplit(response["Location"]).query)["error"][0]


def test_a_self_registered_client_runs_no_agent_until_allowed(user):
    app = registered()
    agent = make_agent()
    refused = consent_page(user, app, agent.actor_id)
    assert error_at_callback(refused) == "unauthorized_client"
    # An admin allows this client ...
    agent.model.allowed_clients.add(app.model)
    assert consent_page(user, app, agent.actor_id).status_code == 200
    # ... or the agent allows any client the user consents to.
    other = registered(client_name="Another client")
    assert error_at_callback(consent_page(user, other, agent.actor_id)) == "unauthorized_client"
    agent.model.allow_any_client = True
    agent.model.save()
    page = consent_page(user, other, agent.actor_id)
    assert page.status_code == 200
    assert "Unverified application" in page.content.decode()


def test_offline_access_is_for_the_authorization_server_only(settings):
    assert (
        "offline_access" in Client().get("/.well-known/oauth-authorization-server").json()["scopes_supported"]
    )
    for path in ("", "/api/", "/mcp/"):
        document = Client().get("/.well-known/oauth-protected-resource" + path).json()
        assert "offline_access" not in document["scopes_supported"], path
    grants = [g for g in settings.OAUTH2_PROVIDER["OAUTH2_GRANT_TYPES_SUPPORTED"] if g != "refresh_token"]
    dot(settings, OAUTH2_GRANT_TYPES_SUPPORTED=grants)
    assert (
        "offline_access"
        not in Client().get("/.well-known/oauth-authorization-server").json()["scopes_supported"]
    )


@pytest.mark.parametrize("path", ["/api", "/nothing/", "/api/x/", "/%00/"])
def test_only_described_resources_have_a_path_aware_document(path):
    response = Client().get("/.well-known/oauth-protected-resource" + path)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_each_path_aware_document_names_the_identifier_its_url_was_built_from():
    for path in ("/api/", "/mcp/"):
        document = Client().get("/.well-known/oauth-protected-resource" + path).json()
        assert document["resource"] == "http://127.0.0.1:8000" + path
        assert document["authorization_servers"] == ["http://127.0.0.1:8000"]
    root = Client().get("/.well-known/oauth-protected-resource").json()
    assert root["resource"] == "http://127.0.0.1:8000/api/"


def test_pending_approval_policy(settings, user, admin_client):
    from django_agent_obo.models import AuditEvent, ClientApproval

    configure(settings, REGISTRATION_REQUIRES_APPROVAL=True)
    app = registered()
    approval = ClientApproval.objects.get(application=app.model)
    assert approval.status == ClientApproval.PENDING
    assert error_at_callback(consent_page(user, app)) == "unauthorized_client"
    assert AuditEvent.objects.filter(event="consent.denied", reason="client_pending_approval").exists()
    # The admin sees it and approves it.
    listing = admin_client.get("/admin/django_agent_obo/clientapproval/")
    assert "Some MCP client" in listing.content.decode()
    admin_client.post(
        "/admin/django_agent_obo/clientapproval/", {"action": "approve", "_selected_action": [approval.pk]}
    )
    approval.refresh_from_db()
    assert approval.status == ClientApproval.APPROVED
    assert consent_page(user, app).status_code == 200
    # Clients an admin made are not affected.
    assert consent_page(user, make_app(redirect=CALLBACK)).status_code == 200


def test_pending_approval_refuses_a_consent_answered_after_rejection(settings, user):
    from django_agent_obo.models import ClientApproval

    configure(settings, REGISTRATION_REQUIRES_APPROVAL=True)
    app = registered()
    ClientApproval.objects.filter(application=app.model).update(status=ClientApproval.APPROVED)
    browser = logged_in(user)
    _, code_challenge = pkce()
    page = browser.get(
        AUTHORIZE_URL + "?" + urlencode(authorize_params(app, code_challenge, redirect_uri=CALLBACK))
    )
    assert page.status_code == 200
    ClientApproval.objects.filter(application=app.model).update(status=ClientApproval.REJECTED)
    form = {**hidden_fields(page.content.decode()), "allow": "Authorize"}
    assert error_at_callback(browser.post(AUTHORIZE_URL, form)) == "unauthorized_client"


def _registration_rows() -> list[Any]:
    from django_agent_obo.models import AuditEvent

    return list(AuditEvent.objects.filter(event="client.registered").order_by("id"))


def test_a_registration_and_its_refusals_each_leave_an_audit_row(settings):
    app = registered(client_name="Claude Desktop")
    [row] = _registration_rows()
    assert row.outcome == "success" and row.client_id == app.client_id
    assert row.detail["client_name"] == "Claude Desktop"
    assert row.detail["redirect_hosts"] == ["127.0.0.1"]
    # Our metadata check, DOT's own validation, and the policy's refusal.
    assert register({"redirect_uris": [CALLBACK], "client_name": "x\x00"}).status_code == 400
    assert register(b"not json").status_code == 400
    dot(
        settings,
        DCR_REGISTRATION_PERMISSION_CLASSES=("django_agent_obo.registration.InitialAccessTokenPermission",),
    )
    assert register({"redirect_uris": [CALLBACK]}, HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    refused = _registration_rows()[1:]
    assert [(r.outcome, r.reason) for r in refused] == [
        ("failure", "client_metadata_invalid"),
        ("failure", "client_metadata_invalid"),
        ("failure", "registration_not_permitted"),
    ]
    assert all(r.detail["error"] for r in refused)
    assert get_application_model().objects.count() == 1


def test_a_management_refusal_leaves_an_audit_row():
    app_data = register({"redirect_uris": [CALLBACK]}).json()
    uri = app_data["registration_client_uri"].removeprefix("http://testserver")
    bad = json.dumps({"redirect_uris": [CALLBACK], "client_name": "x\x00"})
    assert Client().put(uri, bad, content_type="application/json").status_code == 401
    row = _registration_rows()[-1]
    assert (row.outcome, row.reason, row.detail["method"]) == ("failure", "registration_token_invalid", "PUT")


# --- Client ID Metadata Documents (DOT's CIMD, SPEC §10) ----------------------------------------

CIMD_URL = "https://cimd.example/client.json"
CIMD_NAME = {"value": "A metadata client"}


class FakeMetadataFetcher:
    """DOT's ``CIMD_METADATA_FETCHER``: the document a client publishes at its URL."""

    def fetch(self, client_id: str) -> tuple[dict[str, Any], int]:
        document = {
            "client_id": client_id,
            "client_name": CIMD_NAME["value"],
            "redirect_uris": [REDIRECT_URI],
        }
        return document, 300


@pytest.mark.django_db(transaction=True)  # as served: only the token request runs in a transaction
@pytest.mark.parametrize("name", ["evil\x00name", "evil\ud800name", "two\nlines"])
def test_a_metadata_document_our_checks_refuse_is_an_unknown_client_never_a_500(settings, user, name):
    """A document DOT would store as given or fail on (the database refusing its text, which
    also broke the token request's transaction) names no client: ``invalid_client``, and the
    consent page is the error page."""
    CIMD_NAME["value"] = name
    cache.clear()  # DOT's failure backoff of earlier tests
    dot(settings, CIMD_METADATA_FETCHER="tests.test_registration.FakeMetadataFetcher")
    redeemed = Client(raise_request_exception=False).post(
        TOKEN_URL,
        {
            "grant_type": "authorization_code",
            "client_id": CIMD_URL,
            "code": "c",
            "code_verifier": "v" * 43,
            "redirect_uri": REDIRECT_URI,
        },
    )
    assert redeemed.status_code == 401, redeemed.content[:300]
    assert redeemed.json()["error"] == "invalid_client"
    assert AuditEvent.objects.filter(event="token.refused").exists()
    cache.clear()  # DOT's failure backoff, so the page fetches the document again
    params = authorize_params(App(None, CIMD_URL, ""), pkce()[1])
    page = logged_in(user).get(AUTHORIZE_URL + "?" + urlencode(params))
    assert page.status_code == 400, page.content[:300]
    assert not get_application_model().objects.filter(client_id=CIMD_URL).exists()


@pytest.mark.django_db(transaction=True)
def test_a_metadata_document_client_reaches_the_consent_page(settings, user):
    CIMD_NAME["value"] = "A metadata client"
    cache.clear()
    dot(settings, CIMD_METADATA_FETCHER="tests.test_registration.FakeMetadataFetcher")
    params = authorize_params(App(None, CIMD_URL, ""), pkce()[1])
    page = logged_in(user).get(AUTHORIZE_URL + "?" + urlencode(params))
    assert page.status_code == 200, page.content[:300]
    assert b"A metadata client" in page.content


class BackchannelForEveryClient(DefaultAgentOBOAdapter):
    """A site that lets its self-registered clients ask users for approval (CIBA)."""

    def may_use_backchannel(self, application: Any) -> bool:
        return True


def test_a_self_registered_client_cannot_ask_users_for_approval_by_default(user):
    """``/o/bc-authorize/`` reaches any user by ``login_hint``, with the client's own name and
    binding message: a stranger's client registered by open registration may not use it."""
    from django_agent_obo.models import AuditEvent, BackchannelRequest
    from tests.fixtures_backchannel import bc_authorize

    app = registered()
    refused = bc_authorize(app, login_hint=user.username, binding_message="Your bank: confirm")
    assert refused.status_code == 400, refused.content
    assert refused.json()["error"] == "unauthorized_client"
    assert AuditEvent.objects.get(event="backchannel.requested").reason == "backchannel_not_allowed"
    assert not BackchannelRequest.objects.exists()
    assert bc_authorize(make_app(), login_hint=user.username).status_code == 200  # an admin's client


def test_pending_approval_applies_to_backchannel_requests(settings, user):
    """Where the site lets self-registered clients use ``/o/bc-authorize/``, one it has not
    approved starts no asynchronous request, and one rejected while its request waits gets the
    user's approval turned into a denial."""
    from django_agent_obo.models import AuditEvent, BackchannelRequest, ClientApproval
    from tests.fixtures_backchannel import answer, bc_authorize, poll

    configure(
        settings,
        REGISTRATION_REQUIRES_APPROVAL=True,
        ADAPTER="tests.test_registration.BackchannelForEveryClient",
    )
    app = registered()
    refused = bc_authorize(app, login_hint=user.username, binding_message="Your bank: confirm")
    assert refused.status_code == 400, refused.content
    assert refused.json()["error"] == "unauthorized_client"
    row = AuditEvent.objects.get(event="backchannel.requested")
    assert row.outcome == "failure" and row.reason == "client_pending_approval"
    assert not BackchannelRequest.objects.exists()

    ClientApproval.objects.filter(application=app.model).update(status=ClientApproval.APPROVED)
    created = bc_authorize(app, login_hint=user.username)
    assert created.status_code == 200, created.content
    ClientApproval.objects.filter(application=app.model).update(status=ClientApproval.REJECTED)
    answer(user, BackchannelRequest.objects.get().pk, allow=True)
    assert BackchannelRequest.objects.get().status == BackchannelRequest.DENIED
    denied = AuditEvent.objects.get(event="backchannel.denied")
    assert denied.reason == "client_pending_approval"
    assert poll(app, created.json()["auth_req_id"]).json()["error"] == "access_denied"


def test_pending_approval_turns_a_device_approval_after_rejection_into_a_denial(settings, user):
    """As on the consent page's POST and for CIBA: a self-registered device client rejected
    while its request waits gets no approval from the user's answer."""
    from django_agent_obo.models import ClientApproval
    from tests.fixtures_device import DEVICE_CODE, answer, ask

    configure(
        settings,
        REGISTRATION_REQUIRES_APPROVAL=True,
        REGISTRATION_GRANT_TYPES=["authorization_code", "refresh_token", DEVICE_CODE],
    )
    app = registered(grant_types=[DEVICE_CODE], redirect_uris=[])
    ClientApproval.objects.filter(application=app.model).update(status=ClientApproval.APPROVED)
    body = ask(app).json()
    ClientApproval.objects.filter(application=app.model).update(status=ClientApproval.REJECTED)
    assert answer(user, app, body["user_code"]).status_code == 302
    denied = AuditEvent.objects.get(event="consent.denied")
    assert denied.reason == "client_pending_approval"
    data = {"grant_type": DEVICE_CODE, "device_code": body["device_code"]}
    assert Client().post(TOKEN_URL, data, **app.basic()).json()["error"] == "access_denied"
