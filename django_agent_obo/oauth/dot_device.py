"""The least that makes DOT 3.4.1's device views run with oauthlib 4.0.1 (NOTES-DOT §14).

``tests/test_device_dot.py`` shows each of DOT's behaviours below; when one changes, it fails
and says which line here to drop.

1. ``DeviceAuthorizationView`` builds ``DeviceCodeResponse(**answer)`` from oauthlib's answer,
   which also carries ``scope``: a ``TypeError`` (500) on every request.
   :func:`rfc8628_answer` keeps the RFC 8628 §3.2 members DOT's dataclass knows.
2. DOT passes ``OAUTH_DEVICE_VERIFICATION_URI`` (``None`` unless set) as the ``verification_uri``
   the answer MUST carry (§3.2): :func:`server_kwargs` fills in this site's ``/o/device/``.
3. The token request: oauthlib's ``DeviceCodeGrant`` calls a ``validate_device_code`` DOT's
   validator lacks, after DOT's pre-token hook ``set_oauthlib_user_to_device_request_user``,
   which reads the row with ``.get()`` (an unknown ``device_code`` is a 500). Our server replaces
   that grant (``oauth/device.py``), so neither runs.
4. DOT never marks a ``DeviceGrant`` used (an approved code would redeem again): the claim is
   ``DeviceAuthorization.redeemed_at`` (:func:`django_agent_obo.device.claim`).
5. DOT's ``TokenView.post`` answers device codes itself before oauthlib (a 404 for an unknown
   code, a 500 without one, no ``slow_down``, no single use); ``AgentTokenView`` calls DOT's
   ``authorization_flow_token_response`` for every grant, so device codes reach our grant too.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.urls import reverse
from oauth2_provider.models import DeviceCodeResponse
from oauth2_provider.settings import oauth2_settings

from ..tokens import issuer

RFC8628_FIELDS = frozenset(field.name for field in dataclasses.fields(DeviceCodeResponse))


def rfc8628_answer(answer: dict[str, Any]) -> dict[str, Any]:
    """oauthlib's device authorization answer without the members DOT cannot take (1.)."""
    return {name: value for name, value in answer.items() if name in RFC8628_FIELDS}


def server_kwargs() -> dict[str, Any]:
    """DOT's server arguments, with this site's verification URIs where none is set (2.)."""
    kwargs = dict(oauth2_settings.server_kwargs)
    if not kwargs.get("verification_uri"):
        kwargs["verification_uri"] = issuer() + reverse("oauth2_provider:device")
        if not kwargs.get("verification_uri_complete"):
            kwargs["verification_uri_complete"] = kwargs["verification_uri"] + "?user_code={user_code}"
    return kwargs
