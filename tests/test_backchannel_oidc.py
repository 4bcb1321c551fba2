"""CIBA on a site that runs OpenID Connect: `openid` is required and an ID token comes too."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from django_agent_obo.models import BackchannelRequest
from tests.conftest import actor_assertion, decode_unverified, make_agent
from tests.fixtures_backchannel import answer, bc_authorize, poll


@pytest.fixture(autouse=True)
def _oidc(settings):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "OIDC_ENABLED": True,
        "OIDC_RSA_PRIVATE_KEY": pem,
        "SCOPES": {**settings.OAUTH2_PROVIDER["SCOPES"], "openid": "Sign you in"},
    }
    settings.AGENT_OBO = {**settings.AGENT_OBO, "BACKCHANNEL_INTERVAL_SECONDS": 0}


def test_openid_required_when_the_site_runs_oidc(user, client_app):
    response = bc_authorize(client_app, scope="calendar.read")
    assert response.json()["error"] == "invalid_scope"


def test_id_token_issued_with_the_access_token(user, client_app):
    # As at the authorization endpoint, the agent must be allowed every requested scope.
    agent = make_agent(clients=(client_app,), scopes="openid calendar.read")
    client_app.model.algorithm = "RS256"  # DOT signs ID tokens only for clients set to an algorithm
    client_app.model.save()
    response = bc_authorize(client_app, scope="openid calendar.read", requested_actor=agent.actor_id)
    assert response.status_code == 200, response.content
    body = response.json()
    answer(user, BackchannelRequest.objects.get().pk)
    response = poll(client_app, body["auth_req_id"], actor_token=actor_assertion(agent))
    assert response.status_code == 200, response.content
    id_token = decode_unverified(response.json()["id_token"])
    assert id_token["sub"]
    assert id_token["iss"]
    assert id_token["aud"] == client_app.client_id
    assert decode_unverified(response.json()["access_token"])["act"] == {"sub": agent.actor_id}
