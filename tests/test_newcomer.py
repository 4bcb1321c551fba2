"""A newcomer adds django_agent_obo to a Django + DOT site they already run, by the quickstart.

The site is generated from nothing (``startproject``, DOT as its tutorial adds it, a custom user
model with UUID keys and e-mail login). It gets clients and tokens *before* we are installed;
then docs/quickstart.md is applied by reading its code blocks, so the page and this test cannot
drift. Everything after that runs over real HTTP against ``runserver``.
"""

from __future__ import annotations

import re
import secrets
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import jwt
import pytest

from tests.conftest import hidden_fields, pkce
from tests.fixtures_newcomer import (
    REPO,
    WEB_REDIRECT,
    Browser,
    StrangerSite,
    apply_quickstart,
    basic,
    code_lines,
    create_client,
    create_documented_agent,
    create_user,
    generate_site,
    quickstart_block,
    token_request,
    use_subject_adapter,
)

pytestmark = pytest.mark.newcomer

ISSUER = "https://auth.example.com"  # what the quickstart's AGENT_OBO says
ACTOR_ID = "agent:calendar-assistant"


@dataclass
class Stranger:
    site: StrangerSite
    base: str
    alice: str  # primary key (UUID text) of an ordinary user
    reporting_secret: str
    web_secret: str
    old_token: dict[str, Any]  # from the client-credentials client, before the install
    old_web_token: dict[str, Any]  # alice's token for the web client, before the install
    agent: dict[str, Any]


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stranger]:
    site = generate_site(tmp_path_factory.mktemp("stranger"))
    alice = create_user(site, "alice@example.com")
    create_user(site, "admin@example.com", superuser=True)
    reporting_secret, web_secret = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    create_client(site, "legacy-reporting", "client-credentials", reporting_secret)
    create_client(site, "calendar-web", "authorization-code", web_secret)
    with site.running() as base:
        old = token_request(base, "legacy-reporting", reporting_secret, grant_type="client_credentials")
        assert old.status == 200, old.body
        bearer = {"Authorization": "Bearer " + old.json()["access_token"]}
        assert Browser(base).request("/api/hello", headers=bearer).status == 200
        browser = Browser(base)
        browser.login("/accounts/login/", "alice@example.com")
        code, verifier = browser.authorize("calendar-web", "read")
        old_web = token_request(
            base,
            "calendar-web",
            web_secret,
            grant_type="authorization_code",
            code=code,
            redirect_uri=WEB_REDIRECT,
            code_verifier=verifier,
        )
        assert old_web.status == 200, old_web.body

    apply_quickstart(site)
    agent = create_documented_agent(site, "calendar-web")
    with site.running() as base:
        yield Stranger(site, base, alice, reporting_secret, web_secret, old.json(), old_web.json(), agent)


def agent_flow(base: str, email: str, client_id: str, secret: str, agent: dict[str, Any]) -> str:
    """Actor token, login, consent naming the agent, code, token with ``actor_token``."""
    actor = token_request(base, agent["client_id"], agent["client_secret"], grant_type="client_credentials")
    assert actor.status == 200, actor.body
    browser = Browser(base)
    browser.login("/accounts/login/", email)
    code, verifier = browser.authorize(client_id, "read", actor=agent["actor_id"])
    answer = token_request(
        base,
        client_id,
        secret,
        grant_type="authorization_code",
        code=code,
        redirect_uri=WEB_REDIRECT,
        code_verifier=verifier,
        actor_token=actor.json()["access_token"],
    )
    assert answer.status == 200, answer.body
    return str(answer.json()["access_token"])


def verified_claims(base: str, token: str) -> dict[str, Any]:
    """The access token's claims, its signature checked against the site's JWKS over HTTP."""
    key = jwt.PyJWKClient(base + "/o/jwks/").get_signing_key_from_jwt(token)
    return dict(
        jwt.decode(token, key, algorithms=["RS256", "ES256", "EdDSA"], audience=ISSUER, issuer=ISSUER)
    )


# --- the quickstart itself --------------------------------------------------------------------


def test_quickstart_is_about_ten_lines_of_settings_and_two_url_lines():
    settings_lines = code_lines(quickstart_block("python", "# settings.py"))
    url_lines = code_lines(quickstart_block("python", "# urls.py"))
    # two of them: the client-secret hasher (docs/client-authentication.md); one: OIDC_ISS_ENDPOINT
    assert len(settings_lines) <= 14
    assert url_lines == [
        'path("", include("django_agent_obo.urls")),',
        'path("agents/", include("django_agent_obo.selfservice.urls")),',
    ]


def test_quickstart_installs_the_distribution_this_repository_builds():
    name = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["name"]
    assert code_lines(quickstart_block("bash", "pip install")) == [f"pip install {name}"]


def test_system_checks_are_clean_after_the_quickstart(stranger):
    output = stranger.site.manage("check", "--fail-level", "WARNING")
    assert "agent_obo" not in output


def test_quickstart_iss_in_redirects_is_the_issuer_of_the_metadata(stranger):
    metadata = Browser(stranger.base).request("/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == ISSUER
    browser = Browser(stranger.base)
    browser.login("/accounts/login/", "alice@example.com")
    _, challenge = pkce()
    params = {"response_type": "code", "client_id": "calendar-web", "redirect_uri": WEB_REDIRECT}
    params |= {"scope": "read", "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"}
    page = browser.request("/o/authorize/?" + urlencode(params))
    answer = browser.request("/o/authorize/", {**hidden_fields(page.body), "allow": "Authorize"})
    assert answer.status == 302
    assert parse_qs(urlsplit(answer.location).query)["iss"] == [ISSUER]  # not http://127.0.0.1:port


def test_quickstart_optional_block_stops_advertising_implicit_and_password(stranger):
    metadata = Browser(stranger.base).request("/.well-known/oauth-authorization-server").json()
    assert "implicit" not in metadata["grant_types_supported"]
    assert "password" not in metadata["grant_types_supported"]
    assert "token" not in metadata["response_types_supported"]
    refused = token_request(
        stranger.base, "calendar-web", stranger.web_secret, grant_type="password", username="a", password="b"
    )
    assert refused.status == 400, refused.body


# --- what the site had before keeps working ----------------------------------------------------


def test_existing_client_credentials_client_still_gets_tokens(stranger):
    answer = token_request(
        stranger.base, "legacy-reporting", stranger.reporting_secret, grant_type="client_credentials"
    )
    assert answer.status == 200, answer.body
    assert answer.json()["token_type"] == "Bearer"
    claims = jwt.decode(answer.json()["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == "legacy-reporting" and "act" not in claims


def test_token_issued_before_the_install_is_still_active(stranger):
    answer = Browser(stranger.base).request(
        "/o/introspect/",
        {"token": stranger.old_token["access_token"]},
        basic("legacy-reporting", stranger.reporting_secret),
    )
    assert answer.status == 200, answer.body
    assert answer.json()["active"] is True
    assert answer.json()["client_id"] == "legacy-reporting"


def test_site_api_protected_by_dot_accepts_old_and_new_tokens(stranger):
    new = token_request(
        stranger.base, "legacy-reporting", stranger.reporting_secret, grant_type="client_credentials"
    ).json()
    for token in (stranger.old_token["access_token"], new["access_token"]):
        answer = Browser(stranger.base).request("/api/hello", headers={"Authorization": f"Bearer {token}"})
        assert answer.status == 200 and answer.body == "Hello, OAuth2!"
    assert Browser(stranger.base).request("/api/hello").status == 403


def test_refresh_token_issued_before_the_install_still_refreshes(stranger):
    answer = token_request(
        stranger.base,
        "calendar-web",
        stranger.web_secret,
        grant_type="refresh_token",
        refresh_token=stranger.old_web_token["refresh_token"],
    )
    assert answer.status == 200, answer.body
    claims = jwt.decode(answer.json()["access_token"], options={"verify_signature": False})
    assert claims["sub"] == stranger.alice and "act" not in claims


def test_existing_web_client_plain_code_flow_is_unchanged(stranger):
    browser = Browser(stranger.base)
    browser.login("/accounts/login/", "alice@example.com")
    code, verifier = browser.authorize("calendar-web", "read write")
    answer = token_request(
        stranger.base,
        "calendar-web",
        stranger.web_secret,
        grant_type="authorization_code",
        code=code,
        redirect_uri=WEB_REDIRECT,
        code_verifier=verifier,
    )
    assert answer.status == 200, answer.body
    claims = jwt.decode(answer.json()["access_token"], options={"verify_signature": False})
    assert claims["sub"] == stranger.alice and claims["scope"] == "read write" and "act" not in claims


def test_dot_management_pages_are_still_served(stranger):
    """Users keep their authorized-token pages; registering clients is for staff (issue #12)."""
    browser = Browser(stranger.base)
    browser.login("/accounts/login/", "alice@example.com")
    assert browser.request("/o/applications/").status == 403
    assert browser.request("/o/authorized_tokens/").status == 200
    admin = Browser(stranger.base)
    admin.login("/accounts/login/", "admin@example.com")
    assert admin.request("/o/applications/").status == 200


# --- the agent flow ----------------------------------------------------------------------------


def test_agent_flow_over_http_keeps_user_client_and_actor_apart(stranger):
    token = agent_flow(
        stranger.base, "alice@example.com", "calendar-web", stranger.web_secret, stranger.agent
    )
    claims = verified_claims(stranger.base, token)
    assert claims["sub"] == stranger.alice  # the adapter's str(user.pk): a UUID, not an integer
    assert len(claims["sub"]) == 36
    assert claims["client_id"] == claims["azp"] == "calendar-web"
    assert claims["act"] == {"sub": ACTOR_ID}
    assert claims["scope"] == "read"


def test_user_sees_the_agent_on_the_self_service_page_and_revokes_it(stranger):
    token = agent_flow(
        stranger.base, "alice@example.com", "calendar-web", stranger.web_secret, stranger.agent
    )
    introspect = {"token": token}
    auth = basic("calendar-web", stranger.web_secret)
    assert Browser(stranger.base).request("/o/introspect/", introspect, auth).json()["active"] is True
    browser = Browser(stranger.base)
    browser.login("/accounts/login/", "alice@example.com")
    page = browser.request("/agents/")
    assert page.status == 200 and "Calendar Assistant" in page.body
    revoke_urls = re.findall(r'<form method="post" action="(/agents/grants/\d+/revoke/)"', page.body)
    assert revoke_urls
    for revoke_url in revoke_urls:  # one click: the button's form posts at once
        assert browser.request(revoke_url, hidden_fields(page.body)).status == 302
    assert Browser(stranger.base).request("/o/introspect/", introspect, auth).json()["active"] is False


def test_consent_page_of_the_generated_site_names_the_agent(stranger):
    browser = Browser(stranger.base)
    browser.login("/accounts/login/", "alice@example.com")
    page = browser.request(
        "/o/authorize/?response_type=code&client_id=calendar-web&scope=read&state=s"
        f"&redirect_uri={quote(WEB_REDIRECT, safe='')}&code_challenge={'a' * 43}"
        f"&code_challenge_method=S256&requested_actor={quote(ACTOR_ID)}"
    )
    assert page.status == 200, page.body[:500]
    assert "Calendar Assistant" in page.body and ACTOR_ID in page.body


def test_admin_screens_work_with_a_uuid_email_user_model(stranger):
    agent_flow(stranger.base, "alice@example.com", "calendar-web", stranger.web_secret, stranger.agent)
    admin = Browser(stranger.base)
    admin.login("/admin/login/", "admin@example.com")
    for path in (
        "/admin/django_agent_obo/agentgrant/",
        "/admin/django_agent_obo/agentgrant/?q=alice%40example.com",
        "/admin/django_agent_obo/agentgrant/?o=1",
        f"/admin/django_agent_obo/agentgrant/?user={stranger.alice}",
        f"/admin/django_agent_obo/auditevent/?user={stranger.alice}",
        "/admin/django_agent_obo/auditevent/?q=alice%40example.com",
        f"/admin/django_agent_obo/auditevent/user/{stranger.alice}/timeline/",
        "/admin/django_agent_obo/agent/",
    ):
        page = admin.request(path)
        assert page.status == 200, (path, re.findall(r"<title>(.*?)</title>", page.body, re.S))
        if "user" in path or "q=" in path:
            assert "alice@example.com" in page.body, path
    assert admin.request("/admin/django_agent_obo/auditevent/user/not-a-uuid/timeline/").status == 404


# --- swapped DOT models and a site adapter ----------------------------------------------------


@pytest.fixture(scope="module")
def swapped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StrangerSite, str, str, str]]:
    site = generate_site(tmp_path_factory.mktemp("swapped"), swapped=True)
    alice = create_user(site, "alice@example.com")
    secret = secrets.token_urlsafe(24)
    create_client(site, "calendar-web", "authorization-code", secret)
    apply_quickstart(site)
    use_subject_adapter(site)
    with site.running() as base:
        yield site, base, alice, secret


def test_swapped_application_and_token_models_run_the_agent_flow(swapped):
    site, base, alice, secret = swapped
    agent = create_documented_agent(site, "calendar-web")
    claims = verified_claims(base, agent_flow(base, "alice@example.com", "calendar-web", secret, agent))
    assert claims["act"] == {"sub": ACTOR_ID}
    assert claims["sub"] == f"urn:example:user:{alice}"  # from the site's adapter
    counts = site.shell(
        "from users.models import Client, Token; from django_agent_obo.models import Agent; "
        f"a = Agent.objects.get(actor_id={ACTOR_ID!r}); "
        "print(type(a.credentials).__name__, Client.objects.count(), Token.objects.count())"
    )
    kind, clients, tokens = counts.split()
    assert kind == "Client" and int(clients) == 2 and int(tokens) == 2
