"""The oauthlib server class (DOT's ``OAUTH2_SERVER_CLASS``) with our checks wired in."""

from __future__ import annotations

from typing import Any

from oauthlib.common import generate_token
from oauthlib.oauth2 import Server
from oauthlib.oauth2.rfc6749 import errors

from .. import issuance
from ..tokens import SubjectReserved, generate_access_token, lifetime
from .backchannel import CIBA, CibaGrant
from .details import settle_authorization_details
from .device import DEVICE_CODE, DeviceCodeGrant
from .dpop_binding import bind_dpop_proof
from .exchange import TOKEN_EXCHANGE, TokenExchangeGrant


def _generate_access_token(request: Any) -> str:
    """:func:`generate_access_token`; a user ``sub`` the adapter put in the clients'
    namespace (RFC 9068 §5) refuses the token instead of minting a look-alike."""
    try:
        return generate_access_token(request)
    except SubjectReserved as exc:
        issuance.of(request).reason = "subject_reserved"
        raise errors.InvalidGrantError(
            description="This user's subject identifier is reserved for clients.", request=request
        ) from exc


class AgentOBOServer(Server):
    """oauthlib's all-grants server plus RFC 8693 token exchange, signing RFC 9068 JWTs
    and checking actors.

    Access tokens always come from :func:`~django_agent_obo.tokens.generate_access_token`
    with :func:`~django_agent_obo.tokens.lifetime`; refresh tokens stay opaque random strings.
    """

    def __init__(self, request_validator: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["token_expires_in"] = lifetime
        kwargs["token_generator"] = _generate_access_token
        kwargs["refresh_token_generator"] = kwargs.get("refresh_token_generator") or (
            lambda request: generate_token()
        )
        super().__init__(request_validator, *args, **kwargs)
        self.auth_grant.custom_validators.post_token.append(request_validator.bind_actor_to_token_request)
        self.credentials_grant.custom_validators.post_token.append(
            request_validator.classify_client_credentials
        )
        self.refresh_grant.custom_validators.post_token.append(request_validator.continue_lineage_on_refresh)
        self.exchange_grant = TokenExchangeGrant(request_validator)
        self.grant_types[TOKEN_EXCHANGE] = self.exchange_grant
        self.ciba_grant = CibaGrant(request_validator)
        self.grant_types[CIBA] = self.ciba_grant
        self.device_code_grant = DeviceCodeGrant(request_validator)  # RFC 8628, not oauthlib's (#16)
        self.grant_types[DEVICE_CODE] = self.device_code_grant
        for grant in (self.auth_grant, self.refresh_grant, self.credentials_grant, self.exchange_grant):
            grant.custom_validators.post_token.append(settle_authorization_details)  # RFC 9396 §6
        # RFC 9449: every grant binds its token to a DPoP proof's key (keep this last).
        for grant in dict.fromkeys(self.grant_types.values()):
            grant.custom_validators.post_token.append(bind_dpop_proof)
