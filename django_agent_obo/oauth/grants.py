"""What this package's own grant types share (token exchange, CIBA, the device code).

:class:`TokenGrant` is the response of each: validate (which runs the grant's hooks), let
oauthlib's token handler sign, complete the token, save. :func:`redeem_approval` is the second
half of the two grants that redeem a user's answer given elsewhere (CIBA §10.1, RFC 8628 §3.4):
a request that named an actor needs that agent's ``actor_token`` (draft -02 §5, as for a code),
a plain one may not carry one, and the token is the approval's delegated or user token.
"""

from __future__ import annotations

import json
from typing import Any

from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc6749.grant_types.base import GrantTypeBase

from .. import issuance
from ..issuance import USER
from ..models import Agent, AgentGrant
from .errors import refuse


class TokenGrant(GrantTypeBase):
    """A grant type whose whole token request is :meth:`validate_token_request`; issues a
    refresh token when ``refresh_token`` is set."""

    def create_token_response(self, request: Any, token_handler: Any) -> tuple[dict[str, str], str, int]:
        headers = self._get_default_headers()
        try:
            self.validate_token_request(request)
        except errors.OAuth2Error as error:
            headers.update(error.headers)
            return headers, error.json, error.status_code
        token = token_handler.create_token(request, refresh_token=self.refresh_token)
        token = self.complete(token, token_handler, request)
        self.request_validator.save_token(token, request)
        return headers, json.dumps(token), 200

    def complete(self, token: dict[str, Any], token_handler: Any, request: Any) -> dict[str, Any]:
        """The token response's members beyond RFC 6749 §5.1 (none by default)."""
        return token

    def run_post_token_hooks(self, request: Any) -> None:
        """RFC 9396 details and DPoP (``server.py``): after the grant's own checks."""
        for validator in self.custom_validators.post_token:
            validator(request)


def redeem_approval(
    validator: Any,
    request: Any,
    *,
    user: Any,
    scope: str,
    agent: Agent | None,
    agent_grant: AgentGrant | None,
    authorization_details: list[dict[str, Any]] | None,
) -> None:
    """The token of a request the user approved: its user and scope, and with an actor, that
    agent proven by its actor token and the delegation still alive."""
    current = issuance.of(request)
    chain = [agent.actor_id] if agent is not None else []
    current.user, current.named_actors = user, chain
    request.user, request.scopes = user, scope.split()
    token, _ = validator.actor_token_param(request)
    if agent is None:
        if token:
            refuse("actor_token_for_plain_request", "This request was not made for an actor.", request)
        current.issue(USER, authorization_details=authorization_details)
        return
    validator.issue_delegated(
        request, agent, agent_grant, actor_chain=chain, authorization_details=authorization_details
    )
