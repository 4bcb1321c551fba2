"""System checks name the exact missing or unsafe setting (agent_obo.E001…)."""

import re
import types
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.urls import include, path

import django_agent_obo
from django_agent_obo import dpop, keys


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


def test_no_signing_key_while_debug_is_a_warning_with_a_w_id(settings, tmp_path):
    settings.DEBUG = True
    settings.AGENT_OBO = {
        **settings.AGENT_OBO,
        "SIGNING_KEY_DIR": str(tmp_path / "empty"),
        "AUTO_CREATE_SIGNING_KEY": False,
    }
    messages = [m for m in run_checks(tags=["security"]) if m.id in ("agent_obo.E007", "agent_obo.W007")]
    assert [(m.id, m.is_serious()) for m in messages] == [("agent_obo.W007", False)]


def test_every_check_id_matches_its_level(settings, tmp_path):
    """An E id is an Error (or worse), a W id a Warning: across a range of broken settings."""
    settings.DEBUG = True
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "PKCE_REQUIRED": False,
        "OIDC_ISS_ENDPOINT": None,
        "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    }
    settings.AGENT_OBO = {**settings.AGENT_OBO, "SIGNING_KEY_DIR": str(tmp_path / "none")}
    settings.AGENT_OBO["AUTO_CREATE_SIGNING_KEY"] = False
    found = [m for m in run_checks(tags=["security"]) if m.id and m.id.startswith("agent_obo.")]
    assert {m.id for m in found} >= {"agent_obo.E004", "agent_obo.W006", "agent_obo.W007"}
    for message in found:
        assert message.is_serious() == (message.id.split(".")[1][0] == "E"), message


def test_unset_oidc_iss_endpoint_is_w006_when_iss_is_added_to_redirects(settings):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": None}
    assert "agent_obo.W006" in ids()
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": False,
    }
    assert "agent_obo.W006" not in ids()


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


def test_unloadable_signing_key_is_e008(settings):
    settings.AGENT_OBO = {
        **settings.AGENT_OBO,
        "SIGNING_KEY_DIR": None,
        "SIGNING_KEYS": [
            {"private_key": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"}
        ],
    }
    assert "agent_obo.E008" in ids()


@pytest.mark.parametrize(
    ("key", "value", "check_id"),
    [
        ("RS_REVOCATION_MODE", "sometimes", "agent_obo.E101"),
        ("RS_ALGORITHMS", ["RS256", "HS256"], "agent_obo.E102"),
        ("RS_ALGORITHMS", [], "agent_obo.E102"),
        ("RS_AUDIT_SAMPLE_RATE", 2, "agent_obo.E103"),
    ],
)
def test_unsafe_resource_server_settings_are_flagged(settings, key, value, check_id):
    settings.AGENT_OBO = {**settings.AGENT_OBO, key: value}
    assert check_id in ids()


@pytest.mark.parametrize(
    ("allowed_hosts", "external_url", "flagged"),
    [
        (["*"], None, True),
        ([".example.com"], None, True),
        (["api.example.com"], None, False),
        (["*"], "https://api.example.com", False),
    ],
)
def test_a_dpop_htu_taken_from_a_wildcard_host_header_is_w111(settings, allowed_hosts, external_url, flagged):
    """With ``ALLOWED_HOSTS = ["*"]`` the expected ``htu`` is whatever ``Host`` the caller sent,
    so a proof collected by another server is accepted here (RFC 9449 §4.3 step 9)."""
    settings.ALLOWED_HOSTS = allowed_hosts
    settings.AGENT_OBO = {**settings.AGENT_OBO, "RS_EXTERNAL_URL": external_url}
    assert ("agent_obo.W111" in ids()) is flagged


@pytest.mark.parametrize(
    ("uri", "flagged"),
    [
        ("http://auth.example.com/o/jwks/", True),
        ("https://auth.example.com/o/jwks/", False),
        ("http://127.0.0.1:8000/o/jwks/", False),
        ("http://localhost/o/jwks/", False),
    ],
)
def test_a_jwks_uri_over_plain_http_is_w110(settings, uri, flagged):
    """Whoever is on the path of a plain-http JWK Set can serve keys of their own and sign any token."""
    settings.AGENT_OBO = {**settings.AGENT_OBO, "RS_JWKS_URI": uri}
    assert ("agent_obo.W110" in ids()) is flagged


def urlconf(*patterns):
    module = types.ModuleType("site_urls")
    module.urlpatterns = list(patterns)
    return module


def test_dot_urls_instead_of_ours_are_e010_and_e011(settings):
    settings.ROOT_URLCONF = urlconf(path("o/", include("oauth2_provider.urls")))
    messages = [m for m in run_checks(tags=["urls"]) if m.id.startswith("agent_obo.")]
    assert {m.id for m in messages} == {"agent_obo.E010", "agent_obo.E011", "agent_obo.W012"}
    assert any("/o/token/ is served by oauth2_provider.views" in m.msg for m in messages)


def test_dot_urls_left_beside_ours_are_e011(settings):
    settings.ROOT_URLCONF = urlconf(
        path("", include("django_agent_obo.urls")), path("oauth/", include("oauth2_provider.urls"))
    )
    flagged = {m.msg.split()[0] for m in run_checks(tags=["urls"]) if m.id == "agent_obo.E011"}
    assert flagged == {"/oauth/authorize/", "/oauth/token/"}


def test_dot_application_pages_for_every_user_are_w012(settings):
    from oauth2_provider import urls as dot_urls

    from django_agent_obo.application_management import staff_only_management

    settings.ROOT_URLCONF = urlconf(
        path("", include("django_agent_obo.urls")),
        path("apps/", include((dot_urls.management_urlpatterns, "apps"))),
    )
    flagged = {m.msg.split()[0] for m in run_checks(tags=["urls"]) if m.id == "agent_obo.W012"}
    assert "/apps/applications/register/" in flagged and "/apps/applications/" in flagged
    assert not any(route.startswith("/o/") for route in flagged)  # ours are staff only
    settings.ROOT_URLCONF = urlconf(
        path("", include("django_agent_obo.urls")),
        path("apps/", include((staff_only_management(dot_urls.management_urlpatterns), "apps"))),
    )
    assert not [m for m in run_checks(tags=["urls"]) if m.id == "agent_obo.W012"]


def test_every_check_id_is_tested_here_and_documented():
    package = Path(django_agent_obo.__file__).parent
    source = "".join(p.read_text() for p in package.rglob("*.py"))
    check_ids = set(re.findall(r'id="(agent_obo\.[EW]\d{3})"', source))
    assert len(check_ids) >= 15
    tested = Path(__file__).read_text()
    documented = (package.parent / "docs" / "install.md").read_text()
    assert {i for i in check_ids if i not in tested} == set()
    assert {i for i in check_ids if f"`{i}`" not in documented} == set()


def test_client_secrets_checked_by_a_password_hasher_are_w015(settings):
    assert "agent_obo.W015" not in ids()
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "CLIENT_SECRET_HASHER": "default"}
    assert "agent_obo.W015" in ids()


def test_the_client_secret_hasher_first_in_password_hashers_is_w016(settings):
    assert "agent_obo.W016" not in ids()
    settings.PASSWORD_HASHERS = [
        "django_agent_obo.client_secrets.ClientSecretHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    assert "agent_obo.W016" in ids()


def test_symmetric_dpop_algorithms_and_unknown_dpop_replay_stores_fail(settings):
    settings.AGENT_OBO = {
        **settings.AGENT_OBO,
        "DPOP_ALGORITHMS": ["ES256", "HS256"],
        "RS_DPOP_ALGORITHMS": [],
        "RS_DPOP_REPLAY_STORE": "memory",
    }
    ids = {message.id for message in run_checks()}
    assert {"agent_obo.E180", "agent_obo.E181", "agent_obo.E182"} <= ids


# State every process must share is not left in a cache that keeps nothing, or one per
# process (agent_obo.E190 to W192): a replayed DPoP proof would pass, a rate limit never trip.

DUMMY = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}


def cache_check_ids(deploy=False):
    found = run_checks(include_deployment_checks=deploy)
    return [m.id for m in found if m.id.startswith(("agent_obo.E19", "agent_obo.W19"))]


@pytest.fixture
def with_cache(settings):
    def configure(alias, backend, **agent_obo):
        settings.CACHES = {**settings.CACHES, alias: backend}
        settings.AGENT_OBO = {**settings.AGENT_OBO, **agent_obo}

    return configure


def test_a_dummy_cache_lets_a_proof_be_replayed_so_the_site_fails_its_checks(with_cache):
    with_cache("replay", DUMMY, RS_DPOP_REPLAY_STORE="cache", RS_DPOP_REPLAY_CACHE_ALIAS="replay")
    consume = dpop.consume_jti("cache", "replay", "rs")
    assert consume("jkt", "one-jti", 60) and consume("jkt", "one-jti", 60)  # the hazard
    assert cache_check_ids() == ["agent_obo.E191"]


@pytest.mark.parametrize(
    "agent_obo",
    [
        {"DPOP_REPLAY_STORE": "cache", "DPOP_REPLAY_CACHE_ALIAS": "replay"},
        {"RATE_LIMIT_STORE": "cache", "RS_DPOP_REPLAY_STORE": "database"},
    ],
)
def test_token_endpoint_state_in_a_dummy_cache_is_e191(with_cache, agent_obo):
    with_cache("default" if "RATE_LIMIT_STORE" in agent_obo else "replay", DUMMY, **agent_obo)
    assert cache_check_ids() == ["agent_obo.E191"]


@pytest.mark.parametrize(
    "agent_obo",
    [
        {"DPOP_REPLAY_STORE": "cache", "DPOP_REPLAY_CACHE_ALIAS": "missing"},
        {"RS_DPOP_REPLAY_STORE": "cache", "RS_DPOP_REPLAY_CACHE_ALIAS": "missing"},
        {"RS_REVOCATION_MODE": "cache", "RS_REVOCATION_CACHE_ALIAS": "missing"},
    ],
)
def test_a_cache_alias_that_is_not_configured_is_e190(settings, agent_obo):
    settings.AGENT_OBO = {**settings.AGENT_OBO, **agent_obo}
    assert cache_check_ids() == ["agent_obo.E190"]


def test_revocation_state_in_a_dummy_cache_is_only_slower(with_cache):
    with_cache("rs", DUMMY, RS_REVOCATION_MODE="cache", RS_REVOCATION_CACHE_ALIAS="rs")
    assert cache_check_ids(deploy=True) == []


def test_a_per_process_cache_is_a_deployment_warning(with_cache):
    with_cache("replay", LOCMEM, RS_DPOP_REPLAY_STORE="cache", RS_DPOP_REPLAY_CACHE_ALIAS="replay")
    assert cache_check_ids() == []
    assert cache_check_ids(deploy=True) == ["agent_obo.W192"]


def test_the_database_stores_need_no_cache(with_cache):
    with_cache(
        "replay",
        DUMMY,
        DPOP_REPLAY_STORE="database",
        RS_DPOP_REPLAY_STORE="database",
        RATE_LIMIT_STORE="database",
        DPOP_REPLAY_CACHE_ALIAS="replay",
        RS_DPOP_REPLAY_CACHE_ALIAS="replay",
    )
    assert cache_check_ids(deploy=True) == []


def test_cache_revocation_mode_on_the_database_cache_is_w193(settings):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "RS_REVOCATION_MODE": "cache"}
    assert cache_check_ids() == ["agent_obo.W193"]  # the example project's cache is the database's
    settings.CACHES = {**settings.CACHES, "rs": LOCMEM}
    settings.AGENT_OBO = {**settings.AGENT_OBO, "RS_REVOCATION_CACHE_ALIAS": "rs"}
    assert cache_check_ids() == []
