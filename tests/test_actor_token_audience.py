"""An agent's AS-issued actor token names this server in ``aud`` (issue #12 item 2): a token of
the agent meant for another resource is not an actor token (that resource could replay it)."""

from __future__ import annotations

import pytest

from django_agent_obo.models import AuditEvent
from tests.conftest import (
    ISSUER,
    actor_token_issued,
    decode_unverified,
    error_of,
    get_code,
    logged_in,
    redeem,
)

API = ISSUER + "/api/"


@pytest.fixture
def bound_code(user, client_app, agent):
    return get_code(logged_in(user), client_app, actor=agent.actor_id)


def test_the_agents_token_without_resource_names_this_server(client_app, bound_code, agent):
    token = actor_token_issued(agent)
    assert decode_unverified(token)["aud"] == ISSUER
    code, verifier = bound_code
    assert redeem(client_app, code, verifier, actor_token=token).status_code == 200


def test_an_actor_token_asked_for_with_resource_issuer_works(client_app, bound_code, agent):
    token = actor_token_issued(agent, resource=ISSUER)
    code, verifier = bound_code
    assert redeem(client_app, code, verifier, actor_token=token).status_code == 200


@pytest.mark.parametrize("resource", ["https://other-api.example", API])
def test_the_agents_token_for_another_resource_is_not_an_actor_token(client_app, bound_code, agent, resource):
    token = actor_token_issued(agent, resource=resource)
    code, verifier = bound_code
    response = redeem(client_app, code, verifier, actor_token=token)
    assert response.status_code == 400 and error_of(response) == "invalid_grant"
    assert AuditEvent.objects.get(event="token.refused").reason == "actor_token_aud"


def test_a_token_for_this_server_and_another_resource_is_not_an_actor_token(client_app, bound_code, agent):
    from django.test import Client

    response = Client().post(
        "/o/token/",
        "grant_type=client_credentials&resource=" + ISSUER + "&resource=https://other-api.example",
        content_type="application/x-www-form-urlencoded",
        **agent.app.basic(),
    )
    assert response.status_code == 200, response.content
    code, verifier = bound_code
    refused = redeem(client_app, code, verifier, actor_token=response.json()["access_token"])
    assert error_of(refused) == "invalid_grant"
    assert AuditEvent.objects.get(event="token.refused").reason == "actor_token_aud"
