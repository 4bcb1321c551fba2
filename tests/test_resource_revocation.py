"""Revocation as a resource server sees it, in each mode: database, cache, none."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache, caches
from django.test import Client
from django.utils import timezone

from django_agent_obo import delegation, token_status
from django_agent_obo.models import AgentGrant, IssuedToken
from django_agent_obo.resource import TokenError, revocation, validate_access_token
from django_agent_obo.resource.revocation import cache_key
from tests.fixtures_resource import bearer, configure, delegated_token, mint


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


def refused_reason(token: str) -> str:
    with pytest.raises(TokenError) as caught:
        validate_access_token(token)
    return caught.value.reason


def revoke_the_grant(user, agent, capture):
    grant = AgentGrant.objects.get(user=user, agent=agent.model)
    with capture(execute=True):
        delegation.revoke_grant(grant, by=user)


def test_database_mode_refuses_a_revoked_token_on_the_next_request(
    settings, user, client_app, agent, django_capture_on_commit_callbacks
):
    configure(settings, RS_REVOCATION_MODE="database")
    token = delegated_token(user, client_app, agent)
    assert validate_access_token(token)
    revoke_the_grant(user, agent, django_capture_on_commit_callbacks)
    assert refused_reason(token) == "token_revoked"


def test_database_mode_reads_the_record_once_per_request(settings, client_app, django_assert_num_queries):
    configure(settings, RS_REVOCATION_MODE="database")
    token = mint(client_app)
    with django_assert_num_queries(1):
        validate_access_token(token)


def test_rfc7009_revocation_at_the_server_reaches_the_resource(settings, user, client_app, agent):
    configure(settings, RS_REVOCATION_MODE="database")
    token = delegated_token(user, client_app, agent)
    response = Client().post("/o/revoke_token/", {"token": token}, **client_app.basic())
    assert response.status_code == 200
    assert refused_reason(token) == "token_revoked"


def test_kill_switch_stops_the_agents_tokens_at_the_resource(settings, user, client_app, agent):
    configure(settings, RS_REVOCATION_MODE="database")
    token = delegated_token(user, client_app, agent)
    delegation.set_agent_active(agent.model, False)
    assert refused_reason(token) == "token_revoked"


def _local_cache(settings):
    """A local-memory cache alias for the resource server (the example project's default cache
    is the database cache): its clock can be moved and it costs no query."""
    settings.CACHES = {**settings.CACHES, "rs": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return "rs"


def test_cache_mode_needs_no_database_query_once_cached(settings, client_app, django_assert_num_queries):
    configure(settings, RS_REVOCATION_MODE="cache", RS_REVOCATION_CACHE_ALIAS=_local_cache(settings))
    token = mint(client_app)
    validate_access_token(token)
    with django_assert_num_queries(0):
        validate_access_token(token)


def test_cache_mode_sees_a_revocation_at_once_when_sharing_the_cache(
    settings, user, client_app, agent, django_capture_on_commit_callbacks
):
    configure(settings, RS_REVOCATION_MODE="cache")
    token = delegated_token(user, client_app, agent)
    assert validate_access_token(token)
    revoke_the_grant(user, agent, django_capture_on_commit_callbacks)
    assert refused_reason(token) == "token_revoked"


def test_a_revocation_committed_while_a_resource_server_reads_the_row_is_not_lost(
    settings, user, client_app, agent, monkeypatch, django_capture_on_commit_callbacks
):
    """The resource server misses the cache and reads the row (live); the revocation commits
    and evicts before the server caches what it read. Caching that stale "live" would let the
    revoked token through for ``RS_REVOCATION_CACHE_SECONDS`` although the cache is shared."""
    alias = _local_cache(settings)  # shared, as a Redis: see the database cache's own test below
    configure(
        settings, RS_REVOCATION_MODE="cache", RS_REVOCATION_CACHE_SECONDS=30, RS_REVOCATION_CACHE_ALIAS=alias
    )
    token = delegated_token(user, client_app, agent)
    real_load = revocation.load_status

    def read_then_revocation_commits(jti):
        found = real_load(jti)  # the row as it was: live
        monkeypatch.setattr(revocation, "load_status", real_load)
        revoke_the_grant(user, agent, django_capture_on_commit_callbacks)  # commits, evicts
        return found

    monkeypatch.setattr(revocation, "load_status", read_then_revocation_commits)
    assert validate_access_token(token)  # in flight when the revocation came: accepted
    assert refused_reason(token) == "token_revoked"  # every request after it: refused


@pytest.mark.parametrize("tokens", [3, 60])
def test_evicting_from_the_database_cache_is_one_statement_however_many_tokens(
    settings, tokens, django_assert_num_queries
):
    """Django's database cache writes each entry in a transaction of its own: a tombstone per
    revoked token made revoking a grant with 10,000 tokens take seconds (bench/run.py). There a
    revocation deletes the entries in one statement; cache mode on that cache is agent_obo.W193."""
    configure(settings, RS_REVOCATION_MODE="cache")  # the default alias: the database cache
    jtis = [f"jti-{n}" for n in range(tokens)]
    for jti in jtis:
        cache.set(cache_key(jti), (False, "delegated", None), 30)
    with django_assert_num_queries(1):
        token_status.evict(jtis)
    assert cache.get_many([cache_key(jti) for jti in jtis]) == {}


def test_cache_mode_is_stale_at_most_the_configured_seconds(settings, client_app, monkeypatch):
    """A revocation the cache never heard of (another cache, another site) shows once the entry ages out."""
    configure(
        settings,
        RS_REVOCATION_MODE="cache",
        RS_REVOCATION_CACHE_SECONDS=30,
        RS_REVOCATION_CACHE_ALIAS=_local_cache(settings),
    )
    token = mint(client_app)
    info = validate_access_token(token)
    IssuedToken.objects.filter(jti=info.jti).update(revoked_at=timezone.now())
    assert validate_access_token(token)  # still cached as live: the bounded staleness
    later = time.time() + 31
    monkeypatch.setattr("django.core.cache.backends.locmem.time.time", lambda: later)
    assert refused_reason(token) == "token_revoked"


def test_cache_entry_never_outlives_the_token(settings, client_app, monkeypatch):
    alias = _local_cache(settings)
    configure(
        settings,
        RS_REVOCATION_MODE="cache",
        RS_REVOCATION_CACHE_SECONDS=3600,
        RS_REVOCATION_CACHE_ALIAS=alias,
    )
    token = mint(client_app, exp=int(time.time()) + 60)
    info = validate_access_token(token)
    assert caches[alias].get(cache_key(info.jti)) is not None
    later = time.time() + 61
    monkeypatch.setattr("django.core.cache.backends.locmem.time.time", lambda: later)
    assert caches[alias].get(cache_key(info.jti)) is None


def test_cache_mode_refuses_a_token_never_recorded(settings, client_app):
    configure(settings, RS_REVOCATION_MODE="cache")
    token = mint(client_app, record=False)
    assert refused_reason(token) == "token_unknown"
    assert refused_reason(token) == "token_unknown"


def test_none_mode_accepts_a_revoked_token_until_it_expires(settings, client_app, django_assert_num_queries):
    configure(settings, RS_REVOCATION_MODE="none")
    token = mint(client_app)
    IssuedToken.objects.update(revoked_at=timezone.now())
    with django_assert_num_queries(0):
        assert validate_access_token(token)
    expired = mint(client_app, iat=int(time.time()) - 600, exp=int(time.time()) - 100)
    assert refused_reason(expired) == "token_expired"


def test_revoked_token_gets_the_invalid_token_challenge(settings, user, client_app, agent):
    configure(settings, RS_REVOCATION_MODE="database")
    token = delegated_token(user, client_app, agent)
    Client().post("/o/revoke_token/", {"token": token}, **client_app.basic())
    response = Client().get("/api/whoami/", **bearer(token))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert response.json()["error"] == "invalid_token"
