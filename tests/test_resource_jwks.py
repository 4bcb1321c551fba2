"""A resource server that only knows the issuer's ``jwks_uri``: fetch, cache, bounded refresh."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from django_agent_obo import keys
from django_agent_obo.resource import TokenError, validate_access_token
from django_agent_obo.resource.keysets import LocalKeySet, RemoteKeySet, key_set
from tests.fixtures_resource import configure, mint


class JwksServer:
    """A JWK Set on a loopback port; ``document`` can be swapped, ``hits`` counts fetches."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {"keys": []}
        self.hits = 0
        self.status = 200
        self.raw: bytes | None = None  # sent as is instead of ``document``
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                body = outer.raw if outer.raw is not None else json.dumps(outer.document).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/jwks"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer()
    server.document = keys.jwks_document()
    yield server
    server.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def remote(server: JwksServer, clock: Clock) -> RemoteKeySet:
    return RemoteKeySet(
        server.url,
        timeout=2,
        cache_seconds=300,
        min_refresh_seconds=30,
        algorithms=["RS256", "ES256", "EdDSA"],
        clock=clock,
    )


def ec_jwk(kid: str) -> tuple[Any, dict[str, Any]]:
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = dict(ECAlgorithm.to_jwk(private.public_key(), as_dict=True))
    jwk.update(kid=kid, alg="ES256", use="sig")
    return private, jwk


def test_tokens_validate_against_a_remote_jwks_uri(settings, jwks_server, client_app):
    configure(settings, RS_JWKS_URI=jwks_server.url)
    token = mint(client_app)
    assert validate_access_token(token).client_id == client_app.client_id
    assert validate_access_token(token)
    assert jwks_server.hits == 1


def test_unknown_kid_storm_causes_one_fetch(settings, jwks_server, client_app):
    configure(settings, RS_JWKS_URI=jwks_server.url)
    validate_access_token(mint(client_app))
    forged = mint(client_app, headers={"kid": "not-published"})
    for _ in range(25):
        with pytest.raises(TokenError) as caught:
            validate_access_token(forged)
        assert caught.value.reason == "token_kid"
    assert jwks_server.hits == 1  # the refresh on an unknown kid is rate-limited


def test_rotated_key_is_found_by_refetching_after_the_rate_limit(jwks_server):
    clock = Clock()
    key_set_ = remote(jwks_server, clock)
    assert key_set_.get(keys.signing_key().kid, keys.signing_key().alg) is not None
    _, jwk = ec_jwk("rotated-key")
    jwks_server.document = {"keys": [*jwks_server.document["keys"], jwk]}
    assert key_set_.get("rotated-key", "ES256") is None  # within the limit: no fetch
    assert jwks_server.hits == 1
    clock.now += 31
    assert key_set_.get("rotated-key", "ES256") is not None
    assert jwks_server.hits == 2


def test_concurrent_unknown_kids_fetch_once(jwks_server):
    key_set_ = remote(jwks_server, Clock())
    threads = [threading.Thread(target=key_set_.get, args=(f"kid-{n}", "ES256")) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert jwks_server.hits == 1


def test_stale_set_is_refetched_and_kept_when_the_fetch_fails(jwks_server):
    clock = Clock()
    key_set_ = remote(jwks_server, clock)
    kid, alg = keys.signing_key().kid, keys.signing_key().alg
    assert key_set_.get(kid, alg) is not None
    jwks_server.status = 500
    clock.now += 301
    assert key_set_.get(kid, alg) is not None  # the fetch failed; the known keys stay
    assert jwks_server.hits == 2


def test_key_registered_for_another_algorithm_is_not_used(jwks_server):
    _, jwk = ec_jwk("ec-key")
    jwks_server.document = {"keys": [jwk]}
    key_set_ = remote(jwks_server, Clock())
    assert key_set_.get("ec-key", "RS256") is None
    assert key_set_.get("ec-key", "ES256") is not None


def test_private_and_encryption_keys_in_the_set_are_ignored(jwks_server):
    private, _ = ec_jwk("leaky")
    leaked = dict(ECAlgorithm.to_jwk(private, as_dict=True), kid="leaky", alg="ES256")
    _, enc = ec_jwk("for-encryption")
    enc["use"] = "enc"
    jwks_server.document = {"keys": [leaked, enc]}
    key_set_ = remote(jwks_server, Clock())
    assert key_set_.get("leaky", "ES256") is None
    assert key_set_.get("for-encryption", "ES256") is None


def test_without_a_jwks_uri_each_public_key_is_built_once():
    signing = keys.signing_key()
    first = key_set().get(signing.kid, signing.alg)
    assert first is not None
    assert key_set().get(signing.kid, signing.alg) is first
    assert key_set().get(signing.kid, "ES384") is None


def test_a_key_dropped_from_the_ring_stops_validating_within_a_second(monkeypatch):
    clock = Clock()
    local = LocalKeySet(clock=clock)
    signing = keys.signing_key()
    assert local.get(signing.kid, signing.alg) is not None
    monkeypatch.setattr(keys, "key_for_kid", lambda kid: None)
    assert local.get(signing.kid, signing.alg) is not None  # rechecked at most once a second
    clock.now += 1
    assert local.get(signing.kid, signing.alg) is None


@pytest.mark.parametrize(
    "document",
    [{"keys": 5}, {"keys": {"kid": "x"}}, {"keys": "abc"}, {}, [1, 2], "keys"],
    ids=["keys a number", "keys an object", "keys a string", "no keys member", "an array", "a string"],
)
def test_a_malformed_jwk_set_keeps_the_known_keys_and_is_no_500(settings, jwks_server, client_app, document):
    """A JWK Set that parses as JSON but is not one (RFC 7517 §5: an object whose ``keys`` is an
    array of objects) is a failed fetch: the keys already known stay, the token is judged by them."""
    configure(settings, RS_JWKS_URI=jwks_server.url, RS_JWKS_CACHE_SECONDS=0, RS_JWKS_MIN_REFRESH_SECONDS=0)
    token = mint(client_app)
    assert validate_access_token(token)
    jwks_server.document = document
    assert validate_access_token(token).client_id == client_app.client_id
    assert jwks_server.hits == 2
    with pytest.raises(TokenError) as caught:
        validate_access_token(mint(client_app, headers={"kid": "unknown"}))
    assert caught.value.reason == "token_kid"


def test_a_jwk_set_nested_beyond_the_parser_is_a_failed_fetch(settings, jwks_server, client_app):
    configure(settings, RS_JWKS_URI=jwks_server.url, RS_JWKS_CACHE_SECONDS=0, RS_JWKS_MIN_REFRESH_SECONDS=0)
    token = mint(client_app)
    assert validate_access_token(token)
    jwks_server.raw = b'{"keys": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"  # under 256 KiB
    assert validate_access_token(token).client_id == client_app.client_id
