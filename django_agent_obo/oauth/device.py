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

import json
from typing import Any

from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.grant_types.base import GrantTypeBase

from .. import device, issuance
from ..backchannel import PollRefused
from ..dpop import DESCRIPTIONS
from ..issuance import DELEGATED, USER
from .errors import refuse

DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"


class DeviceCodeGrant(GrantTypeBase):
    """The token request of RFC 8628 §3.4. No refresh token: the device asks again."""

    def create_token_response(self, request: Any, token_handler: Any) -> tuple[dict[str, str], str, int]:
        headers = self._get_default_headers()
        try:
            self.validate_token_request(request)
        except errors.OAuth2Error as error:
            headers.update(error.headers)
            return headers, error.json, error.status_code
        token = token_handler.create_token(request, refresh_token=False)
        self.request_validator.save_token(token, request)
        return headers, json.dumps(token), 200

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
        grant = row.device_grant
        chain = [row.agent.actor_id] if row.agent is not None else []
        current.user, current.named_actors = grant.user, chain
        request.user = grant.user
        request.scopes = grant.scope.split()
        token, _ = self.request_validator.actor_token_param(request)
        if row.agent is None:
            if token:
                refuse("actor_token_for_plain_request", "This request was not made for an actor.", request)
            current.issue(USER, authorization_details=row.authorization_details)
        else:
            self.request_validator.prove_actor(request, row.agent)
            standing = row.agent_grant
            reason = standing.dead_reason() if standing is not None else "grant_missing"
            if standing is None or reason is not None:
                refuse(reason or "grant_missing", "The delegation has ended.", request, error="invalid_grant")
            current.issue(
                DELEGATED,
                agent=row.agent,
                agent_grant=standing,
                actor_chain=chain,
                max_expires_at=standing.expires_at,
                authorization_details=row.authorization_details,
            )
        for validator in self.custom_validators.post_token:
            validator(request)  # DPoP (RFC 9449): binds the token to the proof's key
        if row.dpop_jkt and current.dpop_jkt != row.dpop_jkt:
            # RFC 9449 §10 as for a code: the request bound the token to this key in advance.
            reason = "dpop_missing" if not current.dpop_jkt else "dpop_key_mismatch"
            refuse(reason, DESCRIPTIONS[reason], request, error="invalid_dpop_proof")
