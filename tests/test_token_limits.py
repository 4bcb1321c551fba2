"""Limits at the token endpoint: parameter size and a per-client rate limit (429)."""

from django.core.cache import cache
from django.test import Client

from django_agent_obo.models import AuditEvent
from tests.conftest import TOKEN_URL, error_of


def test_oversized_parameter_is_refused_before_parsing(agent):
    response = Client().post(
        TOKEN_URL, {"grant_type": "client_credentials", "scope": "x" * 9000}, **agent.app.basic()
    )
    assert response.status_code == 400 and error_of(response) == "invalid_request"
    assert AuditEvent.objects.filter(event="token.refused", reason="parameter_too_large").exists()


def test_client_over_its_rate_is_told_to_slow_down_and_audited_once(settings, agent):
    cache.clear()
    settings.AGENT_OBO = {**settings.AGENT_OBO, "TOKEN_RATE_LIMIT": "3/min"}
    statuses = [
        Client().post(TOKEN_URL, {"grant_type": "client_credentials"}, **agent.app.basic()) for _ in range(6)
    ]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429, 429, 429]
    assert int(statuses[-1]["Retry-After"]) > 0
    assert error_of(statuses[-1]) == "too_many_requests"
    assert AuditEvent.objects.filter(event="token.refused", reason="rate_limited").count() == 1


def test_rate_limit_is_per_client(settings, agent, client_app):
    cache.clear()
    settings.AGENT_OBO = {**settings.AGENT_OBO, "TOKEN_RATE_LIMIT": "1/min"}
    assert (
        Client().post(TOKEN_URL, {"grant_type": "client_credentials"}, **agent.app.basic()).status_code == 200
    )
    other = Client().post(TOKEN_URL, {"grant_type": "client_credentials"}, **client_app.basic())
    assert other.status_code != 429


def test_body_client_id_contradicting_basic_auth_is_invalid_request(agent):
    response = Client().post(
        TOKEN_URL, {"grant_type": "client_credentials", "client_id": "someone-else"}, **agent.app.basic()
    )
    assert response.status_code == 400 and error_of(response) == "invalid_request"
    assert AuditEvent.objects.filter(event="token.refused", reason="client_id_mismatch").exists()
