"""RFC 7662 introspection of our JWTs: the whole ``act`` chain, and ``active: false`` once dead."""

from __future__ import annotations

import time
from datetime import timedelta

from django.test import Client
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from django_agent_obo import delegation
from django_agent_obo.models import AgentGrant, IssuedToken
from tests.conftest import actor_token_issued, decode_unverified, make_app
from tests.fixtures_resource import API_AUDIENCE, ISSUER, delegated_token, mint

INTROSPECT = "/o/introspect/"


def introspect(app, token):
    response = Client().post(INTROSPECT, {"token": token}, **app.basic())
    assert response.status_code == 200, response.content
    return response.json()


def test_delegated_token_introspects_with_act_and_all_claims(user, client_app, agent):
    token = delegated_token(user, client_app, agent)
    answer = introspect(client_app, token)
    claims = decode_unverified(token)
    assert answer["active"] is True
    assert answer["act"] == {"sub": agent.actor_id}
    assert answer["sub"] == str(user.pk)
    assert answer["client_id"] == client_app.client_id
    assert answer["aud"] == API_AUDIENCE
    assert answer["iss"] == ISSUER
    assert answer["scope"] == "calendar.read"
    assert (answer["exp"], answer["iat"], answer["jti"]) == (claims["exp"], claims["iat"], claims["jti"])
    assert answer["token_type"] == "Bearer"
    assert answer["username"] == user.get_username()


def test_a_registered_resource_server_may_introspect_tokens_of_other_clients(
    settings, user, client_app, agent
):
    resource_server = make_app("Resource server", grant="client-credentials", redirect="")
    settings.AGENT_OBO = {
        **settings.AGENT_OBO,
        "INTROSPECTION_RESOURCE_SERVERS": {resource_server.client_id: [API_AUDIENCE]},
    }
    assert introspect(resource_server, delegated_token(user, client_app, agent))["active"] is True


def test_full_nested_chain_is_returned(user, client_app):
    token = mint(client_app, user=user, chain=["agent:c", "agent:b", "agent:a"])
    assert introspect(client_app, token)["act"] == {
        "sub": "agent:c",
        "act": {"sub": "agent:b", "act": {"sub": "agent:a"}},
    }


def test_agents_own_token_has_no_act(agent):
    answer = introspect(agent.app, actor_token_issued(agent))
    assert answer["active"] is True
    assert answer["sub"] == agent.actor_id
    assert "act" not in answer


def test_revoked_grant_makes_the_token_inactive(user, client_app, agent):
    token = delegated_token(user, client_app, agent)
    delegation.revoke_grant(AgentGrant.objects.get(user=user), by=user)
    assert introspect(client_app, token) == {"active": False}


def test_revoked_record_is_inactive_even_if_dots_row_still_looks_valid(user, client_app, agent):
    token = delegated_token(user, client_app, agent)
    record = IssuedToken.objects.get(jti=decode_unverified(token)["jti"])
    IssuedToken.objects.filter(pk=record.pk).update(revoked_at=timezone.now())
    assert get_access_token_model().objects.get(pk=record.access_token_id).is_valid()
    assert introspect(client_app, token) == {"active": False}


def test_expired_token_is_inactive(user, client_app):
    now = int(time.time())
    token = mint(client_app, user=user, iat=now - 900, exp=now - 300)
    IssuedToken.objects.update(expires_at=timezone.now() - timedelta(minutes=5))
    assert introspect(client_app, token) == {"active": False}


def test_unknown_token_is_inactive(client_app):
    assert introspect(client_app, "not-a-token") == {"active": False}


def test_introspection_needs_client_authentication(user, client_app, agent):
    token = delegated_token(user, client_app, agent)
    response = Client().post(INTROSPECT, {"token": token})
    assert response.status_code in (401, 403)
    assert b"act" not in response.content


def test_missing_token_parameter_is_an_invalid_request(client_app):
    response = Client().post(INTROSPECT, {}, **client_app.basic())
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
