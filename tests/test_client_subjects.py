"""A client's own token never carries a user's ``sub`` (RFC 9068 §5; issue #12 item 1)."""

from __future__ import annotations

import secrets

from django.core.management import call_command
from django.test import Client
from oauth2_provider.models import get_application_model

from django_agent_obo.adapter import DefaultAgentOBOAdapter
from django_agent_obo.models import AuditEvent
from django_agent_obo.resource import validate_access_token
from tests.conftest import PASSWORD, TOKEN_URL, App, decode_unverified, error_of, get_code, logged_in, redeem


def _client_credentials(app: App) -> str:
    form = {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": app.secret}
    response = Client().post(TOKEN_URL, form)
    assert response.status_code == 200, response.content
    return str(response.json()["access_token"])


def _client_named(client_id: str, user=None) -> App:
    Application = get_application_model()
    secret = secrets.token_urlsafe(24)
    model = Application.objects.create(
        name="Look-alike",
        client_id=client_id,
        client_secret=secret,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        user=user,
    )
    return App(model, client_id, secret)


def test_a_client_whose_id_is_a_users_subject_gets_a_client_subject(user, other_user):
    token = _client_credentials(_client_named(str(user.pk), user=other_user))
    assert decode_unverified(token)["sub"] == f"client:{user.pk}"
    whoami = Client().get("/api/whoami/", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert whoami["sub"] != str(user.pk)
    info = validate_access_token(token)
    assert info.kind == "client" and info.user.is_anonymous


def test_a_client_cannot_take_the_client_namespace_of_a_user_either(user):
    """Even a client id shaped like a prefixed subject stays inside the client namespace."""
    token = _client_credentials(_client_named(f"client:{user.pk}"))
    assert decode_unverified(token)["sub"] == f"client:client:{user.pk}"


def test_user_tokens_keep_the_adapters_subject(user, client_app):
    code, verifier = get_code(logged_in(user), client_app)
    token = redeem(client_app, code, verifier).json()["access_token"]
    assert decode_unverified(token)["sub"] == str(user.pk)
    assert validate_access_token(token).kind == "user"


class ClientLookingAdapter(DefaultAgentOBOAdapter):
    def get_subject(self, user):
        return f"client:{user.username}"


def test_an_adapter_subject_in_the_client_namespace_is_refused(settings, user, client_app):
    settings.AGENT_OBO = {**settings.AGENT_OBO, "ADAPTER": "tests.test_client_subjects.ClientLookingAdapter"}
    code, verifier = get_code(logged_in(user), client_app)
    response = redeem(client_app, code, verifier)
    assert response.status_code == 400 and error_of(response) == "invalid_grant"
    assert AuditEvent.objects.filter(event="token.refused", reason="subject_reserved").exists()


def test_ordinary_users_cannot_reach_application_registration(user, django_user_model):
    browser = logged_in(user)
    assert browser.get("/o/applications/register/").status_code == 403
    assert browser.get("/o/applications/").status_code == 403
    form = {
        "name": "mine",
        "client_id": "1",
        "client_secret": "s" * 20,
        "client_type": "confidential",
        "authorization_grant_type": "client-credentials",
        "algorithm": "",
    }
    assert browser.post("/o/applications/register/", form).status_code == 403
    assert not get_application_model().objects.filter(client_id="1").exists()
    assert Client().get("/o/applications/register/").status_code == 302  # to the login page
    staff = django_user_model.objects.create_user("staff", password=PASSWORD, is_staff=True)
    assert logged_in(staff).get("/o/applications/register/").status_code == 200
    assert browser.get("/o/authorized_tokens/").status_code == 200  # users still see their tokens


def test_dots_createapplication_still_works():
    call_command(
        "createapplication",
        "confidential",
        "client-credentials",
        "--client-id=made-by-command",
        "--client-secret=command-secret-long-and-random-0123456789abcdef",
        "--name=Command app",
        verbosity=0,
    )
    app = App(
        get_application_model().objects.get(client_id="made-by-command"),
        "made-by-command",
        "command-secret-long-and-random-0123456789abcdef",
    )
    assert decode_unverified(_client_credentials(app))["sub"] == "client:made-by-command"
