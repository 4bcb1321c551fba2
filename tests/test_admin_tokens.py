"""The issued-token admin: every token listed with its chain; revoking cascades down the lineage."""

from django_agent_obo.models import IssuedToken
from tests.conftest import make_agent
from tests.fixtures_audit import admin_client, delegate, is_active
from tests.fixtures_exchange import accepts, hand_over, record_of

TOKENS = "/admin/django_agent_obo/issuedtoken/"


def test_tokens_are_listed_with_user_client_and_actor_chain(django_user_model, user, client_app, agent):
    browser, _ = admin_client(django_user_model)
    token = delegate(user, client_app, agent)["access_token"]
    page = browser.get(TOKENS).content.decode()
    jti = record_of(token).jti
    assert jti in page and "alice" in page and agent.actor_id in page and "live" in page
    assert browser.get(TOKENS, {"q": jti}).status_code == 200


def test_revoke_action_cascades_to_exchanged_tokens(django_user_model, user, client_app, agent):
    browser, _ = admin_client(django_user_model)
    helper = make_agent("agent:helper", clients=(client_app,))
    accepts(helper, agent)
    subject = delegate(user, client_app, agent)["access_token"]
    child = hand_over(agent, subject, helper)
    parent = record_of(subject)
    response = browser.post(TOKENS, {"action": "revoke_tokens", "_selected_action": [parent.pk]})
    assert response.status_code == 302
    assert not is_active(client_app, subject)
    assert IssuedToken.objects.get(pk=record_of(child).pk).revoked_at is not None
    assert "revoked" in browser.get(TOKENS, {"status": "revoked"}).content.decode()


def test_token_records_cannot_be_added_changed_or_deleted(django_user_model, user, client_app, agent):
    browser, _ = admin_client(django_user_model)
    record = record_of(delegate(user, client_app, agent)["access_token"])
    assert browser.get(TOKENS + "add/").status_code == 403
    assert browser.post(TOKENS + f"{record.pk}/delete/").status_code == 403
    assert browser.post(TOKENS + f"{record.pk}/change/", {"scope": "x"}).status_code == 403
    assert IssuedToken.objects.filter(pk=record.pk, revoked_at__isnull=True).exists()
