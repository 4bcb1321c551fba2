"""The shipped client-secret hasher: fast for machine secrets, refuses weak ones, upgrades PBKDF2."""

from __future__ import annotations

import secrets

import pytest
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.test import Client
from oauth2_provider.models import get_application_model

from django_agent_obo.client_secrets import ALGORITHM, HASHER_PATH, WeakClientSecret
from tests.conftest import TOKEN_URL, App

PBKDF2 = "django.contrib.auth.hashers.PBKDF2PasswordHasher"
MD5 = "django.contrib.auth.hashers.MD5PasswordHasher"


def agent_client(secret: str) -> App:
    Application = get_application_model()
    model = Application.objects.create(
        name="Secret client",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
    )
    return App(model=model, client_id=model.client_id, secret="")


def token_request(app: App, secret: str):
    return Client().post(
        TOKEN_URL, {"grant_type": "client_credentials"}, **App(app.model, app.client_id, secret).basic()
    )


def test_a_generated_secret_round_trips_salted():
    secret = secrets.token_urlsafe(32)
    first, second = make_password(secret, hasher=ALGORITHM), make_password(secret, hasher=ALGORITHM)
    assert first.startswith(ALGORITHM + "$") and first != second  # a salt of its own each time
    assert check_password(secret, first) and check_password(secret, second)
    assert not check_password(secret + "x", first)
    assert not check_password(secret, first[:-1] + ("0" if first[-1] != "0" else "1"))


def test_the_example_project_checks_client_secrets_fast_and_passwords_slowly():
    from example_project import settings as example

    assert example.PASSWORD_HASHERS[0] == PBKDF2  # users keep Django's slow hasher
    assert example.PASSWORD_HASHERS[-1] == HASHER_PATH
    assert example.OAUTH2_PROVIDER["CLIENT_SECRET_HASHER"] == ALGORITHM


def test_a_dot_generated_secret_is_stored_with_the_fast_hasher_and_authenticates():
    from oauth2_provider.generators import generate_client_secret

    secret = generate_client_secret()
    app = agent_client(secret)
    app.model.refresh_from_db()
    assert app.model.client_secret.startswith(ALGORITHM + "$")
    assert token_request(app, secret).status_code == 200
    assert token_request(app, secret[:-1]).status_code == 401


@pytest.mark.parametrize(
    "weak",
    ["short-secret", "a" * 64, "abab" * 20, secrets.token_hex(8), "correct horse battery staple!!!!!"],
)
def test_a_short_or_low_entropy_secret_is_refused(weak):
    with pytest.raises(WeakClientSecret):
        make_password(weak, hasher=ALGORITHM)
    with pytest.raises(WeakClientSecret), transaction.atomic():
        agent_client(weak)
    assert not get_application_model().objects.filter(name="Secret client").exists()


def test_a_pbkdf2_hashed_secret_keeps_working_and_is_upgraded_on_its_next_successful_use(settings):
    settings.PASSWORD_HASHERS = [MD5, PBKDF2, HASHER_PATH]
    secret = secrets.token_urlsafe(32)
    app = agent_client(make_password(secret, hasher="pbkdf2_sha256"))  # stored as before this release
    app.model.refresh_from_db()
    assert app.model.client_secret.startswith("pbkdf2_sha256$")

    assert token_request(app, "wrong-" + secret).status_code == 401
    app.model.refresh_from_db()
    assert app.model.client_secret.startswith("pbkdf2_sha256$")  # a failed check changes nothing

    assert token_request(app, secret).status_code == 200
    app.model.refresh_from_db()
    assert app.model.client_secret.startswith(ALGORITHM + "$")
    assert token_request(app, secret).status_code == 200  # the upgraded hash checks the same secret
    assert token_request(app, "wrong-" + secret).status_code == 401


def test_a_weak_secret_hashed_by_pbkdf2_keeps_its_slow_hash(settings):
    settings.PASSWORD_HASHERS = [MD5, PBKDF2, HASHER_PATH]
    app = agent_client(make_password("hunter2", hasher="pbkdf2_sha256"))
    assert token_request(app, "hunter2").status_code == 200
    app.model.refresh_from_db()
    assert app.model.client_secret.startswith("pbkdf2_sha256$")


def test_a_secret_stored_in_clear_is_left_alone():
    Application = get_application_model()
    secret = secrets.token_urlsafe(32)
    model = Application.objects.create(
        name="Clear",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
        hash_client_secret=False,
    )
    assert token_request(App(model, model.client_id, ""), secret).status_code == 200
    model.refresh_from_db()
    assert model.client_secret == secret


def test_a_weak_secret_typed_into_the_admin_is_a_form_error_not_a_500(admin_client):
    page = admin_client.get("/admin/oauth2_provider/application/add/")
    assert page.status_code == 200
    form = {
        "client_id": "typed-" + secrets.token_hex(4),
        "client_secret": "hunter2",
        "client_type": "confidential",
        "authorization_grant_type": "client-credentials",
        "name": "Typed",
        "algorithm": "",
        "hash_client_secret": "on",
        "redirect_uris": "",
        "post_logout_redirect_uris": "",
        "allowed_origins": "",
    }
    response = admin_client.post("/admin/oauth2_provider/application/add/", form)
    assert response.status_code == 200
    assert b"too weak to store" in response.content
    assert not get_application_model().objects.filter(name="Typed").exists()
    form["client_secret"] = secrets.token_urlsafe(32)
    assert admin_client.post("/admin/oauth2_provider/application/add/", form).status_code == 302
    assert get_application_model().objects.get(name="Typed").client_secret.startswith(ALGORITHM + "$")
