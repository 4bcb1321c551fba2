"""Resource-server validation cost per request (a benchmark, not a test: nothing is asserted).

Compares, on one RS256 access token from the real token endpoint:

* a bare PyJWT decode (signature, exp, aud) with a prebuilt public key: the floor;
* ``validate_access_token`` in ``cache`` revocation mode: every check of the toolkit;
* our DRF ``AgentOBOAuthentication`` (cache mode), a fresh DRF request per call;
* DOT's ``OAuth2Authentication``: the database-backed bearer check, same request shape;
* ``validate_request`` on a DPoP-bound token with its proof (RFC 9449 §7): the token checks
  plus the proof's signature, ``htm``/``htu``/``ath``/``iat`` and the ``jti`` replay check;
* the floor of that: ``validate_access_token`` plus one bare ES256 signature check with a
  prebuilt key, which no proof check can go below (``DPOP_FLOOR / OURS``).

Run: ``.venv/bin/python bench/rs_validate.py [iterations]``: a throw-away SQLite database,
or a throw-away PostgreSQL database when ``DATABASE_URL`` is set; Django's local-memory
cache (with Redis the cache read costs a round trip). ``bench/run.py`` reuses the contenders.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from _common import medians, migrate, per_call, setup_django

FLOOR = "bare PyJWT decode"
OURS = "validate_access_token (cache mode)"
OURS_DRF = "AgentOBOAuthentication (cache mode)"
DOT_DRF = "DOT OAuth2Authentication (database)"
DPOP = "validate_request (DPoP, cache mode)"
DPOP_FLOOR = "validate_access_token + bare ES256"


def cache_mode() -> Any:
    """``override_settings`` for the ``cache`` revocation mode (use as a context manager), with
    revocation and DPoP replay state in an in-memory cache: a resource server's Redis or
    memcached (docs/resource-server-settings.md), not the example authorization server's
    database cache, whose every lookup would be an SQL query."""
    from django.conf import settings
    from django.test import override_settings

    return override_settings(
        CACHES={**settings.CACHES, "rs": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        AGENT_OBO={
            **settings.AGENT_OBO,
            "RS_REVOCATION_MODE": "cache",
            "RS_REVOCATION_CACHE_ALIAS": "rs",
            "RS_DPOP_REPLAY_CACHE_ALIAS": "rs",
        },
    )


def issue_token() -> str:
    """An access token from the real token endpoint (``client_credentials``)."""
    from django.test import Client
    from oauth2_provider.models import get_application_model

    Application = get_application_model()
    Application.objects.get_or_create(
        client_id="rs-bench-client",
        defaults={
            "name": "bench",
            "client_secret": "bench-secret",
            "client_type": Application.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": Application.GRANT_CLIENT_CREDENTIALS,
        },
    )
    response = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "client_id": "rs-bench-client", "client_secret": "bench-secret"},
    )
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])


def contenders(token: str) -> dict[str, Callable[[], object]]:
    """The four ways to validate ``token``; call them inside :func:`cache_mode`."""
    import jwt
    from django.test import RequestFactory
    from oauth2_provider.contrib.rest_framework import OAuth2Authentication
    from rest_framework.request import Request

    from django_agent_obo import keys
    from django_agent_obo.contrib.rest_framework import AgentOBOAuthentication
    from django_agent_obo.resource import validate_access_token
    from django_agent_obo.resource.validation import expected_audience

    signing = keys.signing_key()
    public_key, audience = signing.public_key, expected_audience()
    factory = RequestFactory()
    header = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    ours_drf, dots_drf = AgentOBOAuthentication(), OAuth2Authentication()

    def bare_pyjwt() -> object:
        return jwt.decode(token, public_key, algorithms=[signing.alg], audience=audience)

    def ours_via_drf() -> object:
        return ours_drf.authenticate(Request(factory.get("/api/", **header)))

    def dot_via_drf() -> object:
        return dots_drf.authenticate(Request(factory.get("/api/", **header)))

    assert ours_via_drf() is not None and dot_via_drf() is not None
    return {
        FLOOR: bare_pyjwt,
        OURS: lambda: validate_access_token(token),
        OURS_DRF: ours_via_drf,
        DOT_DRF: dot_via_drf,
    }


def dpop_floor(token: str) -> Callable[[], object]:
    """``validate_access_token`` and one ES256 verification of a proof-sized message with a
    prebuilt key: the token check plus the signature every DPoP request needs, nothing else."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from django_agent_obo.resource import validate_access_token

    private_key, scheme = ec.generate_private_key(ec.SECP256R1()), ec.ECDSA(hashes.SHA256())
    message = b"." * 600  # a proof's signing input: header with its jwk, then the claims
    signature, public_key = private_key.sign(message, scheme), private_key.public_key()

    def floor() -> object:
        public_key.verify(signature, message, scheme)
        return validate_access_token(token)

    return floor


def dpop_sampler(calls: int) -> Callable[[], float]:
    """A sampler of ``validate_request`` on ``Authorization: DPoP`` requests (RFC 9449 §7): a
    DPoP-bound token from the real token endpoint, each request with its own ES256 proof (a
    proof is single-use and lives a minute), signed before each round's timing starts; the
    jti replay check goes to the cache."""
    import secrets
    import time
    import timeit

    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec
    from django.test import Client, RequestFactory
    from jwt.algorithms import ECAlgorithm

    from django_agent_obo import dpop
    from django_agent_obo.resource import validate_request
    from django_agent_obo.tokens import issuer

    private_key = ec.generate_private_key(ec.SECP256R1())
    header = {"typ": "dpop+jwt", "jwk": ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)}

    def proof(htu: str, **claims: str) -> str:
        body = {"jti": secrets.token_urlsafe(16), "htm": claims.pop("htm", "GET"), "htu": htu, **claims}
        return jwt.encode({**body, "iat": int(time.time())}, private_key, algorithm="ES256", headers=header)

    response = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials", "client_id": "rs-bench-client", "client_secret": "bench-secret"},
        HTTP_DPOP=proof(issuer() + "/o/token/", htm="POST"),
    )
    assert response.status_code == 200 and response.json()["token_type"] == "DPoP", response.content
    token = response.json()["access_token"]
    factory, ath = RequestFactory(), dpop.access_token_hash(token)

    def requests(count: int) -> list[Any]:
        return [
            factory.get(
                "/api/",
                HTTP_AUTHORIZATION=f"DPoP {token}",
                HTTP_DPOP=proof("http://testserver/api/", ath=ath),
            )
            for _ in range(count)
        ]

    def sample() -> float:
        pending = iter(requests(calls))
        return timeit.timeit(lambda: validate_request(next(pending)), number=calls) / calls

    info = validate_request(requests(1)[0])
    assert info is not None and info.proven
    return sample


def measure(iterations: int, rounds: int) -> dict[str, float]:
    """Microseconds per call of each contender (median of ``rounds`` interleaved runs)."""
    with cache_mode():
        token = issue_token()
        functions = {**contenders(token), DPOP_FLOOR: dpop_floor(token)}
        samplers = {name: per_call(f, iterations) for name, f in functions.items()}
        samplers[DPOP] = dpop_sampler(iterations)
        results = medians(samplers, rounds)
    return {name: seconds * 1e6 for name, seconds in results.items()}


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    print(f"database: {setup_django(throwaway=True)}")
    migrate()
    results = measure(iterations, rounds=7)
    print(f"{iterations} calls x 7 interleaved runs, median run, per call:")
    for name, micros in results.items():
        print(f"  {name:<38} {micros:8.1f} us")
    print(f"validate_access_token / bare PyJWT:       {results[OURS] / results[FLOOR]:5.2f}x  (goal ≤ 1.5)")
    print(
        f"DOT OAuth2Authentication / ours via DRF:  {results[DOT_DRF] / results[OURS_DRF]:5.2f}x  (goal ≥ 5)"
    )
    print(
        f"DPoP validate_request / validate_access_token: {results[DPOP] / results[OURS]:5.2f}x  (goal ≤ 2.0; "
        f"floor: token check + bare ES256 = {results[DPOP_FLOOR] / results[OURS]:.2f}x)"
    )


if __name__ == "__main__":
    main()
