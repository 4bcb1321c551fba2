"""``jose.verify``, the one verifier of the tokens we sign, given a key set and a ``typ``; the
authorization server and the resource toolkit reach the same verdicts through it."""

from __future__ import annotations

from typing import Any

import pytest

from django_agent_obo import jose, keys
from django_agent_obo.resource import TokenError, validate_access_token
from django_agent_obo.tokens import verify_access_token
from tests.fixtures_resource import ISSUER, mint

pytestmark = pytest.mark.django_db


class Recording:
    """A key set that holds the server's key and notes what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def get(self, kid: str, alg: str) -> Any | None:
        self.asked.append((kid, alg))
        return keys.server_keys.get(kid, alg)


def verify(token: str, key_set: jose.KeySet, **options: Any) -> dict[str, Any]:
    return jose.verify(
        token, key_set, typ="at+jwt", issuer=ISSUER, audience=None, leeway=0, require=["jti"], **options
    )


def reason(token: str, key_set: jose.KeySet, **options: Any) -> str:
    with pytest.raises(jose.JWTRefused) as caught:
        verify(token, key_set, **options)
    return caught.value.reason


def test_the_key_set_is_asked_for_the_header_kid_and_alg_only(client_app):
    recording = Recording()
    token = mint(client_app)
    assert verify(token, recording)["client_id"] == client_app.client_id
    signing = keys.signing_key()
    assert recording.asked == [(signing.kid, signing.alg)]


def test_the_key_set_is_not_asked_before_the_header_passes(client_app):
    recording = Recording()
    assert reason(mint(client_app, headers={"typ": "JWT"}), recording) == "typ"
    assert reason(mint(client_app, headers={"kid": None}), recording) == "kid"
    assert reason(mint(client_app, headers={"jwk": {"kty": "EC"}}), recording) == "header_jwk"
    assert reason(mint(client_app), recording, algorithms=["ES384"]) == "alg"
    assert reason("x" * 50, recording, max_bytes=10) == "malformed"
    assert recording.asked == []


def test_a_key_the_set_does_not_hold_for_that_alg_is_an_unknown_kid(client_app):
    class Empty:
        def get(self, kid: str, alg: str) -> None:
            return None

    assert reason(mint(client_app), Empty()) == "kid"


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt"])
def test_both_sides_compare_typ_as_rfc_7515_says(client_app, typ):
    """RFC 7515 §4.1.9: media types compare without case, ``application/`` may be omitted."""
    token = mint(client_app, headers={"typ": typ})
    assert verify_access_token(token)["jti"] == validate_access_token(token).jti


@pytest.mark.parametrize(
    ("headers", "server", "toolkit"),
    [
        ({"typ": "JWT"}, "typ", "token_typ"),
        ({"typ": None}, "typ", "token_typ"),
        ({"kid": "no-such-key"}, "kid", "token_kid"),
        ({"kid": None}, "kid", "token_kid"),
        ({"jku": "https://evil.example/jwks"}, "header_jku", "token_header"),
    ],
)
def test_the_authorization_server_and_the_toolkit_refuse_alike(client_app, headers, server, toolkit):
    token = mint(client_app, headers=headers)
    with pytest.raises(jose.JWTRefused) as at_server:
        verify_access_token(token)
    with pytest.raises(TokenError) as at_toolkit:
        validate_access_token(token)
    assert (at_server.value.reason, at_toolkit.value.reason) == (server, toolkit)
