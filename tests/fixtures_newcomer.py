"""A stranger's Django + DOT site, generated from nothing, for ``tests/test_newcomer.py``.

Built the way DOT's getting-started tutorial builds one: ``startproject``, a ``users`` app with a
custom user model set before the first ``migrate`` (here: UUID primary key, login by e-mail),
``oauth2_provider`` in ``INSTALLED_APPS`` and ``include("oauth2_provider.urls")`` under ``/o/``,
clients made with DOT's ``createapplication``. Optionally DOT's Application and token models are
swapped for the site's own. Everything runs in subprocesses with this venv's Python and is driven
over real HTTP (``runserver --noreload`` on a free loopback port).
"""

from __future__ import annotations

import base64
import contextlib
import http.cookiejar
import json
import os
import re
import shlex
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import django_agent_obo
from tests.conftest import hidden_fields, pkce
from tests.servers import free_port, serving

REPO = Path(django_agent_obo.__file__).resolve().parent.parent
QUICKSTART = REPO / "docs" / "quickstart.md"
COMMAND_TIMEOUT = 300
PASSWORD = "a stranger's password 42"
WEB_REDIRECT = "https://calendar.example/callback"

USER_MODEL = """
import uuid

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models


class UserManager(BaseUserManager):
    def create_user(self, email, password=None, **extra):
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        return self.create_user(email, password, is_staff=True, is_superuser=True, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    objects = UserManager()
"""

SWAPPED_DOT_MODELS = """

from oauth2_provider.models import (
    AbstractAccessToken, AbstractApplication, AbstractIDToken, AbstractRefreshToken,
)


class Client(AbstractApplication):
    team = models.CharField(max_length=100, blank=True)


class Token(AbstractAccessToken):
    pass


class Refresh(AbstractRefreshToken):
    pass


class IdToken(AbstractIDToken):
    pass
"""

SWAPPED_SETTINGS = """
OAUTH2_PROVIDER_APPLICATION_MODEL = "users.Client"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "users.Token"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "users.Refresh"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "users.IdToken"
"""

SUBJECT_ADAPTER = """
from django_agent_obo.adapter import DefaultAgentOBOAdapter


class PublicSubjectAdapter(DefaultAgentOBOAdapter):
    def get_subject(self, user):
        return f"urn:example:user:{user.pk}"
"""

# The API of DOT's tutorial (part 2): a view protected by DOT's own bearer check.
SITE_API = """
from django.http import HttpResponse
from oauth2_provider.views.generic import ProtectedResourceView


class ApiEndpoint(ProtectedResourceView):
    def get(self, request, *args, **kwargs):
        return HttpResponse("Hello, OAuth2!")
"""

LOGIN_TEMPLATE = """<!DOCTYPE html>
<title>Sign in</title>
<form method="post">{% csrf_token %}{{ form.as_p }}
<input type="hidden" name="next" value="{{ next }}"><button type="submit">Sign in</button></form>
"""

# What the stranger adds to startproject's settings, as DOT's tutorial does.
SITE_SETTINGS = """
INSTALLED_APPS += ["users", "oauth2_provider"]
AUTH_USER_MODEL = "users.User"
LOGIN_URL = "/accounts/login/"
OAUTH2_PROVIDER = {"SCOPES": {"read": "Read scope", "write": "Write scope"}}
# Fast hashing keeps the test quick; DOT hashes client secrets with it too.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
"""

DOT_URL_LINE = '    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),\n'


# --- the documentation's code blocks -------------------------------------------------------


def code_blocks(markdown: str) -> list[tuple[str, str]]:
    """Every fenced block of a Markdown page as ``(language, text)``."""
    return [(m[1], m[2]) for m in re.finditer(r"^```(\w*)\n(.*?)^```", markdown, re.M | re.S)]


def quickstart_block(language: str, contains: str) -> str:
    found = [
        text for lang, text in code_blocks(QUICKSTART.read_text()) if lang == language and contains in text
    ]
    assert len(found) == 1, f"docs/quickstart.md: expected one {language} block with {contains!r}"
    return found[0]


def code_lines(block: str) -> list[str]:
    return [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


# --- HTTP -------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Response:
    status: int
    headers: Any
    body: str

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def location(self) -> str:
        return str(self.headers.get("Location", ""))


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


@dataclass
class Browser:
    """A cookie-keeping HTTP client that does not follow redirects."""

    base: str
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def request(
        self, path: str, data: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)
        body = urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        try:
            with opener.open(request, timeout=30) as answer:
                return Response(answer.status, answer.headers, answer.read().decode())
        except urllib.error.HTTPError as error:
            return Response(error.code, error.headers, error.read().decode())

    def login(self, path: str, email: str, password: str = PASSWORD) -> None:
        page = self.request(path)
        assert page.status == 200, page.body[:500]
        form = hidden_fields(page.body)
        answer = self.request(path, {**form, "username": email, "password": password})
        assert answer.status == 302, answer.body[:1000]

    def authorize(self, client_id: str, scope: str, actor: str | None = None) -> tuple[str, str]:
        """The browser half of the code flow, approving the consent page; (code, verifier)."""
        verifier, challenge = pkce()
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": WEB_REDIRECT,
            "scope": scope,
            "state": "st-42",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        if actor is not None:
            params["requested_actor"] = actor
        page = self.request("/o/authorize/?" + urlencode(params))
        assert page.status == 200, page.body[:1000]
        answer = self.request("/o/authorize/", {**hidden_fields(page.body), "allow": "Authorize"})
        assert answer.status == 302 and answer.location.startswith(WEB_REDIRECT), answer.body[:1000]
        values = {k: v[0] for k, v in parse_qs(urlsplit(answer.location).query).items()}
        assert values["state"] == "st-42", values
        return values["code"], verifier


# --- the generated project ------------------------------------------------------------------


@dataclass
class StrangerSite:
    root: Path

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "OBO_", "DATABASE_URL"))}
        env["PYTHONPATH"] = os.pathsep.join([str(self.root), str(REPO)])
        env["PYTHONUNBUFFERED"] = "1"
        return env

    @property
    def settings_file(self) -> Path:
        return self.root / "stranger" / "settings.py"

    @property
    def urls_file(self) -> Path:
        return self.root / "stranger" / "urls.py"

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
        assert done.returncode == 0, f"manage.py {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def shell(self, code: str) -> str:
        return self.manage("shell", "--no-imports", "-c", code).strip()

    def append_settings(self, text: str) -> None:
        with self.settings_file.open("a") as out:
            out.write("\n" + text)

    def run_documented_commands(self, block: str) -> None:
        """Run each ``python manage.py ...`` line of a documented shell block."""
        for line in code_lines(block):
            words = shlex.split(line)
            assert words[:2] == ["python", "manage.py"], line
            self.manage(*words[2:])

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        """``runserver --noreload`` on a free loopback port; stopped in any case."""
        port = free_port()
        command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
        with serving(command, cwd=self.root, env=self.env, port=port, log=self.root / f"server-{port}.log"):
            yield f"http://127.0.0.1:{port}"


def generate_site(root: Path, swapped: bool = False) -> StrangerSite:
    """startproject + a custom-user app + DOT, migrated; not yet using django_agent_obo."""
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "stranger", str(root)],
        check=True,
        timeout=COMMAND_TIMEOUT,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
    )
    site = StrangerSite(root)
    site.manage("startapp", "users")
    models = USER_MODEL + (SWAPPED_DOT_MODELS if swapped else "")
    (root / "users" / "models.py").write_text(models)
    (root / "users" / "views.py").write_text(SITE_API)
    templates = root / "users" / "templates" / "registration"
    templates.mkdir(parents=True)
    (templates / "login.html").write_text(LOGIN_TEMPLATE)
    site.append_settings(SITE_SETTINGS + (SWAPPED_SETTINGS if swapped else ""))
    urls = site.urls_file.read_text()
    urls = urls.replace("from django.urls import path", "from django.urls import include, path")
    urls = urls.replace(
        "from django.contrib import admin\n", "from django.contrib import admin\nimport users.views\n"
    )
    urls = re.sub(
        r"( *path\(['\"]admin/['\"], admin\.site\.urls\),\n)",
        lambda m: (
            m[1]
            + '    path("accounts/", include("django.contrib.auth.urls")),\n'
            + '    path("api/hello", users.views.ApiEndpoint.as_view()),\n'
            + DOT_URL_LINE
        ),
        urls,
    )
    assert DOT_URL_LINE in urls, urls
    site.urls_file.write_text(urls)
    site.manage("makemigrations", "users")
    site.manage("migrate", "--noinput")
    return site


def apply_quickstart(site: StrangerSite) -> None:
    """docs/quickstart.md steps 2-4, read from the page: settings (with the optional block that
    turns off the implicit and password grants), the URL line, the commands."""
    site.append_settings(quickstart_block("python", "# settings.py"))
    site.append_settings(quickstart_block("python", "# optional: refuse and stop advertising"))
    url_lines = code_lines(quickstart_block("python", "# urls.py"))
    urls = site.urls_file.read_text()
    assert DOT_URL_LINE in urls
    site.urls_file.write_text(urls.replace(DOT_URL_LINE, "".join(f"    {line}\n" for line in url_lines)))
    site.run_documented_commands(quickstart_block("bash", "manage.py migrate"))


def create_documented_agent(site: StrangerSite, client_id: str) -> dict[str, Any]:
    """docs/quickstart.md step 5, with the site's client id in place of ``<CLIENT_ID>``."""
    line = code_lines(quickstart_block("bash", "create_agent"))
    assert len(line) == 1, line
    words = shlex.split(line[0].replace("<CLIENT_ID>", client_id))
    assert words[:2] == ["python", "manage.py"]
    return dict(json.loads(site.manage(*words[2:])))


def create_user(site: StrangerSite, email: str, superuser: bool = False) -> str:
    """Creates a user of the site's own model; returns its primary key as text."""
    method = "create_superuser" if superuser else "create_user"
    return site.shell(
        "from django.contrib.auth import get_user_model; "
        f"print(get_user_model().objects.{method}({email!r}, {PASSWORD!r}).pk)"
    )


def create_client(site: StrangerSite, client_id: str, grant: str, secret: str) -> None:
    """An ordinary confidential client, made with DOT's own command."""
    args = ["createapplication", "confidential", grant, "--client-id", client_id]
    args += [f"--client-secret={secret}", "--name", client_id]  # "=": a secret may begin with "-"
    if grant == "authorization-code":
        args += ["--redirect-uris", WEB_REDIRECT]
    site.manage(*args)


def use_subject_adapter(site: StrangerSite) -> None:
    """The site's own adapter: ``sub`` becomes ``urn:example:user:<pk>``."""
    (site.root / "users" / "adapter.py").write_text(SUBJECT_ADAPTER)
    site.append_settings('AGENT_OBO = {**AGENT_OBO, "ADAPTER": "users.adapter.PublicSubjectAdapter"}\n')


def token_request(base: str, client_id: str, secret: str, **data: str) -> Response:
    return Browser(base).request("/o/token/", data, basic(client_id, secret))
