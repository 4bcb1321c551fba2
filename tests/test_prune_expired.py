"""``prune_expired``: expired bookkeeping goes; what a refresh or a code replay needs stays."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from oauth2_provider.models import get_refresh_token_model

from django_agent_obo.models import CodeBinding, IssuedToken, UsedAssertion
from tests.conftest import actor_assertion, get_code, logged_in, make_agent, redeem
from tests.fixtures_exchange import accepts, delegate, hand_over, record_of, verified_claims
from tests.test_refresh import refreshed


def expire(*records: IssuedToken, days: float = 3) -> None:
    """Move token records' expiry into the past (the tokens themselves are not re-signed)."""
    past = timezone.now() - timedelta(days=days)
    IssuedToken.objects.filter(pk__in=[r.pk for r in records]).update(expires_at=past)
    CodeBinding.objects.filter(tokens__in=[r.pk for r in records]).update(expires_at=past)


def prune(*args: str) -> str:
    out = io.StringIO()
    call_command("prune_expired", "--older-than", "1", *args, stdout=out)
    return out.getvalue()


def test_expired_records_without_a_refresh_token_go(user, client_app, agent):
    delegated = delegate(user, client_app, agent)
    actor_record = IssuedToken.objects.get(kind="actor")  # the actor token delegate() used
    expire(actor_record, record_of(delegated["access_token"]))
    output = prune()
    assert "1 token record(s)" in output and "0 code binding(s)" in output
    assert not IssuedToken.objects.filter(pk=actor_record.pk).exists()
    # The delegated record stays with its refresh token, and a refresh still carries act.
    assert IssuedToken.objects.filter(jti=verified_claims(delegated["access_token"])["jti"]).exists()
    again = refreshed(client_app, delegated["refresh_token"], agent)
    assert verified_claims(again["access_token"])["act"] == {"sub": agent.actor_id}


def test_a_record_stays_while_dot_keeps_its_revoked_refresh_token(user, client_app, agent):
    """A replay of a rotated refresh token is still attributed to the agent (RFC 9700 §4.14)."""
    delegated = delegate(user, client_app, agent)
    record = record_of(delegated["access_token"])
    expire(record)
    get_refresh_token_model().objects.update(revoked=timezone.now())
    prune()
    assert IssuedToken.objects.filter(pk=record.pk).exists()


def test_a_record_goes_with_its_binding_once_dot_deleted_its_refresh_token(user, client_app, agent):
    delegated = delegate(user, client_app, agent)
    record = record_of(delegated["access_token"])
    binding = record.code_binding
    expire(record)
    get_refresh_token_model().objects.filter(pk=record.refresh_token_id).delete()  # as cleartokens does
    assert "code binding(s)" in prune()
    assert not IssuedToken.objects.filter(pk=record.pk).exists()
    assert not CodeBinding.objects.filter(pk=binding.pk).exists()


def test_a_binding_stays_while_a_token_issued_with_it_does(user, client_app, agent):
    delegate(user, client_app, agent)
    binding = CodeBinding.objects.get(agent=agent.model)
    CodeBinding.objects.filter(pk=binding.pk).update(expires_at=timezone.now() - timedelta(days=3))
    prune()
    assert CodeBinding.objects.filter(pk=binding.pk).exists()


def test_unredeemed_expired_binding_goes(user, client_app, agent):
    get_code(logged_in(user), client_app, actor=agent.actor_id)
    CodeBinding.objects.update(expires_at=timezone.now() - timedelta(days=3))
    prune()
    assert not CodeBinding.objects.exists()


def test_exchanged_tokens_go_with_their_expired_parent(user, client_app, agent):
    helper = make_agent("agent:helper", name="Helper")
    accepts(helper, agent)
    parent = delegate(user, client_app, agent)
    child = record_of(hand_over(agent, parent["access_token"], helper))
    get_refresh_token_model().objects.all().delete()
    expire(record_of(parent["access_token"]), child)
    prune()
    assert not IssuedToken.objects.filter(pk=child.pk).exists()


def test_expired_used_assertions_go_and_recent_ones_stay(user, client_app, agent):
    for _ in range(2):
        code, verifier = get_code(logged_in(user), client_app, actor=agent.actor_id)
        assert redeem(client_app, code, verifier, actor_token=actor_assertion(agent)).status_code == 200
    old = UsedAssertion.objects.first()
    UsedAssertion.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(days=2))
    assert "1 used assertion(s) deleted" in prune()
    assert list(UsedAssertion.objects.values_list("pk", flat=True)) != [old.pk]
    assert UsedAssertion.objects.count() == 1


def test_dry_run_counts_what_a_run_deletes_and_deletes_nothing(user, client_app, agent):
    delegated = delegate(user, client_app, agent)
    record = record_of(delegated["access_token"])
    expire(record, IssuedToken.objects.get(kind="actor"))
    get_refresh_token_model().objects.all().delete()
    counted = prune("--dry-run")
    assert "2 token record(s), 1 code binding(s), 0 used assertion(s) would be deleted" in counted
    assert IssuedToken.objects.count() == 2 and CodeBinding.objects.count() == 1
    assert "2 token record(s), 1 code binding(s), 0 used assertion(s) deleted" in prune()


@pytest.mark.parametrize("days", ["0", "-3"])
def test_a_non_positive_age_is_refused(days):
    with pytest.raises(CommandError, match="at least 1 day"):
        call_command("prune_expired", "--older-than", days)


def test_an_age_is_required():
    with pytest.raises(CommandError):
        call_command("prune_expired")


def test_expired_backchannel_requests_go_and_live_ones_stay(user, client_app, agent):
    from django_agent_obo.models import BackchannelRequest
    from tests.test_backchannel import start

    _old_body, old = start(client_app, agent)
    _live_body, live = start(client_app, agent)
    BackchannelRequest.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(days=3))
    assert "1 backchannel request(s)" in prune()
    assert list(BackchannelRequest.objects.values_list("pk", flat=True)) == [live.pk]
