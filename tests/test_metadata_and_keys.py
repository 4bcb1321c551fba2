"""RFC 8414 metadata, the JWKS endpoint, algorithm choice and key rotation."""

import jwt
import pytest
from django.test import Client

from django_agent_obo import keys
from tests.conftest import ISSUER, actor_assertion, decode_unverified, get_code, logged_in, redeem


def test_metadata_lists_endpoints_and_the_drafts_fields():
    data = Client().get("/.well-known/oauth-authorization-server").json()
    assert data["issuer"] == ISSUER
    assert data["authorization_endpoint"] == ISSUER + "/o/authorize/"
    assert data["token_endpoint"] == ISSUER + "/o/token/"
    assert data["jwks_uri"] == ISSUER + "/o/jwks/"
    assert data["revocation_endpoint"] == ISSUER + "/o/revoke_token/"
    assert data["introspection_endpoint"] == ISSUER + "/o/introspect/"
    assert data["code_challenge_methods_supported"] == ["S256"]
    assert data["requested_actor_supported"] is True
    assert set(data["actor_token_types_supported"]) == {
        "urn:ietf:params:oauth:token-type:jwt",
        "urn:ietf:params:oauth:token-type:access_token",
    }
    assert data["authorization_response_iss_parameter_supported"] is True
    assert "authorization_code" in data["grant_types_supported"]


def test_jwks_publishes_the_signing_key_by_kid():
    document = Client().get("/o/jwks/").json()
    kids = {k["kid"] for k in document["keys"]}
    assert keys.signing_key().kid in kids
    assert all("d" not in k for k in document["keys"])


def _token(user, client_app, agent):
    code, verifier = get_code(logged_in(user), client_app, actor=agent.actor_id)
    return redeem(client_app, code, verifier, actor_token=actor_assertion(agent)).json()["access_token"]


def _verify_with_jwks(token):
    document = Client().get("/o/jwks/").json()
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(k for k in document["keys"] if k["kid"] == kid)
    key = jwt.PyJWK(jwk)
    return jwt.decode(token, key.key, algorithms=[jwk["alg"]], audience=ISSUER + "/api/", issuer=ISSUER)


def test_rotation_keeps_old_tokens_verifiable_and_signs_new_ones_with_the_new_kid(
    settings, tmp_path, user, client_app, agent
):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "SIGNING_KEY_DIR": str(tmp_path)}
    keys.rotate()
    before = _token(user, client_app, agent)
    old_kid = jwt.get_unverified_header(before)["kid"]
    new_key, removed = keys.rotate()
    after = _token(user, client_app, agent)
    assert jwt.get_unverified_header(after)["kid"] == new_key.kid != old_kid
    assert removed == []
    assert _verify_with_jwks(before)["act"]["sub"] == agent.actor_id
    assert _verify_with_jwks(after)["act"]["sub"] == agent.actor_id


def test_rotated_out_key_leaves_the_jwks_after_its_tokens_expired(settings, tmp_path, monkeypatch):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "SIGNING_KEY_DIR": str(tmp_path)}
    first, _ = keys.rotate()
    second, _ = keys.rotate()
    assert {k.kid for k in keys.published_keys()} == {first.kid, second.kid}
    import time as real_time

    later = real_time.time() + 10 * 24 * 3600
    monkeypatch.setattr("django_agent_obo.keys.time.time", lambda: later)
    keys.clear_cache()
    _, removed = keys.rotate()
    assert first.kid in removed
    assert first.kid not in {k.kid for k in keys.published_keys()}
    assert not (tmp_path / f"{first.kid}.pem").exists()


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_other_signing_algorithms_are_selectable(settings, tmp_path, user, client_app, agent, alg):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "SIGNING_KEY_DIR": str(tmp_path), "SIGNING_ALGORITHM": alg}
    keys.rotate()
    token = _token(user, client_app, agent)
    assert jwt.get_unverified_header(token)["alg"] == alg
    assert _verify_with_jwks(token)["sub"] == str(user.pk)


def test_inline_pem_keys_from_settings_sign_and_publish(settings, user, client_app, agent):
    private_key = keys.generate_private_key("RS256")
    pem = keys.private_pem(private_key).decode()
    settings.AGENT_OBO = {
        **settings.AGENT_OBO,
        "SIGNING_KEY_DIR": None,
        "SIGNING_KEYS": [{"kid": "env-1", "private_key": pem}],
    }
    token = _token(user, client_app, agent)
    assert jwt.get_unverified_header(token)["kid"] == "env-1"
    assert decode_unverified(token)["act"]["sub"] == agent.actor_id


def test_key_files_are_private(settings, tmp_path):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "SIGNING_KEY_DIR": str(tmp_path)}
    key, _ = keys.rotate()
    assert (tmp_path / f"{key.kid}.pem").stat().st_mode & 0o077 == 0


def test_rotate_signing_key_command(settings, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    settings.AGENT_OBO = {**settings.AGENT_OBO, "SIGNING_KEY_DIR": str(tmp_path)}
    out = StringIO()
    call_command("rotate_signing_key", "--alg", "ES256", stdout=out)
    assert keys.signing_key().alg == "ES256"
    assert keys.signing_key().kid in out.getvalue()


def _later(monkeypatch, seconds):
    import time as real_time

    moment = real_time.time() + seconds
    monkeypatch.setattr("django_agent_obo.keys.time.time", lambda: moment)
    keys.clear_cache()


def test_a_scheduled_rotation_publishes_the_new_key_before_it_signs(
    settings, tmp_path, monkeypatch, user, client_app, agent
):
    """A resource server caches the JWKS (max-age 300): a key that signed the moment it was
    created would be unknown there until its next fetch, and every new token refused."""
    settings.AGENT_OBO = {**settings.AGENT_OBO, "SIGNING_KEY_DIR": str(tmp_path)}
    old, _ = keys.rotate()
    new, _ = keys.rotate(publish_ahead=300)
    assert {k.kid for k in keys.published_keys()} == {old.kid, new.kid}
    assert jwt.get_unverified_header(_token(user, client_app, agent))["kid"] == old.kid
    _later(monkeypatch, 301)
    assert keys.signing_key().kid == new.kid
    assert old.kid in {k.kid for k in keys.published_keys()}  # its tokens are still live


def test_the_command_publishes_ahead_by_default_and_signs_at_once_when_asked(settings, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    settings.AGENT_OBO = {**settings.AGENT_OBO, "SIGNING_KEY_DIR": str(tmp_path)}
    call_command("rotate_signing_key", stdout=StringIO())  # the first key signs at once
    first = keys.signing_key()
    out = StringIO()
    call_command("rotate_signing_key", stdout=out)
    assert keys.signing_key().kid == first.kid and "signs from" in out.getvalue()
    out = StringIO()
    call_command("rotate_signing_key", "--now", stdout=out)
    assert keys.signing_key().kid != first.kid and keys.signing_key().kid in out.getvalue()


def test_a_compromised_key_leaves_the_jwks_at_once(settings, tmp_path, user, client_app, agent):
    from io import StringIO

    from django.core.management import call_command

    from django_agent_obo.resource import TokenError, validate_access_token

    settings.AGENT_OBO = {**settings.AGENT_OBO, "SIGNING_KEY_DIR": str(tmp_path)}
    old, _ = keys.rotate()
    forged = _token(user, client_app, agent)  # what a thief holding the old key could sign
    out = StringIO()
    call_command("rotate_signing_key", "--compromised", stdout=out)
    assert old.kid not in {k.kid for k in keys.published_keys()}
    assert not (tmp_path / f"{old.kid}.pem").exists()
    assert f"Removed {old.kid}" in out.getvalue()
    with pytest.raises(TokenError) as refused:
        validate_access_token(forged)
    assert refused.value.reason == "token_kid"
    assert jwt.get_unverified_header(_token(user, client_app, agent))["kid"] == keys.signing_key().kid


def test_publish_ahead_must_be_a_sane_number_of_seconds(settings, tmp_path):
    from django.core.management import CommandError, call_command

    settings.AGENT_OBO = {**settings.AGENT_OBO, "SIGNING_KEY_DIR": str(tmp_path)}
    for bad in (
        ["--publish-ahead", "-5"],
        ["--publish-ahead", "999999999"],
        ["--now", "--publish-ahead", "9"],
    ):
        with pytest.raises(CommandError):
            call_command("rotate_signing_key", *bad)
    assert not (tmp_path / "keyring.json").exists()
