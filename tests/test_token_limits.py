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


# --- issue #12 item 4: nobody locks a client out by naming its client_id ----------------------


def test_unauthenticated_posts_naming_a_client_do_not_lock_it_out(settings, agent):
    cache.clear()
    settings.AGENT_OBO = {
        **settings.AGENT_OBO,
        "TOKEN_RATE_LIMIT": "5/min",
        "TOKEN_FAILURE_RATE_LIMIT": "5/min",
    }
    attacker = Client()
    named = {"grant_type": "client_credentials", "client_id": agent.app.client_id}
    statuses = [attacker.post(TOKEN_URL, named).status_code for _ in range(12)]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    # The owner, from the very same address, authenticates and is counted on its own traffic.
    owner = [
        Client().post(TOKEN_URL, {"grant_type": "client_credentials"}, **agent.app.basic()).status_code
        for _ in range(5)
    ]
    assert owner == [200] * 5
    assert (
        Client().post(TOKEN_URL, {"grant_type": "client_credentials"}, **agent.app.basic()).status_code == 429
    )
    # One row when the address and the claimed id went over (same request), one for the owner.
    assert AuditEvent.objects.filter(event="token.refused", reason="rate_limited").count() == 2


def test_wrong_secrets_for_a_client_are_limited_per_claimed_id_across_addresses(settings, agent):
    cache.clear()
    settings.AGENT_OBO = {**settings.AGENT_OBO, "TOKEN_FAILURE_RATE_LIMIT": "3/min"}
    wrong = {"grant_type": "client_credentials", "client_id": agent.app.client_id, "client_secret": "guess"}
    statuses = [
        Client().post(TOKEN_URL, wrong, REMOTE_ADDR=f"198.51.100.{n}").status_code for n in range(1, 7)
    ]
    assert statuses == [401, 401, 401, 429, 429, 429]
    assert (
        Client().post(TOKEN_URL, {"grant_type": "client_credentials"}, **agent.app.basic()).status_code == 200
    )


def test_failures_from_one_address_are_limited_whatever_client_they_name(settings, agent):
    cache.clear()
    settings.AGENT_OBO = {**settings.AGENT_OBO, "TOKEN_FAILURE_RATE_LIMIT": "3/min"}
    statuses = [
        Client()
        .post(
            TOKEN_URL, {"grant_type": "client_credentials", "client_id": f"guess-{n}", "client_secret": "x"}
        )
        .status_code
        for n in range(6)
    ]
    assert statuses == [401, 401, 401, 429, 429, 429]
    elsewhere = Client().post(
        TOKEN_URL, {"grant_type": "client_credentials", "client_id": "guess-9"}, REMOTE_ADDR="203.0.113.7"
    )
    assert elsewhere.status_code == 401


def test_posts_naming_a_public_client_do_not_lock_its_devices_out(settings):
    """A public client "authenticates" by naming its client_id, which anyone can do: its
    requests are counted per address, never on a counter of its own that strangers could fill."""
    from oauth2_provider.models import get_application_model

    from tests.fixtures_device import DEVICE_AUTHORIZATION_URL, DEVICE_CODE, post_form

    cache.clear()
    settings.AGENT_OBO = {
        **settings.AGENT_OBO,
        "TOKEN_RATE_LIMIT": "5/min",
        "TOKEN_FAILURE_RATE_LIMIT": "5/min",
    }
    Application = get_application_model()
    cli = Application.objects.create(
        name="Calendar CLI",
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_DEVICE_CODE,
    )
    body = post_form(DEVICE_AUTHORIZATION_URL, {"client_id": cli.client_id, "scope": "calendar.read"}).json()
    named = {"grant_type": DEVICE_CODE, "client_id": cli.client_id, "device_code": "guess"}
    for n in range(1, 13):
        post_form(TOKEN_URL, named, REMOTE_ADDR=f"198.51.100.{n}")
    from_one_address = [
        post_form(TOKEN_URL, named, REMOTE_ADDR="198.51.100.200").status_code for _ in range(7)
    ]
    assert from_one_address[:5] == [400] * 5 and set(from_one_address[5:]) == {429}
    poll = {"grant_type": DEVICE_CODE, "client_id": cli.client_id, "device_code": body["device_code"]}
    device = post_form(TOKEN_URL, poll, REMOTE_ADDR="203.0.113.9")
    assert device.status_code == 400, device.content
    assert error_of(device) == "authorization_pending"


def test_wrong_secrets_naming_a_ciba_client_do_not_lock_out_its_polls(settings, user, client_app):
    """A CIBA poll authenticates the client: it is counted on the client's own traffic, not as
    an anonymous failure on the claimed id that wrong secrets from anywhere fill."""
    from tests.fixtures_backchannel import CIBA, bc_authorize, poll

    cache.clear()
    settings.AGENT_OBO = {**settings.AGENT_OBO, "TOKEN_FAILURE_RATE_LIMIT": "3/min"}
    auth_req_id = bc_authorize(client_app, login_hint=user.username).json()["auth_req_id"]
    wrong = {
        "grant_type": CIBA,
        "auth_req_id": "x",
        "client_id": client_app.client_id,
        "client_secret": "guess",
    }
    for n in range(1, 7):
        Client().post(TOKEN_URL, wrong, REMOTE_ADDR=f"198.51.100.{n}")
    answer = poll(client_app, auth_req_id)
    assert answer.status_code == 400, answer.content
    assert error_of(answer) == "authorization_pending"
