"""The example project under gunicorn on PostgreSQL, with its shipped settings, driven by
parallel full agent flows (a load test).

The server runs ``example_project.settings`` as shipped (PBKDF2 for users' passwords, the
client-secret hasher for client secrets, the token endpoint's rate limit) unless
``--settings bench_settings``. Each virtual user is a person with their own client and agent
(the rate limit counts per client): it signs in once, before the clock starts (one PBKDF2
check, as a person signs in once and then delegates), then runs whole flows one after another:
consent page for the agent, allow, the agent's actor token (``client_credentials``), the code
redeemed with it, ``/api/whoami/``. Bad input is mixed in: every fourth flow first presents a
forged actor token, the next one a wrong PKCE verifier, the next one redeems its code a second
time (after which its token must stop working). For each concurrency level it reports full
flows/s, requests/s, p50/p99 latency per request, 5xx and otherwise unexpected answers, and
checks the audit trail: one ``token.issued`` row per successful token response, one
``token.refused`` row per refused one. A latency-versus-concurrency plot is written with
``--plot``.

Run: ``eval "$(scripts/start_postgres.sh)"`` then
``.venv/bin/python bench/load.py [--concurrency 1 4 16 64] [--flows 64] [--workers 4]
[--plot docs/img/latency.png]``. The server and the database are created for the run and
removed after it; exits non-zero on a 5xx, an unexpected answer or an audit mismatch.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from _common import ROOT, machine, migrate, setup_django

TOKEN = "/o/token/"
MISCHIEF = ("forged actor token", "wrong PKCE verifier", "reused code", None)


@dataclass
class Tally:
    """What one virtual user saw; merged per level."""

    latencies: list[float] = field(default_factory=list)
    token_ok: int = 0
    token_refused: int = 0
    server_errors: int = 0
    unexpected: list[str] = field(default_factory=list)

    def merge(self, other: Tally) -> None:
        self.latencies += other.latencies
        self.token_ok += other.token_ok
        self.token_refused += other.token_refused
        self.server_errors += other.server_errors
        self.unexpected += other.unexpected


@dataclass
class Site:
    port: int
    clients: list[Any]  # tests.conftest.App, one per virtual user
    agents: list[Any]  # tests.conftest.AgentFixture, one per virtual user
    forged_actor_tokens: list[str]


class Browser:
    """One virtual user's connection state, every answer timed and tallied."""

    def __init__(self, site: Site, tally: Tally) -> None:
        from tests.test_gunicorn_e2e import Http

        self.http, self.tally = Http(site.port), tally

    def sign_in(self, username: str) -> None:
        from tests.conftest import hidden_fields

        login = self.call(200, "GET", "/accounts/login/")
        form = {**hidden_fields(login.body.decode()), "username": username, "password": username}
        self.call(302, "POST", "/accounts/login/", form)

    def call(
        self, expect: int, method: str, path: str, form: dict[str, str] | None = None, **headers: str
    ) -> Any:
        began = time.perf_counter()
        try:
            reply = self.http.request(method, path, form, **headers)
        except OSError as exc:  # e.g. a timeout: counted, never a crashed virtual user
            from tests.test_gunicorn_e2e import Reply

            self.tally.unexpected.append(f"{method} {path.split('?')[0]}: {type(exc).__name__}")
            return Reply(0, Message(), b"{}")
        self.tally.latencies.append(time.perf_counter() - began)
        self.tally.server_errors += reply.status >= 500
        if path == TOKEN:
            self.tally.token_ok += reply.status == 200
            self.tally.token_refused += 400 <= reply.status < 500
        if reply.status != expect:
            self.tally.unexpected.append(f"{method} {path.split('?')[0]}: {reply.status}, expected {expect}")
        return reply


def run_flow(site: Site, browser: Browser, number: int, index: int) -> None:
    """One full delegation flow of virtual user ``number`` (signed in), with the mischief of ``index``."""
    from tests.conftest import REDIRECT_URI, authorize_params, hidden_fields, pkce

    tally, client, agent = browser.tally, site.clients[number], site.agents[number]
    verifier, challenge = pkce()
    params = authorize_params(client, challenge, agent.actor_id)
    page = browser.call(200, "GET", "/o/authorize/?" + urlencode(params))
    answer = browser.call(
        302, "POST", "/o/authorize/", {**hidden_fields(page.body.decode()), "allow": "Authorize"}
    )
    location = answer.headers.get("Location", "")
    code = parse_qs(urlsplit(location).query).get("code", [""])[0]
    agent_auth = agent.app.basic()["HTTP_AUTHORIZATION"]
    actor = browser.call(200, "POST", TOKEN, {"grant_type": "client_credentials"}, Authorization=agent_auth)
    actor_token = actor.json().get("access_token", "") if actor.status == 200 else ""
    redeem = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        "actor_token": actor_token,
    }
    client_auth = client.basic()["HTTP_AUTHORIZATION"]
    mischief = MISCHIEF[index % len(MISCHIEF)]
    if mischief == "forged actor token":
        browser.call(
            400,
            "POST",
            TOKEN,
            {**redeem, "actor_token": site.forged_actor_tokens[number]},
            Authorization=client_auth,
        )
    if mischief == "wrong PKCE verifier":
        browser.call(400, "POST", TOKEN, {**redeem, "code_verifier": pkce()[0]}, Authorization=client_auth)
    issued = browser.call(200, "POST", TOKEN, redeem, Authorization=client_auth)
    bearer = "Bearer " + (issued.json().get("access_token", "") if issued.status == 200 else "")
    whoami = browser.call(200, "GET", "/api/whoami/", Authorization=bearer)
    if whoami.status == 200 and whoami.json().get("actor") != agent.actor_id:
        tally.unexpected.append(f"/api/whoami/: actor {whoami.json().get('actor')!r}")
    if mischief == "reused code":
        browser.call(400, "POST", TOKEN, redeem, Authorization=client_auth)
        browser.call(401, "GET", "/api/whoami/", Authorization=bearer)  # the first redemption is revoked


def audit_counts() -> tuple[int, int]:
    from django_agent_obo.models import AuditEvent

    issued = AuditEvent.objects.filter(event="token.issued").count()
    return issued, AuditEvent.objects.filter(event="token.refused").count()


def sign_in_all(site: Site, users: int, at_once: int) -> tuple[list[Browser], Tally]:
    """Every virtual user signs in once for the whole run (its session then lasts), at most
    ``at_once`` of them at a time: each sign-in is a PBKDF2 check of about 0.3 s of CPU."""
    tally = Tally()
    browsers = [Browser(site, tally) for _ in range(users)]
    pending: queue.Queue[int] = queue.Queue()
    for number in range(users):
        pending.put(number)

    def signer() -> None:
        while True:
            try:
                number = pending.get_nowait()
            except queue.Empty:
                return
            browsers[number].sign_in(f"load-user-{number}")

    threads = [threading.Thread(target=signer) for _ in range(at_once)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return browsers, tally


def run_level(site: Site, browsers: list[Browser], flows: int) -> dict[str, Any]:
    """``flows`` flows shared out among the signed-in ``browsers`` running at once."""
    concurrency = len(browsers)
    work: queue.Queue[int] = queue.Queue()
    for index in range(flows):
        work.put(index)
    tallies = [Tally() for _ in range(concurrency)]

    def virtual_user(number: int) -> None:
        browser = browsers[number]
        browser.tally = tallies[number]
        while True:
            try:
                index = work.get_nowait()
            except queue.Empty:
                return
            run_flow(site, browser, number, index)

    issued_before, refused_before = audit_counts()
    threads = [threading.Thread(target=virtual_user, args=(n,)) for n in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    total = Tally()
    for tally in tallies:
        total.merge(tally)
    issued_after, refused_after = audit_counts()
    latencies = sorted(total.latencies)
    return {
        "concurrency": concurrency,
        "flows": flows,
        "flows_per_second": flows / seconds,
        "requests": len(latencies),
        "rps": len(latencies) / seconds,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "server_errors": total.server_errors,
        "unexpected": total.unexpected,
        "audit": (
            issued_after - issued_before,
            total.token_ok,
            refused_after - refused_before,
            total.token_refused,
        ),
    }


def seed(users: int) -> Site:
    """A client and an agent (with its own credentials) per virtual user, and the users,
    straight into the database, hashed as the server's settings hash them."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from tests.conftest import ISSUER, make_agent, make_app

    clients = [make_app(f"Load client {n}") for n in range(users)]
    agents = [make_agent(f"agent:load-{n}", clients=(client,)) for n, client in enumerate(clients)]
    User = get_user_model()
    names = [f"load-user-{n}" for n in range(users)]  # each signs in with its name as password
    User.objects.bulk_create([User(username=name, password=make_password(name)) for name in names])
    now = int(time.time())

    def forged(agent: Any) -> str:
        claims = {"iss": agent.actor_id, "sub": agent.actor_id, "aud": ISSUER, "iat": now, "exp": now + 3600}
        key = ec.generate_private_key(ec.SECP256R1())
        return jwt.encode({**claims, "jti": "forged"}, key, algorithm="ES256", headers={"kid": agent.kid})

    return Site(port=0, clients=clients, agents=agents, forged_actor_tokens=[forged(a) for a in agents])


@contextmanager
def gunicorn(port: int, workers: int) -> Iterator[None]:
    """The example project (the settings of this run) under gunicorn on 127.0.0.1:``port``."""
    from tests.servers import serving

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "bench")])}
    binary = Path(sys.executable).with_name("gunicorn")
    command = [str(binary), "example_project.wsgi", "--workers", str(workers), "--bind", f"127.0.0.1:{port}"]
    with serving(command, cwd=ROOT, env=env, port=port, log=Path(os.environ["OBO_VAR_DIR"]) / "gunicorn.log"):
        yield


def plot(results: list[dict[str, Any]], path: Path, workers: int, settings_name: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = [r["concurrency"] for r in results]
    figure, latency = plt.subplots(figsize=(7, 4.2), dpi=120)
    latency.plot(levels, [r["p50"] for r in results], "o-", label="p50 latency")
    latency.plot(levels, [r["p99"] for r in results], "s--", label="p99 latency")
    latency.set_xscale("log", base=2)
    latency.set_xticks(levels, [str(c) for c in levels])
    latency.set_xlabel("concurrent virtual users (full flows)")
    latency.set_ylabel("latency per request (ms)")
    throughput = latency.twinx()
    flows = [r["flows_per_second"] for r in results]
    throughput.plot(levels, flows, "^:", color="tab:green", label="full agent flows/s")
    throughput.set_ylabel("full agent flows/s")
    throughput.set_ylim(bottom=0)
    handles = latency.get_legend_handles_labels()[0] + throughput.get_legend_handles_labels()[0]
    labels = [str(handle.get_label()) for handle in handles]
    latency.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)
    shown = "as shipped" if settings_name == "example_project.settings" else settings_name
    latency.set_title(f"Example project {shown}, gunicorn ({workers} sync workers), PostgreSQL")
    latency.grid(True, alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)


def passed(result: dict[str, Any]) -> bool:
    """No 5xx, no unexpected answer, and one audit row per token response of each kind."""
    issued_rows, issued, refused_rows, refused = result["audit"]
    audit_ok = issued_rows == issued and refused_rows == refused
    return audit_ok and not result["server_errors"] and not result["unexpected"]


def report(result: dict[str, Any]) -> None:
    issued_rows, issued, refused_rows, refused = result["audit"]
    print(
        f"  {result['concurrency']:5d} {result['flows_per_second']:7.1f} {result['requests']:8d} "
        f"{result['rps']:7.1f} {result['p50']:7.1f} "
        f"{result['p99']:7.1f} {result['server_errors']:4d} {len(result['unexpected']):10d}  "
        f"{'ok' if passed(result) else 'FAILED'}: token.issued {issued_rows} rows/{issued} responses, "
        f"token.refused {refused_rows} rows/{refused} responses"
    )
    for line in sorted(set(result["unexpected"]))[:5]:
        print(f"        unexpected: {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument(
        "--flows", type=int, default=64, help="flows per concurrency level (at least one a user)"
    )
    parser.add_argument(
        "--settings",
        default="example_project.settings",
        help="settings module of the server and the seed (default: the example project's, as shipped)",
    )
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--plot", type=Path, help="write a latency-versus-concurrency PNG here")
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        sys.exit('load.py needs PostgreSQL: eval "$(scripts/start_postgres.sh)" sets DATABASE_URL')
    database = setup_django(throwaway=True, settings_module=options.settings)
    migrate()
    from tests.servers import free_port

    port = free_port()
    os.environ["OBO_ISSUER"] = f"http://127.0.0.1:{port}"  # the server's (read by gunicorn's workers)
    site = seed(max(options.concurrency))
    site.port = port
    from django_agent_obo import keys

    keys.signing_key()  # the key ring exists before the workers start
    print(f"machine: {machine()}")
    print(
        f"database: {database}; settings: {options.settings}; gunicorn with {options.workers} sync workers; "
        f"{options.flows} flows per level (at least one per user)"
    )
    print("  users flows/s requests   req/s  p50 ms  p99 ms  5xx unexpected  audit")
    results = []
    with gunicorn(port, options.workers):
        browsers, signing_in = sign_in_all(site, max(options.concurrency), options.workers)
        warm_up = run_level(site, browsers[: options.workers], 2 * options.workers)  # imports, keys
        for concurrency in options.concurrency:
            results.append(run_level(site, browsers[:concurrency], max(options.flows, concurrency)))
            report(results[-1])
    failed = any(not passed(result) for result in [warm_up, *results])
    if signing_in.server_errors or signing_in.unexpected:
        print(
            f"sign-in: {signing_in.server_errors} 5xx, unexpected: {sorted(set(signing_in.unexpected))[:5]}"
        )
        failed = True
    if options.plot:
        plot(results, options.plot, options.workers, options.settings)
        print(f"plot: {options.plot}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
