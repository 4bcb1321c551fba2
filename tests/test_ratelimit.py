"""The fixed-window counters of ``ratelimit.py`` in both stores (Django's cache, or
``RateCounter`` rows), and the database store's single-statement count under a race."""

from __future__ import annotations

import threading

import pytest
from django.core.management import call_command
from django.db import connection, connections

from django_agent_obo import ratelimit
from django_agent_obo.models import RateCounter


@pytest.fixture(params=["cache", "database"])
def store(request, settings):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "RATE_LIMIT_STORE": request.param}
    return request.param


def test_hits_count_up_per_key_and_peek_reads_without_counting(store):
    assert ratelimit.peek("token", "client-a", "5/min")[0] == 0
    counts = [ratelimit.hit("token", "client-a", "5/min")[0] for _ in range(3)]
    assert counts == [1, 2, 3]
    assert ratelimit.peek("token", "client-a", "5/min")[0] == 3
    assert ratelimit.peek("token", "client-a", "5/min")[0] == 3  # peeking counts nothing
    assert ratelimit.hit("token", "client-b", "5/min")[0] == 1  # another key
    assert ratelimit.hit("other-scope", "client-a", "5/min")[0] == 1  # another scope
    wait = ratelimit.hit("token", "client-a", "5/min")[1]
    assert 0 < wait <= 60
    assert RateCounter.objects.exists() == (store == "database")


def test_a_past_windows_counters_are_pruned(settings):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "RATE_LIMIT_STORE": "database"}
    ratelimit.hit("token", "client-a", "5/s")
    RateCounter.objects.update(expires_at="2000-01-01T00:00:00Z")
    call_command("prune_expired", "--older-than", "1")
    assert not RateCounter.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_counts_of_one_key_lose_none(settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    settings.AGENT_OBO = {**settings.AGENT_OBO, "RATE_LIMIT_STORE": "database"}
    workers, barrier, counts = 12, threading.Barrier(12), []

    def run() -> None:
        try:
            barrier.wait()
            counts.append(ratelimit.hit("token", "busy-client", "100/min")[0])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(counts) == list(range(1, workers + 1))
