"""Admins set "require DPoP" per agent and per client; the token endpoint then enforces it."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from django_agent_obo.models import Agent, ClientDPoPPolicy
from tests.conftest import TOKEN_URL, make_app
from tests.fixtures_audit import admin_client
from tests.fixtures_dpop import DPoPKey
from tests.test_admin import agent_form


def test_an_admin_requires_dpop_for_an_agent(django_user_model, client_app):
    browser, _ = admin_client(django_user_model)
    response = browser.post(
        reverse("admin:django_agent_obo_agent_add"), agent_form(client_app, require_dpop="on")
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Agent.objects.get(actor_id="agent:travel").require_dpop is True


def test_an_admin_requires_dpop_for_a_client(django_user_model):
    browser, _ = admin_client(django_user_model)
    machine = make_app("Machine client", grant="client-credentials")
    add = reverse("admin:django_agent_obo_clientdpoppolicy_add")
    assert browser.get(add).status_code == 200
    response = browser.post(add, {"application": machine.model.pk, "require_dpop": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert ClientDPoPPolicy.objects.get(application=machine.model).require_dpop
    listing = browser.get(reverse("admin:django_agent_obo_clientdpoppolicy_changelist"))
    assert "Machine client" in listing.content.decode()

    bare = Client().post(TOKEN_URL, {"grant_type": "client_credentials"}, **machine.basic())
    assert bare.status_code == 400 and bare.json()["error"] == "invalid_dpop_proof"
    proven = Client().post(
        TOKEN_URL, {"grant_type": "client_credentials"}, HTTP_DPOP=DPoPKey().proof(), **machine.basic()
    )
    assert proven.status_code == 200 and proven.json()["token_type"] == "DPoP"
