"""DOT 3.4.1's own device flow behaviour under ``oauth/dot_device.py`` (NOTES-DOT §14).

Each test shows one behaviour the adapter works around. When one fails, DOT changed: drop the
numbered item of ``dot_device.py`` it names (and this test), then run tests/test_device.py.
"""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from oauth2_provider.models import DeviceCodeResponse, get_device_grant_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.utils import set_oauthlib_user_to_device_request_user
from oauth2_provider.views import TokenView
from oauthlib.common import Request

from django_agent_obo.oauth.dot_device import rfc8628_answer, server_kwargs

ANSWER = {
    "verification_uri": "https://as.example/o/device/",
    "expires_in": 1800,
    "user_code": "ABCD1234",
    "device_code": "x" * 40,
    "interval": 5,
    "scope": "calendar.read",  # oauthlib 4.0.1 adds it
}


def test_1_dot_cannot_take_oauthlibs_answer():
    with pytest.raises(TypeError, match="scope"):
        DeviceCodeResponse(**ANSWER)
    assert DeviceCodeResponse(**rfc8628_answer(ANSWER)).user_code == "ABCD1234"


def test_2_dot_has_no_verification_uri_by_default():
    assert oauth2_settings.server_kwargs["verification_uri"] is None
    assert server_kwargs()["verification_uri"].endswith("/o/device/")


def test_3_dots_pre_token_hook_fails_on_an_unknown_device_code_and_validator_lacks_validate_device_code():
    assert set_oauthlib_user_to_device_request_user in oauth2_settings.OAUTH_PRE_TOKEN_VALIDATION
    request = Request("https://as.example/o/token/", body="device_code=unknown")
    with pytest.raises(get_device_grant_model().DoesNotExist):
        set_oauthlib_user_to_device_request_user(request)
    assert not hasattr(OAuth2Validator, "validate_device_code")


def test_4_dot_has_no_used_state_for_a_device_grant():
    model = get_device_grant_model()
    assert {value for value, _ in model.DEVICE_FLOW_STATUS} == {
        model.AUTHORIZED,
        model.AUTHORIZATION_PENDING,
        model.EXPIRED,
        model.DENIED,
    }


def test_5_dots_token_view_answers_device_codes_itself():
    request = RequestFactory().post(
        "/o/token/", {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": "unknown"}
    )
    assert TokenView.as_view()(request).status_code == 404  # not an RFC 6749 §5.2 error
