"""The CIBA grant type: ``grant_type=urn:openid:params:grant-type:ciba`` (CIBA Core 1.0 §10.1).

The client authenticates as for any confidential grant and sends ``auth_req_id``; a request
that named an actor also needs that agent's ``actor_token`` (draft -02 §5, as for a code).
Until the user answers: ``authorization_pending``; faster than the interval: ``slow_down``;
then ``expired_token`` or ``access_denied`` (CIBA §11). One approval yields one token: the
claim is :func:`django_agent_obo.backchannel.poll`, under the request's row lock.
"""

from __future__ import annotations

import json
from typing import Any

from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.grant_types.base import GrantTypeBase
from oauthlib.openid.connect.core.grant_types.base import GrantTypeBase as OpenIDGrantTypeBase

from .. import backchannel, issuance
from ..issuance import DELEGATED, USER
from .errors import refuse

CIBA = "urn:openid:params:grant-type:ciba"


class CibaGrant(GrantTypeBase):
    """The token request of CIBA poll and ping modes (§10.1). A refresh token is issued as for
    a code; its refresh keeps ``act`` and re-proves the agent (the refresh grant's rules)."""

    id_token_hash = OpenIDGrantTypeBase.id_token_hash  # used by add_id_token (at_hash)

    def create_token_response(self, request: Any, token_handler: Any) -> tuple[dict[str, str], str, int]:
        headers = self._get_default_headers()
        try:
            self.validate_token_request(request)
            for validator in self.custom_validators.post_token:  # DPoP binding (server.py)
                validator(request)
        except errors.OAuth2Error as error:
            headers.update(error.headers)
            return headers, error.json, error.status_code
        token = token_handler.create_token(request, refresh_token=True)
        if oauth2_settings.OIDC_ENABLED and "openid" in request.scopes:
            request.response_type = None  # CIBA §10.1.1: an ID token, as for a code
            token = OpenIDGrantTypeBase.add_id_token(self, token, token_handler, request)
        self.request_validator.save_token(token, request)
        return headers, json.dumps(token), 200

    def validate_token_request(self, request: Any) -> None:
        if request.grant_type != CIBA:
            raise errors.UnsupportedGrantTypeError(request=request)
        self.validate_client_confidential(request)
        current = issuance.of(request)
        auth_req_id = getattr(request, "auth_req_id", None)
        if not auth_req_id:
            refuse("auth_req_id_missing", "auth_req_id is required.", request)
        try:
            row = backchannel.poll(str(auth_req_id), request.client)
        except backchannel.PollRefused as refusal:
            current.keep_writes = refusal.keep_writes
            refuse(refusal.reason, refusal.description, request, error=refusal.error)
        chain = [row.agent.actor_id] if row.agent is not None else []
        current.user, current.named_actors = row.user, chain
        request.user = row.user
        request.scopes = row.scope.split()
        token, _ = self.request_validator.actor_token_param(request)
        if row.agent is None:
            if token:
                refuse("actor_token_for_plain_request", "This request was not made for an actor.", request)
            current.issue(USER, authorization_details=row.authorization_details)
            return
        self.request_validator.prove_actor(request, row.agent)
        grant = row.agent_grant
        reason = grant.dead_reason() if grant is not None else "grant_missing"
        if grant is None or reason is not None:
            refuse(reason or "grant_missing", "The delegation has ended.", request, error="invalid_grant")
        current.issue(
            DELEGATED,
            agent=row.agent,
            agent_grant=grant,
            actor_chain=chain,
            max_expires_at=grant.expires_at,
            authorization_details=row.authorization_details,
        )
