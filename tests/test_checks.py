"""System checks name the exact missing or unsafe setting (agent_obo.E001…)."""

import pytest
from django.core.checks import run_checks

from django_agent_obo import keys


def ids():
    return {message.id for message in run_checks(tags=["security"])}


def test_the_example_project_passes_every_check():
    assert not {i for i in ids() if i.startswith("agent_obo.")}


def test_missing_issuer_is_e001(settings):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "ISSUER": None}
    assert "agent_obo.E001" in ids()


@pytest.mark.parametrize(
    ("key", "value", "check_id"),
    [
        ("OAUTH2_VALIDATOR_CLASS", "oauth2_provider.oauth2_validators.OAuth2Validator", "agent_obo.E002"),
        ("OAUTH2_SERVER_CLASS", "oauthlib.oauth2.Server", "agent_obo.E003"),
        ("PKCE_REQUIRED", False, "agent_obo.E004"),
        ("COMPLIANT_BCP_RFC9700_PKCE_METHOD", False, "agent_obo.E005"),
        ("COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS", False, "agent_obo.W001"),
        ("OIDC_ISS_ENDPOINT", "https://other.example", "agent_obo.E006"),
    ],
)
def test_unsafe_dot_settings_are_flagged(settings, key, value, check_id):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, key: value}
    assert check_id in ids()


def test_no_signing_key_in_production_is_an_error(settings, tmp_path):
    settings.DEBUG = False
    settings.AGENT_OBO = {
        **settings.AGENT_OBO,
        "SIGNING_KEY_DIR": str(tmp_path / "empty"),
        "AUTO_CREATE_SIGNING_KEY": False,
    }
    messages = [m for m in run_checks(tags=["security"]) if m.id == "agent_obo.E007"]
    assert messages and messages[0].is_serious()


def test_weak_signing_key_is_e009(settings):
    from cryptography.hazmat.primitives.asymmetric import rsa

    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = keys.private_pem(weak).decode()
    settings.AGENT_OBO = {
        **settings.AGENT_OBO,
        "SIGNING_KEY_DIR": None,
        "SIGNING_KEYS": [{"private_key": pem}],
    }
    assert "agent_obo.E009" in ids()
