"""The benchmark suite (``make bench``): our costs measured side by side with DOT's and PyJWT's.

Every comparison runs its contenders in interleaved rounds in this one process and keeps
the median of each (see ``_common.medians``), so the ratios hold on a noisy machine:

1. ``obo_exchange / plain_exchange``: redeeming an agent's authorization code at our token
   endpoint (actor-token check, RS256 JWT, token record, audit row, one transaction) versus
   DOT's stock token endpoint (its own oauthlib server and validator, opaque token) redeeming
   an ordinary code, same database, same client, HTTP Basic with the same secret hasher
   (``bench_settings``).
   Only the token request is timed; codes come from the consent page beforehand.
2. ``rs_validate / pyjwt_decode`` and ``dot_bearer / rs_validate``: see ``rs_validate.py``.
3. Revoking a grant holding 10,000 live tokens and their exchanged descendants (PostgreSQL).
4. Queries of the consent page and of ``/agents/`` at 1 and at 200 grants (must be equal).

1b. ``shipped_exchange / bench_exchange``: the same agent code redemption with the example
   project's shipped hashers (PBKDF2 for users, ``ClientSecretHasher`` for client secrets)
   versus the bench's MD5 (``bench_exchange`` is ``obo_exchange``); and ``assertion_auth /
   secret_auth``: an agent's ``client_credentials`` request authenticated by ``private_key_jwt``
   versus ``client_secret_basic`` with the shipped hasher. All interleaved with the others.

The last line reads ``ratios: obo_exchange/plain_exchange=X rs_validate/pyjwt_decode=Y
dot_bearer/rs_validate=Z shipped_exchange/bench_exchange=S assertion_auth/secret_auth=A
dpop_validate/rs_validate=W`` (W: a DPoP token with its proof against a bearer token, both through
the toolkit, see ``rs_validate.py``). ``--quick`` runs a few rounds of each (a smoke test, not figures).
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from types import ModuleType
from typing import Any

import rs_validate
from _common import machine, medians, migrate, on_postgres, setup_django

PLAIN_TOKEN_URL = "/bench/dot-token/"


def with_plain_dot_endpoint() -> Any:
    """The example project plus DOT's stock token endpoint (its own oauthlib server and
    validator: opaque tokens, no actors) at a bench-only URL."""
    from django.conf import settings
    from django.test import override_settings
    from django.urls import include, path
    from oauth2_provider.oauth2_validators import OAuth2Validator
    from oauth2_provider.views import TokenView
    from oauthlib.oauth2 import Server

    class PlainTokenView(TokenView):
        server_class = Server
        validator_class = OAuth2Validator

    urls = ModuleType("bench_urls")
    urls.urlpatterns = [  # type: ignore[attr-defined]
        path(PLAIN_TOKEN_URL[1:], PlainTokenView.as_view()),
        path("", include(settings.ROOT_URLCONF)),
    ]
    return override_settings(ROOT_URLCONF=urls)


# --- 1. code redemption ---------------------------------------------------------------------


def exchange_samplers() -> tuple[dict[str, Callable[[], float]], dict[str, int]]:
    """Samplers (seconds of one token request each) and the queries one such request runs."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tests.conftest import (
        REDIRECT_URI,
        TOKEN_URL,
        actor_assertion,
        actor_token_issued,
        get_code,
        logged_in,
        make_agent,
        make_app,
    )

    app = make_app("Bench client")
    agent = make_agent("agent:bench", clients=(app,))
    browser = logged_in(get_user_model().objects.create_user("bench-user"))
    issued = {"token": "", "at": 0.0}

    def issued_actor_token() -> str:
        """The agent's AS-issued actor token, renewed well before its five minutes are up."""
        if time.monotonic() - issued["at"] > 120:
            issued.update(token=actor_token_issued(agent), at=time.monotonic())
        return str(issued["token"])

    variants: dict[str, tuple[str, str | None, Callable[[], str] | None]] = {
        "plain_exchange": (PLAIN_TOKEN_URL, None, None),
        "obo_exchange": (TOKEN_URL, agent.actor_id, issued_actor_token),
        "obo_exchange_self_signed": (TOKEN_URL, agent.actor_id, lambda: actor_assertion(agent)),
    }

    def request_for(name: str) -> tuple[str, dict[str, str]]:
        """A fresh code from the consent page (untimed), as the token request redeeming it."""
        url, actor, actor_token = variants[name]
        code, verifier = get_code(browser, app, actor=actor)
        data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
        data["redirect_uri"] = REDIRECT_URI
        if actor_token is not None:
            data["actor_token"] = actor_token()
        return url, data

    back_end = Client()  # one handler for every request, as a server process: middleware loaded once

    def post(url: str, data: dict[str, str]) -> None:
        response = back_end.post(url, data, **app.basic())
        assert response.status_code == 200, response.content

    def sampler(name: str) -> Callable[[], float]:
        def sample() -> float:
            url, data = request_for(name)
            began = time.perf_counter()
            post(url, data)
            return time.perf_counter() - began

        return sample

    queries = {}
    for name in variants:
        url, data = request_for(name)
        with CaptureQueriesContext(connection) as captured:
            post(url, data)
        queries[name] = len(captured)
    samplers = {name: sampler(name) for name in variants}
    shipped, shipped_queries = shipped_samplers(browser)
    return {**samplers, **shipped}, {**queries, **shipped_queries}


# --- 1b. the example project's shipped hashers ------------------------------------------------


def shipped() -> Any:
    """The example project's own ``PASSWORD_HASHERS`` (PBKDF2 first for users, the client-secret
    hasher appended), in place of the bench's MD5; entered around each sample, untimed."""
    from django.test import override_settings

    from example_project import settings as example

    return override_settings(PASSWORD_HASHERS=example.PASSWORD_HASHERS)


def with_shipped_secret(app: Any) -> Any:
    """``app`` with its secret stored as the example project stores it (its CLIENT_SECRET_HASHER)."""
    from django.contrib.auth.hashers import make_password

    from example_project import settings as example

    with shipped():
        stored = make_password(app.secret, hasher=example.OAUTH2_PROVIDER["CLIENT_SECRET_HASHER"])
    type(app.model).objects.filter(pk=app.model.pk).update(client_secret=stored)
    app.model.client_secret = stored
    return app


def shipped_samplers(browser: Any) -> tuple[dict[str, Callable[[], float]], dict[str, int]]:
    """``shipped_exchange``: ``obo_exchange`` with the shipped hashers (a client of its own, whose
    secret the shipped hasher stored); ``secret_auth`` / ``assertion_auth``: an agent's
    ``client_credentials`` request authenticated by its secret (shipped hasher, HTTP Basic) or
    by an ES256 ``private_key_jwt`` assertion (RFC 7523 §2.2) signed before the clock starts."""
    from django.contrib.auth.hashers import identify_hasher
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from django_agent_obo.client_assertions import CLIENT_ASSERTION_TYPE
    from tests.conftest import (
        ISSUER,
        REDIRECT_URI,
        TOKEN_URL,
        actor_assertion,
        actor_token_issued,
        get_code,
        make_agent,
        make_app,
    )

    app = with_shipped_secret(make_app("Shipped client"))
    agent = make_agent("agent:shipped", clients=(app,))
    with_shipped_secret(agent.app)
    issued = {"token": "", "at": 0.0}

    def actor_token() -> str:
        if time.monotonic() - issued["at"] > 120:
            issued.update(token=actor_token_issued(agent), at=time.monotonic())
        return str(issued["token"])

    def exchange() -> tuple[dict[str, str], dict[str, str]]:
        code, verifier = get_code(browser, app, actor=agent.actor_id)
        data = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
        return {**data, "redirect_uri": REDIRECT_URI, "actor_token": actor_token()}, app.basic()

    def by_secret() -> tuple[dict[str, str], dict[str, str]]:
        return {"grant_type": "client_credentials"}, agent.app.basic()

    def by_assertion() -> tuple[dict[str, str], dict[str, str]]:
        client_id = agent.app.client_id
        signed = actor_assertion(agent, iss=client_id, sub=client_id, aud=ISSUER + TOKEN_URL)
        data = {"client_assertion_type": CLIENT_ASSERTION_TYPE, "client_assertion": signed}
        return {"grant_type": "client_credentials", **data}, {}

    requests = {"shipped_exchange": exchange, "secret_auth": by_secret, "assertion_auth": by_assertion}
    back_end = Client()  # as in exchange_samplers: the middleware is loaded once, not per request

    def sampler(name: str) -> Callable[[], float]:
        def sample() -> float:
            with shipped():
                data, headers = requests[name]()
                identify_hasher(app.model.client_secret)  # Django's hasher cache warm again
                began = time.perf_counter()
                response = back_end.post(TOKEN_URL, data, **headers)
                seconds = time.perf_counter() - began
            assert response.status_code == 200, response.content
            return seconds

        return sample

    queries = {}
    for name, build in requests.items():
        with shipped():
            data, headers = build()
            with CaptureQueriesContext(connection) as captured:
                assert back_end.post(TOKEN_URL, data, **headers).status_code == 200
        queries[name] = len(captured)
    return {name: sampler(name) for name in requests}, queries


# --- 3. revoking a large grant ----------------------------------------------------------------


def seed_lineage(tokens: int, every: int) -> tuple[Any, int]:
    """A live grant with ``tokens`` delegated tokens (each with DOT's access and refresh token
    rows); every ``every``-th of them exchanged once, and every ``every``-th of those exchanged
    again (RFC 8693 chains three deep). Rows are made in bulk, not through HTTP."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from oauth2_provider.models import get_access_token_model, get_refresh_token_model

    from django_agent_obo.models import AgentGrant, IssuedToken
    from tests.conftest import make_agent, make_app

    AccessToken, RefreshToken = get_access_token_model(), get_refresh_token_model()
    tag = secrets.token_hex(3)
    user = get_user_model().objects.create_user(f"revoke-{tag}")
    app = make_app(f"Revoke {tag}")
    agent = make_agent(f"agent:revoke-{tag}", clients=(app,)).model
    grant = AgentGrant.objects.create(user=user, agent=agent, application=app.model, scope="calendar.read")
    now = timezone.now()
    expires = now + timedelta(minutes=10)

    def mint(parents: list[Any], chain: list[str]) -> list[Any]:
        dots = AccessToken.objects.bulk_create(
            [
                AccessToken(
                    user=user, application=app.model, token=secrets.token_urlsafe(32), expires=expires
                )
                for _ in parents
            ],
            batch_size=2000,
        )
        return IssuedToken.objects.bulk_create(
            [
                IssuedToken(
                    jti=secrets.token_urlsafe(24),
                    token_checksum=dot.token_checksum,
                    kind=IssuedToken.KIND_DELEGATED,
                    access_token=dot,
                    user=user,
                    application=app.model,
                    agent=agent,
                    agent_grant=grant,
                    parent=parent,
                    actor_chain=chain,
                    scope="calendar.read",
                    audience=["https://api.example/"],
                    issued_at=now,
                    expires_at=expires,
                )
                for dot, parent in zip(dots, parents, strict=True)
            ],
            batch_size=2000,
        )

    roots = mint([None] * tokens, [agent.actor_id])
    RefreshToken.objects.bulk_create(
        [
            RefreshToken(
                user=user,
                application=app.model,
                token=secrets.token_urlsafe(32),
                access_token_id=r.access_token_id,
            )
            for r in roots
        ],
        batch_size=2000,
    )
    children = mint(roots[::every], ["agent:downstream", agent.actor_id])
    grandchildren = mint(children[::every], ["agent:further", "agent:downstream", agent.actor_id])
    return grant, len(roots) + len(children) + len(grandchildren)


def revocation_seconds(tokens: int, every: int, runs: int) -> tuple[float, int, int]:
    """Median seconds of ``revoke_grant`` over ``runs`` fresh grants; tokens revoked; queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from django_agent_obo import delegation

    timings, revoked, queries = [], 0, 0
    for _ in range(runs):
        grant, total = seed_lineage(tokens, every)
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            revoked = delegation.revoke_grant(grant, reason="user_revoked")
            timings.append(time.perf_counter() - began)
        assert revoked == total, (revoked, total)
        queries = len(captured)
    return statistics.median(timings), revoked, queries


# --- 4. query counts ----------------------------------------------------------------------------


def query_counts(grants: int) -> dict[str, tuple[int, int]]:
    """Queries of the consent page and of ``/agents/`` with 1 grant, then with ``grants``."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from django_agent_obo.models import Agent, AgentGrant, AuditEvent
    from tests.conftest import AUTHORIZE_URL, authorize_params, logged_in, make_app, pkce

    user = get_user_model().objects.create_user("many-grants")
    app = make_app("Many grants client")
    agents = Agent.objects.bulk_create(
        [
            Agent(actor_id=f"agent:many-{i}", name=f"Agent {i:03d}", allowed_scopes="calendar.read")
            for i in range(grants)
        ]
    )
    Agent.allowed_clients.through.objects.bulk_create(
        [Agent.allowed_clients.through(agent_id=a.pk, application_id=app.model.pk) for a in agents]
    )
    browser = logged_in(user)
    consent_url = "/o/authorize/?" + "&".join(
        f"{k}={v}" for k, v in authorize_params(app, pkce()[1], agents[0].actor_id).items()
    )
    assert consent_url.startswith(AUTHORIZE_URL)

    def count(url: str) -> int:
        assert browser.get(url).status_code == 200  # warm: session, caches
        with CaptureQueriesContext(connection) as captured:
            assert browser.get(url).status_code == 200
        return len(captured)

    def add_grants(chosen: list[Agent]) -> None:
        AgentGrant.objects.bulk_create(
            [AgentGrant(user=user, agent=a, application=app.model, scope="calendar.read") for a in chosen]
        )
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    at=timezone.now(),
                    event="token.issued",
                    user=user,
                    username=user.username,
                    client_id=app.client_id,
                    actor_id=a.actor_id,
                    actor_chain=[a.actor_id],
                )
                for a in chosen
                for _ in range(3)
            ]
        )

    add_grants(agents[:1])
    few = {"consent page": count(consent_url), "/agents/": count("/agents/")}
    add_grants(agents[1:])
    many = {"consent page": count(consent_url), "/agents/": count("/agents/")}
    return {page: (few[page], many[page]) for page in few}


# --- the run --------------------------------------------------------------------------------------


FULL = {"rounds": 200, "rs_calls": 500, "rs_rounds": 15, "tokens": 10_000, "revoke_runs": 3, "grants": 200}
QUICK = {"rounds": 6, "rs_calls": 50, "rs_rounds": 3, "tokens": 500, "revoke_runs": 1, "grants": 200}
TARGETS = (
    "obo_exchange/plain_exchange ≤ 1.10, rs_validate/pyjwt_decode ≤ 1.5, dot_bearer/rs_validate ≥ 5, "
    "shipped_exchange/bench_exchange ≤ 1.2, assertion_auth/secret_auth ≤ 1.2, dpop_validate/rs_validate ≤ 2.0"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few rounds only: checks the bench runs")
    parser.add_argument(
        "--exchange-every",
        type=int,
        default=10,
        metavar="N",
        help="revocation: every N-th token was exchanged",
    )
    options = parser.parse_args()
    size = QUICK if options.quick else FULL
    database = setup_django(throwaway=True)
    migrate()
    print(f"machine: {machine()}")
    print(f"database: {database}")
    with with_plain_dot_endpoint():
        samplers, queries = exchange_samplers()
        exchange = medians(samplers, size["rounds"])
        rs = rs_validate.measure(size["rs_calls"], size["rs_rounds"])
        counts = query_counts(size["grants"])
        revocation = (
            revocation_seconds(size["tokens"], options.exchange_every, size["revoke_runs"])
            if on_postgres()
            else None
        )

    print(f"\n1. authorization-code redemption, median of {size['rounds']} interleaved rounds, per request")
    for name, seconds in exchange.items():
        print(f"  {name:<26} {seconds * 1000:7.2f} ms  {queries[name]:3d} queries")
    print(
        f"\n2. resource-server validation, median of {size['rs_rounds']} rounds of {size['rs_calls']} calls"
    )
    for name, micros in rs.items():
        print(f"  {name:<38} {micros:8.1f} µs per call")
    share = "each" if options.exchange_every == 1 else f"one in {options.exchange_every}"
    print(
        f"\n3. revoking a grant with {size['tokens']:,} live tokens ({share} exchanged, "
        f"{share} of those exchanged again)"
    )
    if revocation is None:
        print("  skipped: no PostgreSQL (set DATABASE_URL)")
    else:
        seconds, revoked, revoke_queries = revocation
        runs = size["revoke_runs"]
        print(f"  {seconds:.3f} s for {revoked:,} tokens in {revoke_queries} queries (median of {runs})")
    print(f"\n4. queries per page with 1 grant and with {size['grants']} grants (equal: no N+1)")
    for page, (few, many) in counts.items():
        print(f"  {page:<14} {few:3d} / {many:3d}  {'constant' if few == many else 'GROWS WITH GRANTS'}")
    plain = exchange["plain_exchange"]
    self_signed = exchange["obo_exchange_self_signed"] / plain
    print(f"\nwith a self-signed actor token: obo_exchange_self_signed/plain_exchange={self_signed:.2f}")
    print(f"targets: {TARGETS}")
    ratios = {
        "obo_exchange/plain_exchange": exchange["obo_exchange"] / plain,
        "rs_validate/pyjwt_decode": rs[rs_validate.OURS] / rs[rs_validate.FLOOR],
        "dot_bearer/rs_validate": rs[rs_validate.DOT_DRF] / rs[rs_validate.OURS_DRF],
        "shipped_exchange/bench_exchange": exchange["shipped_exchange"] / exchange["obo_exchange"],
        "assertion_auth/secret_auth": exchange["assertion_auth"] / exchange["secret_auth"],
        "dpop_validate/rs_validate": rs[rs_validate.DPOP] / rs[rs_validate.OURS],
    }
    print("ratios: " + " ".join(f"{name}={value:.2f}" for name, value in ratios.items()))


if __name__ == "__main__":
    main()
