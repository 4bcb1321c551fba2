"""The resource-server toolkit: validate our access tokens locally and enforce policy.

See docs/protecting-an-api.md. DRF users: ``django_agent_obo.contrib.rest_framework``.
"""

from .authorization_details import detail_required, require_detail
from .challenges import challenge_response
from .decorators import token_required
from .middleware import AccessTokenMiddleware
from .policy import Denied, Policy
from .proof import DPoPTokenError, validate_request
from .request import bearer_token, token_info
from .validation import AccessTokenInfo, TokenError, validate_access_token

__all__ = [
    "AccessTokenInfo",
    "AccessTokenMiddleware",
    "DPoPTokenError",
    "Denied",
    "Policy",
    "TokenError",
    "bearer_token",
    "challenge_response",
    "detail_required",
    "require_detail",
    "token_info",
    "token_required",
    "validate_access_token",
    "validate_request",
]
