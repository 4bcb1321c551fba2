"""``obo_demo``: the whole on-behalf-of story of draft -02, run in this process against this
project's database through its real endpoints and pages, with readable output.

Exit status 0 when every step behaved as the draft says; otherwise a ``CommandError`` that
names the step that did not. Seeding is idempotent: the demo user's password and the
client's and agent's secrets are reset on every run.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_application_model

from ... import delegation
from ...actors import TOKEN_TYPE_ACCESS_TOKEN
from ...models import Agent, AgentGrant
from ...resource import validate_access_token
from ...tokens import issuer, verify_access_token
from ._demo_async import AsyncApprovalChapter
from ._demo_browser import Browser, forms_of
from ._demo_common import (
    DEMO_ACTOR_ID,
    DEMO_CLIENT_ID,
    DEMO_PASSWORD,
    DEMO_REDIRECT_URI,
    DEMO_SCOPE,
    DEMO_USERNAME,
    basic,
    bearer,
    expect,
    json_of,
    truncated,
)
from ._demo_device import DeviceChapter
from ._demo_dpop import DPoPChapter


def unapplied_migrations() -> list[str]:
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


class Command(AsyncApprovalChapter, DeviceChapter, DPoPChapter, BaseCommand):
    help = "Run the scripted agent-on-behalf-of-user demo end to end (exit 0 on success)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (it seeds a published password)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                f"obo_demo creates the account {DEMO_USERNAME}/{DEMO_PASSWORD}: run it on a development "
                "site (DEBUG=True), or pass --force."
            )
        try:
            pending = unapplied_migrations()
        except DatabaseError as exc:
            raise CommandError(
                f"The database cannot be read ({exc}): check DATABASES, then run migrate."
            ) from exc
        if pending:
            raise CommandError(
                f"The database is not migrated ({len(pending)} migration(s) not applied, e.g. {pending[0]}): "
                "run `python manage.py migrate` first."
            )
        self.issuer = issuer()
        self.browser = Browser(self.issuer)  # the user's browser: cookies, CSRF
        self.app = Browser(self.issuer)  # the client application's back end
        steps: list[tuple[str, Callable[[], None]]] = [
            ("Seed the demo user, client and agent", self.seed),
            ("The agent gets its actor token (client_credentials)", self.actor_token),
            ("The client calls the API without a token", self.unauthenticated_call),
            ("The client builds the authorization URL (requested_actor, PKCE S256)", self.authorization_url),
            ("The user signs in at /accounts/login/", self.sign_in),
            ("The user reads the consent page and allows", self.consent),
            ("The client redeems the code with the agent's actor token", self.redeem),
            ("The access token: user, client and actor kept apart", self.show_claims),
            ("The API call succeeds and sees the actor", self.api_call),
            ("A write without calendar.write is refused", self.write_refused),
            ("The user revokes the delegation on /agents/ (one click)", self.revoke),
            ("The API refuses the revoked token", self.refused_after_revoke),
            ("The agent asks while the user is away (/o/bc-authorize/)", self.async_request),
            ("The client polls: the user has not answered yet", self.async_pending),
            ("The user approves on /agents/requests/", self.async_approve),
            ("The client polls again: one token, with act", self.async_token),
            ("The user revokes that delegation too", self.revoke),
            ("Seed a device client (demo-tv-client) the agent may run on", self.device_seed),
            ("The device asks for a code for the agent (/o/device-authorization/)", self.device_request),
            ("The device polls: the user has not entered the code yet", self.device_pending),
            ("The user enters the code at /o/device/", self.device_enter_code),
            ("The user reads the confirmation page and allows", self.device_confirm),
            ("The device polls again with the agent's actor token: a token with act", self.device_token),
            ("The API call with the device's token succeeds and sees the actor", self.api_call),
            ("The user revokes the device's delegation", self.revoke),
            (
                "The client asks again for a token bound to the agent's key (dpop_jkt)",
                self.dpop_authorization_url,
            ),
            ("The user allows again (already signed in)", self.consent),
            ("The code is redeemed with a DPoP proof: token_type DPoP, cnf.jkt", self.dpop_redeem),
            ("The API call with Authorization: DPoP and a proof succeeds", self.dpop_api_call),
            ("A thief's replays of the DPoP token are refused", self.dpop_thief),
            ("The user revokes the DPoP-bound delegation", self.revoke),
        ]
        request_log = logging.getLogger("django.request")
        level = request_log.level
        request_log.setLevel(logging.ERROR)  # the 401s and 403 below are the point, not warnings
        try:
            for number, (title, step) in enumerate(steps, start=1):
                self.stdout.write(self.style.MIGRATE_HEADING(f"\n{number}. {title}"))
                try:
                    step()
                except Exception as exc:
                    raise CommandError(f"Demo step {number} ({title}) failed: {exc}") from exc
        finally:
            request_log.setLevel(level)
        self.stdout.write(self.style.SUCCESS(f"\nAll {len(steps)} steps behaved as the draft says."))

    # --- output -------------------------------------------------------------------------

    def say(self, text: str) -> None:
        self.stdout.write("   " + text.replace("\n", "\n   "))

    def show(self, label: str, value: Any) -> None:
        structured = isinstance(value, dict | list)
        text = json.dumps(value, indent=2, ensure_ascii=False) if structured else str(value)
        self.say(f"{label}: {text}")

    def show_http(self, response: HttpResponse) -> None:
        self.say(f"HTTP {response.status_code}")
        if "WWW-Authenticate" in response:
            self.say(f"WWW-Authenticate: {response['WWW-Authenticate']}")

    # --- the story ------------------------------------------------------------------------

    def seed(self) -> None:
        User = get_user_model()
        Application = get_application_model()
        with transaction.atomic():
            user, _ = User._default_manager.get_or_create(username=DEMO_USERNAME)
            user.set_password(DEMO_PASSWORD)
            user.is_active = True
            user.save()
            self.client_secret = generate_client_secret()
            client, _ = Application.objects.get_or_create(client_id=DEMO_CLIENT_ID)
            client.name = "Demo Calendar Client"
            client.client_type = Application.CLIENT_CONFIDENTIAL
            client.authorization_grant_type = Application.GRANT_AUTHORIZATION_CODE
            client.redirect_uris = DEMO_REDIRECT_URI
            client.client_secret = self.client_secret
            client.save()
        self.agent_client_id, self.agent_secret = self._seed_agent()
        self.show("user", f"{DEMO_USERNAME} / {DEMO_PASSWORD}")
        self.show("client", f"{DEMO_CLIENT_ID} (redirect_uri {DEMO_REDIRECT_URI})")
        self.show("agent", f"{DEMO_ACTOR_ID} with its own client {self.agent_client_id}")

    def _seed_agent(self) -> tuple[str, str]:
        agent = Agent.objects.filter(actor_id=DEMO_ACTOR_ID).first()
        if agent is None:
            out = io.StringIO()
            call_command(
                "create_agent",
                DEMO_ACTOR_ID,
                "--name=Demo Calendar Assistant",
                "--publisher=Example Agents Inc.",
                "--description=Reads your calendar and drafts events.",
                f"--client={DEMO_CLIENT_ID}",
                "--scopes=calendar.read calendar.write",
                "--credentials",
                "--json",
                stdout=out,
            )
            created = json.loads(out.getvalue())
            self.say("registered with `manage.py create_agent ... --credentials`")
            return str(created["client_id"]), str(created["client_secret"])
        Application = get_application_model()
        if not agent.is_active:
            delegation.set_agent_active(agent, True)
        with transaction.atomic():
            secret = generate_client_secret()
            credentials = agent.credentials or Application(
                name=f"Agent {DEMO_ACTOR_ID}",
                client_type=Application.CLIENT_CONFIDENTIAL,
                authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
            )
            credentials.client_secret = secret
            credentials.save()
            Agent.objects.filter(pk=agent.pk).update(
                credentials=credentials, valid_until=None, allowed_scopes="calendar.read calendar.write"
            )
            agent.allowed_clients.add(Application.objects.get(client_id=DEMO_CLIENT_ID))
        return str(credentials.client_id), secret

    def actor_token(self) -> None:
        response = self.app.post(
            "/o/token/",
            {"grant_type": "client_credentials"},
            **basic(self.agent_client_id, self.agent_secret),
        )
        body = json_of(response)
        expect(response.status_code == 200, f"the token endpoint answered {response.status_code}: {body}")
        self.actor_token_value = str(body["access_token"])
        claims = verify_access_token(self.actor_token_value)  # aud: this server, not the API
        expect(claims["sub"] == DEMO_ACTOR_ID, f"the actor token's sub is {claims['sub']!r}")
        self.show("actor token sub", claims["sub"])

    def unauthenticated_call(self) -> None:
        response = self.app.get("/api/whoami/")
        self.show_http(response)
        expect(response.status_code == 401, f"expected 401, got {response.status_code}")
        expect("error=" not in response["WWW-Authenticate"], "a request without a token got an error code")
        expect("resource_metadata=" in response["WWW-Authenticate"], "the challenge has no resource_metadata")
        resource = json_of(self.app.get("/.well-known/oauth-protected-resource"))
        self.show("protected resource metadata", resource)
        servers = resource.get("authorization_servers") or [self.issuer]
        self.server = json_of(self.app.get("/.well-known/oauth-authorization-server"))
        expect(
            self.server.get("requested_actor_supported") is True, "the server does not offer requested_actor"
        )
        shown = (
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "requested_actor_supported",
            "actor_token_types_supported",
            "code_challenge_methods_supported",
        )
        self.show(
            f"authorization server metadata ({servers[0]}/.well-known/oauth-authorization-server, abridged)",
            {key: self.server[key] for key in shown if key in self.server},
        )

    def authorization_url(self, **extra: str) -> None:
        self.verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(self.verifier.encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        self.state = secrets.token_urlsafe(12)
        params = {
            "response_type": "code",
            "client_id": DEMO_CLIENT_ID,
            "redirect_uri": DEMO_REDIRECT_URI,
            "scope": DEMO_SCOPE,
            "state": self.state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "requested_actor": DEMO_ACTOR_ID,
            **extra,
        }
        self.authorize_url = f"{self.server['authorization_endpoint']}?{urlencode(params)}"
        self.say(self.authorize_url)

    def sign_in(self) -> None:
        response = self.browser.get(self.authorize_url)
        expect(
            response.status_code == 302, f"an anonymous visit answered {response.status_code}, not a redirect"
        )
        login_url = response["Location"]
        self.show("redirected to", login_url)
        page = self.browser.get(login_url)
        forms = [form for form in forms_of(page.content.decode()) if "password" in form.fields]
        expect(page.status_code == 200 and len(forms) == 1, "no sign-in form on the login page")
        answer = self.browser.submit(forms[0], login_url, username=DEMO_USERNAME, password=DEMO_PASSWORD)
        expect(answer.status_code == 302, f"signing in answered {answer.status_code}")
        self.show("signed in as", DEMO_USERNAME)

    def consent(self) -> None:
        page = self.browser.get(self.authorize_url)
        html = page.content.decode()
        expect(page.status_code == 200, f"the consent page answered {page.status_code}")
        expect(
            DEMO_ACTOR_ID in html and "Demo Calendar Assistant" in html,
            "the consent page does not name the agent",
        )
        forms = [form for form in forms_of(html) if "consent_id" in form.fields]
        expect(len(forms) == 1, "no consent form on the page")
        self.show(
            "the page names the agent", f"Demo Calendar Assistant ({DEMO_ACTOR_ID}), Example Agents Inc."
        )
        posted = {name: value for name, value in sorted(forms[0].fields.items()) if value}
        posted["csrfmiddlewaretoken"] = truncated(posted.get("csrfmiddlewaretoken", ""))
        self.show("form fields posted back, with allow=Authorize", posted)
        answer = self.browser.submit(forms[0], self.authorize_url, allow="Authorize")
        expect(answer.status_code == 302, f"allowing answered {answer.status_code}")
        location = answer["Location"]
        query = {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
        expect(location.startswith(DEMO_REDIRECT_URI), f"redirected to {location}")
        expect(query.get("state") == self.state, "the state came back changed")
        expect("code" in query, f"no code in {location}")
        self.code = query["code"]
        self.show("redirect", location)

    def redeem(self, **headers: str) -> None:
        response = self.app.post(
            "/o/token/",
            {
                "grant_type": "authorization_code",
                "code": self.code,
                "redirect_uri": DEMO_REDIRECT_URI,
                "code_verifier": self.verifier,
                "actor_token": self.actor_token_value,
                "actor_token_type": TOKEN_TYPE_ACCESS_TOKEN,
            },
            **basic(DEMO_CLIENT_ID, self.client_secret),
            **headers,
        )
        body = json_of(response)
        expect(response.status_code == 200, f"the token endpoint answered {response.status_code}: {body}")
        self.token = str(body["access_token"])
        self.token_type = str(body["token_type"])
        shown = {
            k: truncated(str(v)) if k in ("access_token", "refresh_token") else v for k, v in body.items()
        }
        self.show("token response (tokens truncated)", shown)

    def show_claims(self) -> None:
        info = validate_access_token(self.token)
        self.show("claims", dict(info.claims))
        user = get_user_model()._default_manager.get(username=DEMO_USERNAME)
        expect(info.user.pk == user.pk, f"sub {info.sub} is not the demo user")
        expect(info.client_id == DEMO_CLIENT_ID, f"client_id is {info.client_id}")
        expect(info.actor_chain == (DEMO_ACTOR_ID,), f"act is {info.claims.get('act')}")
        self.say(f"sub = the user ({DEMO_USERNAME}), client_id = the client, act.sub = the agent")

    def api_call(self, auth: Callable[[str, str], dict[str, str]] | None = None) -> None:
        """``auth(method, path)``: the request's credentials; the token as ``Bearer`` by default."""
        auth = auth or (lambda method, path: bearer(self.token))
        response = self.app.get("/api/whoami/", **auth("GET", "/api/whoami/"))
        body = json_of(response)
        self.show_http(response)
        self.show("/api/whoami/", body)
        expect(response.status_code == 200, f"whoami answered {response.status_code}")
        expect(body.get("actor") == DEMO_ACTOR_ID, f"the API saw actor {body.get('actor')!r}")
        events = self.app.get("/api/calendar/events/", **auth("GET", "/api/calendar/events/"))
        expect(events.status_code == 200, f"reading the calendar answered {events.status_code}")
        self.show("GET /api/calendar/events/", f"HTTP 200, {len(json_of(events)['events'])} event(s)")

    def write_refused(self) -> None:
        response = self.app.post(
            "/api/calendar/events/",
            json.dumps({"title": "Dentist"}),
            content_type="application/json",
            **bearer(self.token),
        )
        self.show_http(response)
        expect(response.status_code == 403, f"expected 403, got {response.status_code}")
        expect(
            'error="insufficient_scope"' in response["WWW-Authenticate"], "no insufficient_scope challenge"
        )

    def revoke(self) -> None:
        grant = AgentGrant.objects.filter(
            user__username=DEMO_USERNAME, agent__actor_id=DEMO_ACTOR_ID, revoked_at__isnull=True
        ).first()
        expect(grant is not None, "no live grant to revoke")
        assert grant is not None
        page = self.browser.get("/agents/")
        link = f"/agents/grants/{grant.pk}/revoke/"
        forms = [form for form in forms_of(page.content.decode()) if form.action == link]
        expect(page.status_code == 200 and len(forms) == 1, "the agents page offers no revoke button")
        answer = self.browser.submit(forms[0], link)
        expect(answer.status_code == 302, f"revoking answered {answer.status_code}")
        grant.refresh_from_db()
        expect(grant.revoked_at is not None, "the grant is still live")
        self.show(
            "revoked", f"grant {grant.pk} ({grant.revoke_reason}) at {grant.revoked_at:%Y-%m-%d %H:%M:%S}"
        )

    def refused_after_revoke(self) -> None:
        response = self.app.get("/api/whoami/", **bearer(self.token))
        self.show_http(response)
        expect(response.status_code == 401, f"expected 401, got {response.status_code}")
        expect('error="invalid_token"' in response["WWW-Authenticate"], "no invalid_token challenge")
        answer = self.app.post(
            "/o/introspect/", {"token": self.token}, **basic(DEMO_CLIENT_ID, self.client_secret)
        )
        self.show("introspection", json_of(answer))
        expect(json_of(answer) == {"active": False}, "introspection still calls the token active")
