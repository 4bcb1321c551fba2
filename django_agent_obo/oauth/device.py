"""The device code grant: ``grant_type=urn:ietf:params:oauth:grant-type:device_code`` (RFC 8628 §3.4).

Replaces oauthlib's ``DeviceCodeGrant`` in our server: that one needs a validator
``validate_device_code`` DOT does not provide, and runs DOT's pre-token hook, which answers an
unknown ``device_code`` with a 500 (``oauth/dot_adapter.py``). The client authenticates as at the
token endpoint (a public client by its ``client_id``); a request that named an actor needs that
agent's ``actor_token`` (draft -02 §5, as for a code). Until the user answers:
``authorization_pending``; faster than the interval: ``slow_down``; then ``expired_token`` or
``access_denied`` (§3.5). One approval yields one token: :func:`django_agent_obo.device.claim`.
"""

from __future__ import annotations

from typing import Any

from oauthlib.oauth2.rfc6749 import errors

from .. import device, issuance
from ..backchannel import PollRefused
from ..dpop import DESCRIPTIONS
from .errors import refuse
from .grants import TokenGrant, redeem_approval

DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"


class DeviceCodeGrant(TokenGrant):
    """The token request of RFC 8628 §3.4. No refresh token: the device asks again."""

    refresh_token = False

    def validate_token_request(self, request: Any) -> None:
        if request.grant_type != DEVICE_CODE:
            raise errors.UnsupportedGrantTypeError(request=request)
        self.validate_client_authentication(request)
        self.validate_grant_type(request)
        current = issuance.of(request)
        device_code = getattr(request, "device_code", None)
        if not device_code:
            refuse("device_code_missing", "device_code is required.", request)
        try:
            row = device.claim(str(device_code), request.client)
        except PollRefused as refusal:
            current.keep_writes = refusal.keep_writes
            refuse(refusal.reason, refusal.description, request, error=refusal.error)
        redeem_approval(
            self.request_validator,
            request,
            user=row.device_grant.user,
            scope=row.device_grant.scope,
            agent=row.agent,
            agent_grant=row.agent_grant,
            authorization_details=row.authorization_details,
        )
        self.run_post_token_hooks(request)  # DPoP (RFC 9449): binds the token to the proof's key
        if row.dpop_jkt and current.dpop_jkt != row.dpop_jkt:
            # RFC 9449 §10 as for a code: the request bound the token to this key in advance.
            reason = "dpop_missing" if not current.dpop_jkt else "dpop_key_mismatch"
            refuse(reason, DESCRIPTIONS[reason], request, error="invalid_dpop_proof")
