"""The CIBA grant type: ``grant_type=urn:openid:params:grant-type:ciba`` (CIBA Core 1.0 §10.1).

The client authenticates as for any confidential grant and sends ``auth_req_id``; a request
that named an actor also needs that agent's ``actor_token`` (draft -02 §5, as for a code).
Until the user answers: ``authorization_pending``; faster than the interval: ``slow_down``;
then ``expired_token`` or ``access_denied`` (CIBA §11). One approval yields one token: the
claim is :func:`django_agent_obo.backchannel.poll`, under the request's row lock.
"""

from __future__ import annotations

from typing import Any

from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors
from oauthlib.openid.connect.core.grant_types.base import GrantTypeBase as OpenIDGrantTypeBase

from .. import backchannel, issuance
from . import throttle
from .errors import refuse
from .grants import TokenGrant, redeem_approval

CIBA = "urn:openid:params:grant-type:ciba"


class CibaGrant(TokenGrant):
    """The token request of CIBA poll and ping modes (§10.1). A refresh token is issued as for
    a code; its refresh keeps ``act`` and re-proves the agent (the refresh grant's rules)."""

    id_token_hash = OpenIDGrantTypeBase.id_token_hash  # used by add_id_token (at_hash)

    def complete(self, token: dict[str, Any], token_handler: Any, request: Any) -> dict[str, Any]:
        if oauth2_settings.OIDC_ENABLED and "openid" in request.scopes:
            request.response_type = None  # CIBA §10.1.1: an ID token, as for a code
            token = OpenIDGrantTypeBase.add_id_token(self, token, token_handler, request)
        return token

    def validate_token_request(self, request: Any) -> None:
        if request.grant_type != CIBA:
            raise errors.UnsupportedGrantTypeError(request=request)
        self.validate_client_confidential(request)
        throttle.count_authenticated(request)  # the client's own traffic (oauth/throttle.py)
        auth_req_id = getattr(request, "auth_req_id", None)
        if not auth_req_id:
            refuse("auth_req_id_missing", "auth_req_id is required.", request)
        try:
            row = backchannel.poll(str(auth_req_id), request.client)
        except backchannel.PollRefused as refusal:
            issuance.of(request).keep_writes = refusal.keep_writes
            refuse(refusal.reason, refusal.description, request, error=refusal.error)
        redeem_approval(
            self.request_validator,
            request,
            user=row.user,
            scope=row.scope,
            agent=row.agent,
            agent_grant=row.agent_grant,
            authorization_details=row.authorization_details,
        )
        self.run_post_token_hooks(request)  # DPoP binding (server.py)
