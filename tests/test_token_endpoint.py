"""Redeeming actor-bound codes (draft -02 §5) and the RFC 9068 tokens that come out."""

import json
import time
from urllib.parse import urlencode

import jwt
import pytest
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jwt as jwcrypto_jwt
from oauth2_provider.models import get_access_token_model

from django_agent_obo.models import AuditEvent, IssuedToken
from tests.conftest import (
    AUTHORIZE_URL,
    ISSUER,
    actor_assertion,
    actor_token_issued,
    authorize_params,
    decode_unverified,
    error_of,
    get_code,
    hidden_fields,
    logged_in,
    make_agent,
    pkce,
    redeem,
    redirect_params,
)


def agent_code(user, app, agent, scope="calendar.read"):
    return get_code(logged_in(user), app, actor=agent.actor_id, scope=scope)


@pytest.mark.parametrize("kind", ["issued", "self_signed"])
def test_actor_bound_code_with_valid_actor_token_yields_jwt_with_act(user, client_app, agent, kind):
    code, verifier = agent_code(user, client_app, agent, "calendar.read calendar.write")
    proof = actor_token_issued(agent) if kind == "issued" else actor_assertion(agent)
    response = redeem(client_app, code, verifier, actor_token=proof)
    assert response.status_code == 200, response.content
    body = response.json()
    header = jwt.get_unverified_header(body["access_token"])
    claims = decode_unverified(body["access_token"])
    assert header["typ"] == "at+jwt" and header["kid"]
    assert claims["iss"] == ISSUER
    assert claims["sub"] == str(user.pk)
    assert claims["client_id"] == claims["azp"] == client_app.client_id
    assert claims["act"] == {"sub": agent.actor_id}
    assert set(claims["scope"].split()) == {"calendar.read", "calendar.write"}
    assert claims["aud"] == ISSUER + "/api/"
    assert claims["exp"] - claims["iat"] == 600 == body["expires_in"]  # the shorter agent lifetime
    assert claims["jti"] and "auth_time" in claims
    row = AuditEvent.objects.get(event="token.issued", jti=claims["jti"])
    assert (row.outcome, row.username, row.client_id, row.actor_id) == (
        "success",
        "alice",
        client_app.client_id,
        agent.actor_id,
    )
    record = IssuedToken.objects.get(jti=claims["jti"])
    assert record.kind == "delegated" and record.agent_grant is not None


def test_actor_token_type_may_be_given(user, client_app, agent):
    code, verifier = agent_code(user, client_app, agent)
    response = redeem(
        client_app,
        code,
        verifier,
        actor_token=actor_assertion(agent),
        actor_token_type="urn:ietf:params:oauth:token-type:jwt",
    )
    assert response.status_code == 200


def test_unknown_actor_token_type_is_refused(user, client_app, agent):
    code, verifier = agent_code(user, client_app, agent)
    response = redeem(
        client_app, code, verifier, actor_token=actor_assertion(agent), actor_token_type="saml2"
    )
    assert response.status_code == 400 and error_of(response) == "invalid_grant"


def test_resource_parameter_sets_the_audience(user, client_app, agent):
    code, verifier = agent_code(user, client_app, agent)
    response = redeem(
        client_app, code, verifier, actor_token=actor_assertion(agent), resource="https://api.example.com/"
    )
    assert response.status_code == 200, response.content
    assert decode_unverified(response.json()["access_token"])["aud"] == "https://api.example.com/"


def resource_code(user, app, agent, resource):
    """A code consented with RFC 8707 ``resource`` at the authorization endpoint."""
    browser = logged_in(user)
    verifier, challenge = pkce()
    params = authorize_params(app, challenge, agent.actor_id, resource=resource)
    page = browser.get(AUTHORIZE_URL + "?" + urlencode(params))
    assert page.status_code == 200, page.content[:500]
    answer = browser.post(AUTHORIZE_URL, {**hidden_fields(page.content.decode()), "allow": "Authorize"})
    return redirect_params(answer)["code"], verifier


def test_code_granted_for_a_resource_gives_tokens_for_it(user, client_app, agent):
    code, verifier = resource_code(user, client_app, agent, "https://api.example.com/")
    response = redeem(client_app, code, verifier, actor_token=actor_assertion(agent))
    assert response.status_code == 200, response.content
    assert decode_unverified(response.json()["access_token"])["aud"] == "https://api.example.com/"


def test_code_granted_for_a_resource_cannot_be_widened_to_another(user, client_app, agent):
    code, verifier = resource_code(user, client_app, agent, "https://api.example.com/")
    response = redeem(
        client_app, code, verifier, actor_token=actor_assertion(agent), resource="https://elsewhere.example/"
    )
    assert response.status_code == 400 and error_of(response) == "invalid_target"
    assert not IssuedToken.objects.filter(kind="delegated").exists()


def test_actor_bound_code_without_actor_token_is_refused(user, client_app, agent):
    code, verifier = agent_code(user, client_app, agent)
    response = redeem(client_app, code, verifier)
    assert response.status_code == 400 and error_of(response) == "invalid_request"
    row = AuditEvent.objects.get(event="token.refused")
    assert (row.outcome, row.reason, row.actor_id, row.username) == (
        "failure",
        "actor_token_missing",
        agent.actor_id,
        "alice",
    )
    assert not get_access_token_model().objects.exists()


def test_failed_redemption_leaves_the_code_usable_for_a_correct_retry(user, client_app, agent):
    code, verifier = agent_code(user, client_app, agent)
    assert redeem(client_app, code, verifier).status_code == 400
    assert redeem(client_app, code, verifier, actor_token=actor_assertion(agent)).status_code == 200


def test_code_bound_to_actor_rejects_other_actor(user, client_app, agent):
    other = make_agent("agent:other", clients=(client_app,))
    code, verifier = agent_code(user, client_app, agent)
    response = redeem(client_app, code, verifier, actor_token=actor_assertion(other))
    assert response.status_code == 400 and error_of(response) == "invalid_grant"
    assert AuditEvent.objects.filter(event="token.refused", reason="actor_mismatch").exists()


def test_plain_code_cannot_be_redeemed_with_an_actor_token(user, client_app, agent):
    code, verifier = get_code(logged_in(user), client_app)
    response = redeem(client_app, code, verifier, actor_token=actor_assertion(agent))
    assert response.status_code == 400 and error_of(response) == "invalid_grant"
    assert AuditEvent.objects.filter(event="token.refused", reason="actor_token_for_plain_code").exists()


def test_plain_code_yields_a_token_without_act(user, client_app):
    code, verifier = get_code(logged_in(user), client_app)
    response = redeem(client_app, code, verifier)
    assert response.status_code == 200
    claims = decode_unverified(response.json()["access_token"])
    assert "act" not in claims and claims["sub"] == str(user.pk)
    assert claims["exp"] - claims["iat"] == 3600
    assert "refresh_token" in response.json()


def test_reused_code_fails_and_revokes_the_first_token(user, client_app, agent):
    code, verifier = agent_code(user, client_app, agent)
    first = redeem(client_app, code, verifier, actor_token=actor_assertion(agent))
    assert first.status_code == 200
    second = redeem(client_app, code, verifier, actor_token=actor_assertion(agent))
    assert second.status_code == 400 and error_of(second) == "invalid_grant"
    jti = decode_unverified(first.json()["access_token"])["jti"]
    record = IssuedToken.objects.get(jti=jti)
    assert record.revoked_at is not None
    assert not record.access_token.is_valid()
    assert AuditEvent.objects.filter(event="token.refused", reason="code_reused").exists()
    assert AuditEvent.objects.filter(event="token.revoked", detail__reason="code_reused").exists()


def test_wrong_pkce_verifier_is_refused_and_audited(user, client_app, agent):
    code, _ = agent_code(user, client_app, agent)
    response = redeem(client_app, code, "x" * 50, actor_token=actor_assertion(agent))
    assert response.status_code == 400 and error_of(response) == "invalid_grant"
    assert AuditEvent.objects.filter(event="token.refused", outcome="failure").exists()


def test_agent_disabled_after_consent_cannot_redeem(user, client_app, agent):
    code, verifier = agent_code(user, client_app, agent)
    proof = actor_assertion(agent)
    agent.model.is_active = False
    agent.model.save()
    response = redeem(client_app, code, verifier, actor_token=proof)
    assert response.status_code == 400 and error_of(response) == "invalid_grant"
    assert AuditEvent.objects.filter(event="token.refused", reason="agent_disabled").exists()


def test_grant_revoked_before_redemption_cannot_redeem(user, client_app, agent):
    from django_agent_obo import delegation
    from django_agent_obo.models import AgentGrant

    code, verifier = agent_code(user, client_app, agent)
    delegation.revoke_grant(AgentGrant.objects.get())
    response = redeem(client_app, code, verifier, actor_token=actor_assertion(agent))
    assert response.status_code == 400 and error_of(response) == "invalid_grant"
    assert AuditEvent.objects.filter(event="token.refused", reason="grant_revoked").exists()


def test_duplicated_actor_token_parameter_is_invalid_request(user, client_app, agent):
    from django.test import Client

    code, verifier = agent_code(user, client_app, agent)
    body = (
        f"grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fclient.example%2Fcallback"
        f"&code_verifier={verifier}&actor_token={actor_assertion(agent)}&actor_token={actor_assertion(agent)}"
    )
    response = Client().post(
        "/o/token/", body, content_type="application/x-www-form-urlencoded", **client_app.basic()
    )
    assert response.status_code == 400 and error_of(response) == "invalid_request"


def test_wrong_client_secret_is_invalid_client_and_audited(user, client_app, agent):
    code, verifier = agent_code(user, client_app, agent)
    client_app.secret = "wrong"
    response = redeem(client_app, code, verifier, actor_token=actor_assertion(agent))
    assert response.status_code == 401 and error_of(response) == "invalid_client"
    row = AuditEvent.objects.get(event="token.refused")
    assert row.client_id == client_app.client_id and row.reason == "invalid_client"


def test_error_responses_leak_no_token_or_secret(user, client_app, agent):
    code, verifier = agent_code(user, client_app, agent)
    proof = actor_assertion(agent, aud="https://elsewhere.example")
    response = redeem(client_app, code, verifier, actor_token=proof)
    text = response.content.decode()
    assert response.status_code == 400
    assert proof not in text and client_app.secret not in text and "Traceback" not in text


def test_agent_client_credentials_yields_an_actor_token(agent):
    token = actor_token_issued(agent)
    claims = decode_unverified(token)
    assert claims["sub"] == agent.actor_id
    assert claims["client_id"] == agent.app.client_id
    assert "act" not in claims
    assert claims["exp"] - claims["iat"] == 300
    assert IssuedToken.objects.get(jti=claims["jti"]).kind == "actor"


def test_disabled_agent_gets_no_actor_token(agent):
    from django.test import Client

    agent.model.is_active = False
    agent.model.save()
    response = Client().post("/o/token/", {"grant_type": "client_credentials"}, **agent.app.basic())
    assert response.status_code == 400 and error_of(response) == "unauthorized_client"
    assert AuditEvent.objects.filter(event="token.refused", reason="agent_disabled").exists()


def test_tokens_verify_with_a_different_jose_library(user, client_app, agent):
    """jwcrypto (not PyJWT, which signed it) verifies our token against the published JWKS."""
    from django.test import Client

    code, verifier = agent_code(user, client_app, agent)
    token = redeem(client_app, code, verifier, actor_token=actor_assertion(agent)).json()["access_token"]
    keyset = jwcrypto_jwk.JWKSet.from_json(Client().get("/o/jwks/").content.decode())
    verified = jwcrypto_jwt.JWT(jwt=token, key=keyset, expected_type="JWS")
    claims = json.loads(verified.claims)
    assert claims["act"]["sub"] == agent.actor_id and claims["exp"] > time.time()


def test_app_authorized_signal_gets_each_issued_token(user, client_app, agent):
    """DOT's ``app_authorized`` fires once per issued token, with that token's row."""
    from oauth2_provider.signals import app_authorized

    from tests.fixtures_exchange import exchange
    from tests.test_refresh import refresh

    received = []

    def receiver(sender, request, token, **kwargs):
        received.append(token)

    app_authorized.connect(receiver)
    try:
        issued = [actor_token_issued(agent)]  # client_credentials
        code, verifier = agent_code(user, client_app, agent)
        first = redeem(client_app, code, verifier, actor_token=actor_assertion(agent)).json()
        issued.append(first["access_token"])  # authorization_code
        issued.append(actor_token_issued(agent))
        again = refresh(client_app, first["refresh_token"], actor_token=issued[-1]).json()
        issued.append(again["access_token"])  # refresh_token
        downstream = exchange(agent, issued[-1]).json()
        issued.append(downstream["access_token"])  # token exchange
    finally:
        app_authorized.disconnect(receiver)
    assert [token.token for token in received] == issued
    assert all(token.pk is not None for token in received)


def test_token_request_secrets_are_hidden_from_error_reports(user, client_app, agent):
    code, verifier = agent_code(user, client_app, agent)
    response = redeem(client_app, code, verifier, actor_token=actor_assertion(agent))
    hidden = response.wsgi_request.sensitive_post_parameters
    assert {"client_secret", "code", "code_verifier", "actor_token", "refresh_token"} <= set(hidden)


def test_grant_last_use_is_stamped_to_the_minute(user, client_app, agent):
    from datetime import timedelta

    from django_agent_obo.models import AgentGrant

    def use() -> None:
        code, verifier = agent_code(user, client_app, agent)
        assert redeem(client_app, code, verifier, actor_token=actor_assertion(agent)).status_code == 200

    use()
    grant = AgentGrant.objects.get(user=user, agent=agent.model)
    first = grant.last_used_at
    assert first is not None
    use()  # within the minute: the stamp stands
    grant.refresh_from_db()
    assert grant.last_used_at == first
    AgentGrant.objects.filter(pk=grant.pk).update(last_used_at=first - timedelta(minutes=2))
    use()
    grant.refresh_from_db()
    assert grant.last_used_at > first


@pytest.mark.parametrize("listening", [False, True], ids=["returning", "orm-delete"])
def test_redemption_removes_dots_grant_and_sends_its_delete_signals(user, client_app, agent, listening):
    """The Grant is taken with DELETE … RETURNING, or through the ORM when a site listens
    to its delete signals; either way it is gone after redemption and a replay is refused."""
    from django.db.models.signals import post_delete
    from oauth2_provider.models import get_grant_model

    deleted = []

    def receiver(sender, instance, **kwargs):
        deleted.append(instance.code)

    if listening:
        post_delete.connect(receiver, sender=get_grant_model())
    try:
        code, verifier = agent_code(user, client_app, agent)
        first = redeem(client_app, code, verifier, actor_token=actor_assertion(agent))
        again = redeem(client_app, code, verifier, actor_token=actor_assertion(agent))
    finally:
        post_delete.disconnect(receiver, sender=get_grant_model())
    assert first.status_code == 200, first.content
    assert again.status_code == 400 and error_of(again) == "invalid_grant"
    assert not get_grant_model().objects.filter(code=code).exists()
    assert deleted == ([code] if listening else [])
