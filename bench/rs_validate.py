"""Resource-server validation cost per request (a benchmark, not a test: nothing is asserted).

Compares, on one RS256 access token from the real token endpoint:

* a bare PyJWT decode (signature, exp, aud) with a prebuilt public key: the floor;
* ``validate_access_token`` in ``cache`` revocation mode: every check of the toolkit;
* our DRF ``AgentOBOAuthentication`` (cache mode), a fresh DRF request per call;
* DOT's ``OAuth2Authentication``: the database-backed bearer check, same request shape.

Run: ``.venv/bin/python bench/rs_validate.py [iterations]``. It uses a throw-away SQLite
database and Django's local-memory cache; with Redis the cache read costs a round trip.
"""

from __future__ import annotations

import os
import sys
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VAR = tempfile.mkdtemp(prefix="obo-bench-")
os.environ.update(OBO_VAR_DIR=VAR, DJANGO_SETTINGS_MODULE="example_project.settings")
os.environ.pop("DATABASE_URL", None)
os.environ.pop("OBO_SIGNING_KEY_DIR", None)

import django  # noqa: E402

django.setup()

import jwt  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client, RequestFactory, override_settings  # noqa: E402
from oauth2_provider.contrib.rest_framework import OAuth2Authentication  # noqa: E402
from oauth2_provider.models import get_application_model  # noqa: E402
from rest_framework.request import Request  # noqa: E402

from django_agent_obo import keys  # noqa: E402
from django_agent_obo.contrib.rest_framework import AgentOBOAuthentication  # noqa: E402
from django_agent_obo.resource import validate_access_token  # noqa: E402
from django_agent_obo.resource.validation import expected_audience  # noqa: E402


def issue_token() -> str:
    Application = get_application_model()
    Application.objects.create(
        name="bench",
        client_id="bench-client",
        client_secret="bench-secret",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    response = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "client_id": "bench-client", "client_secret": "bench-secret"},
    )
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])


def per_call(
    functions: dict[str, Callable[[], object]], iterations: int, rounds: int = 7
) -> dict[str, float]:
    """Microseconds per call, the best of ``rounds`` runs; runs interleave, so a busy
    machine slows every contender alike."""
    best = dict.fromkeys(functions, float("inf"))
    for function in functions.values():
        function()  # warm caches (keys, revocation status, header parse)
    for _ in range(rounds):
        for name, function in functions.items():
            best[name] = min(best[name], timeit.timeit(function, number=iterations) / iterations * 1e6)
    return best


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    call_command("migrate", verbosity=0)
    with override_settings(AGENT_OBO={**settings.AGENT_OBO, "RS_REVOCATION_MODE": "cache"}):
        token = issue_token()
        signing = keys.signing_key()
        public_key = signing.public_key
        audience = expected_audience()
        factory = RequestFactory()
        header = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        ours_drf, dots_drf = AgentOBOAuthentication(), OAuth2Authentication()

        def bare_pyjwt() -> object:
            return jwt.decode(token, public_key, algorithms=[signing.alg], audience=audience)

        def ours() -> object:
            return validate_access_token(token)

        def ours_via_drf() -> object:
            return ours_drf.authenticate(Request(factory.get("/api/", **header)))

        def dot_via_drf() -> object:
            return dots_drf.authenticate(Request(factory.get("/api/", **header)))

        assert ours_via_drf() is not None and dot_via_drf() is not None
        results = per_call(
            {
                "bare PyJWT decode": bare_pyjwt,
                "validate_access_token (cache mode)": ours,
                "AgentOBOAuthentication (cache mode)": ours_via_drf,
                "DOT OAuth2Authentication (database)": dot_via_drf,
            },
            iterations,
        )
    print(f"{signing.alg} token, {iterations} calls x 7 interleaved runs, best run, per call:")
    for name, micros in results.items():
        print(f"  {name:<38} {micros:8.1f} us")
    floor = results["bare PyJWT decode"]
    ours_core = results["validate_access_token (cache mode)"]
    ours_drf_us = results["AgentOBOAuthentication (cache mode)"]
    dot = results["DOT OAuth2Authentication (database)"]
    print(f"validate_access_token / bare PyJWT:       {ours_core / floor:5.2f}x  (goal: at most 1.5x)")
    print(f"DOT OAuth2Authentication / ours via DRF:  {dot / ours_drf_us:5.2f}x  (goal: at least 5x)")


if __name__ == "__main__":
    main()
