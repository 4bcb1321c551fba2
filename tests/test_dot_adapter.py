"""What ``oauth/dot_adapter.py`` assumes of DOT below its public API: each test fails loudly
when a DOT release changes the behaviour the adapter is built on. The device-flow tests are
numbered as the module's device items: when one fails, DOT changed; drop that item (and its
test), then run tests/test_device.py."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import DeviceCodeResponse, get_device_grant_model, get_grant_model
from oauth2_provider.oauth2_backends import OAuthLibCore
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.utils import set_oauthlib_user_to_device_request_user
from oauth2_provider.views import TokenView
from oauthlib.common import Request

from django_agent_obo import issuance
from django_agent_obo.oauth import dot_adapter


def test_the_issuance_reaches_oauthlib_with_the_request_headers():
    django_request = RequestFactory().post("/o/token/", {"grant_type": "client_credentials"})
    current = issuance.Issuance(ip="203.0.113.9")
    dot_adapter.attach(django_request, current)
    headers = OAuthLibCore().extract_headers(django_request)
    oauthlib_request = Request("https://as.example/o/token/", http_method="POST", headers=headers)
    assert issuance.find(oauthlib_request) is current
    assert dot_adapter.attached(django_request) is current


def test_a_client_cannot_send_an_issuance_as_a_header():
    django_request = RequestFactory().post("/o/token/", HTTP_AGENT_OBO_ISSUANCE="forged")
    headers = OAuthLibCore().extract_headers(django_request)
    assert issuance.find(Request("https://as.example/o/token/", headers=headers)) is None


EXPECTED_SIGNATURES = {
    "_save_bearer_token": ["self", "token", "request", "args", "kwargs"],
    "_create_access_token": ["self", "expires", "request", "token", "source_refresh_token"],
    "_create_refresh_token": [
        "self",
        "request",
        "refresh_token_code",
        "access_token",
        "previous_refresh_token",
    ],
    "_check_and_set_request_resource": ["self", "request"],
    "_validate_resource_uris": ["self", "request", "resources"],
    "_extract_basic_auth": ["self", "request"],
    "_load_application": ["self", "client_id", "request"],
}


def test_the_private_methods_keep_their_signatures():
    for name, parameters in EXPECTED_SIGNATURES.items():
        assert list(inspect.signature(getattr(OAuth2Validator, name)).parameters) == parameters, name


class _Recording(OAuth2Validator):
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def _create_access_token(
        self, expires: Any, request: Any, token: Any, source_refresh_token: Any = None
    ) -> Any:
        access_token = super()._create_access_token(expires, request, token, source_refresh_token)
        self.calls.append(("access", access_token))
        return access_token

    def _create_refresh_token(self, request: Any, code: str, access_token: Any, previous: Any) -> Any:
        self.calls.append(("refresh", access_token))
        return super()._create_refresh_token(request, code, access_token, previous)


def _token_request(client_app: Any, user: Any, grant_type: str) -> Request:
    request = Request("https://as.example/o/token/", http_method="POST")
    request.client, request.user, request.grant_type = client_app.model, user, grant_type
    request.scopes, request.code = ["calendar.read"], "not-a-code"
    return request


def test_save_bearer_token_creates_the_access_token_then_its_refresh_token(client_app, user):
    validator = _Recording()
    token = {"access_token": "a" * 40, "refresh_token": "r" * 40, "scope": "calendar.read", "expires_in": 60}
    validator._save_bearer_token(token, _token_request(client_app, user, "authorization_code"))
    assert [kind for kind, _ in validator.calls] == ["access", "refresh"]
    assert validator.calls[0][1] is validator.calls[1][1]  # the refresh token is for that row


def test_without_a_refresh_token_only_the_access_token_is_created(client_app, user):
    validator = _Recording()
    token = {"access_token": "b" * 40, "scope": "calendar.read", "expires_in": 60}
    validator._save_bearer_token(token, _token_request(client_app, user, "client_credentials"))
    assert [kind for kind, _ in validator.calls] == ["access"]


def test_resource_check_reads_the_grant_only_for_a_code(client_app, user):
    grant_table = get_grant_model()._meta.db_table
    for grant_type, reads in (("authorization_code", 1), (None, 0)):
        request = _token_request(client_app, user, grant_type)  # type: ignore[arg-type]
        with CaptureQueriesContext(connection) as queries:
            OAuth2Validator()._check_and_set_request_resource(request)
        assert sum(grant_table in q["sql"] for q in queries.captured_queries) == reads, grant_type
        assert request.resource == []


ANSWER = {
    "verification_uri": "https://as.example/o/device/",
    "expires_in": 1800,
    "user_code": "ABCD1234",
    "device_code": "x" * 40,
    "interval": 5,
    "scope": "calendar.read",  # oauthlib 4.0.1 adds it
}


def test_device_1_dot_cannot_take_oauthlibs_answer():
    with pytest.raises(TypeError, match="scope"):
        DeviceCodeResponse(**ANSWER)
    assert DeviceCodeResponse(**dot_adapter.rfc8628_answer(ANSWER)).user_code == "ABCD1234"


def test_device_2_dot_has_no_verification_uri_by_default():
    assert oauth2_settings.server_kwargs["verification_uri"] is None
    assert dot_adapter.device_server_kwargs()["verification_uri"].endswith("/o/device/")


def test_device_3_pre_token_hook_fails_on_an_unknown_code_and_no_validate_device_code():
    assert set_oauthlib_user_to_device_request_user in oauth2_settings.OAUTH_PRE_TOKEN_VALIDATION
    request = Request("https://as.example/o/token/", body="device_code=unknown")
    with pytest.raises(get_device_grant_model().DoesNotExist):
        set_oauthlib_user_to_device_request_user(request)
    assert not hasattr(OAuth2Validator, "validate_device_code")


def test_device_4_dot_has_no_used_state_for_a_device_grant():
    model = get_device_grant_model()
    assert {value for value, _ in model.DEVICE_FLOW_STATUS} == {
        model.AUTHORIZED,
        model.AUTHORIZATION_PENDING,
        model.EXPIRED,
        model.DENIED,
    }


def test_device_5_dots_token_view_answers_device_codes_itself():
    request = RequestFactory().post(
        "/o/token/", {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": "unknown"}
    )
    assert TokenView.as_view()(request).status_code == 404  # not an RFC 6749 §5.2 error
