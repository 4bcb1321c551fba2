"""System checks of the resource-server settings, and a project that only validates tokens."""

from __future__ import annotations

from django_agent_obo.checks import check_settings, check_urls
from django_agent_obo.resource.checks import check_resource_settings
from tests.fixtures_resource import configure


def ids(messages):
    return {message.id for message in messages}


def test_example_settings_pass():
    assert check_resource_settings() == []


def test_unknown_revocation_mode_is_an_error(settings):
    configure(settings, RS_REVOCATION_MODE="sometimes")
    assert ids(check_resource_settings()) == {"agent_obo.E101"}


def test_symmetric_or_none_algorithms_are_errors(settings):
    configure(settings, RS_ALGORITHMS=["RS256", "HS256"])
    assert ids(check_resource_settings()) == {"agent_obo.E102"}
    configure(settings, RS_ALGORITHMS=["none"])
    assert ids(check_resource_settings()) == {"agent_obo.E102"}
    configure(settings, RS_ALGORITHMS=[])
    assert ids(check_resource_settings()) == {"agent_obo.E102"}


def test_sample_rate_outside_zero_to_one_is_an_error(settings):
    configure(settings, RS_AUDIT_SAMPLE_RATE=5)
    assert ids(check_resource_settings()) == {"agent_obo.E103"}


def test_resource_server_only_project_skips_authorization_server_checks(settings):
    settings.OAUTH2_PROVIDER = {}
    configure(settings, AUTHORIZATION_SERVER=False, RS_JWKS_URI="https://auth.example/o/jwks/")
    assert check_settings() == []
    assert check_urls() == []
    configure(settings, AUTHORIZATION_SERVER=True)
    assert "agent_obo.E002" in ids(check_settings())
