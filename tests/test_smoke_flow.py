from tests.conftest import actor_assertion, actor_token_issued, decode_unverified, get_code, logged_in, redeem


def test_agent_flow_with_issued_actor_token(user, client_app, agent):
    code, verifier = get_code(logged_in(user), client_app, actor=agent.actor_id)
    response = redeem(client_app, code, verifier, actor_token=actor_token_issued(agent))
    assert response.status_code == 200, response.content
    claims = decode_unverified(response.json()["access_token"])
    assert claims["act"] == {"sub": agent.actor_id}
    assert claims["sub"] == str(user.pk)


def test_agent_flow_with_self_signed_actor_token(user, client_app, agent):
    code, verifier = get_code(logged_in(user), client_app, actor=agent.actor_id)
    response = redeem(client_app, code, verifier, actor_token=actor_assertion(agent))
    assert response.status_code == 200, response.content
