"""Refusing a token request: the declared reason (``refusals.py``) and the OAuth error it is
answered with, one oauthlib error class per error code (RFC 6749 §5.2 and its extensions)."""

from __future__ import annotations

from typing import Any, NoReturn

from oauthlib.oauth2.rfc6749 import errors
from oauthlib.oauth2.rfc8628 import errors as device_errors

from .. import dpop, issuance, refusals


class InvalidTargetError(errors.OAuth2Error):
    """RFC 8693 §2.2.2 / RFC 8707 §2: no token for the indicated target service."""

    error = "invalid_target"


class InvalidDPoPProofError(errors.OAuth2Error):
    """RFC 9449 §5.1 / §12.2."""

    error = "invalid_dpop_proof"
    status_code = 400


class UseDPoPNonceError(errors.OAuth2Error):
    """RFC 9449 §8: retry with the nonce of the ``DPoP-Nonce`` header."""

    error = "use_dpop_nonce"
    status_code = 400

    @property
    def headers(self) -> dict[str, str]:
        return {"DPoP-Nonce": nonces().current(), "Cache-Control": "no-store"}


class InvalidAuthorizationDetailsError(errors.OAuth2Error):
    """RFC 9396 §5 / §6.1: the authorization details are unknown, invalid or too wide."""

    error = "invalid_authorization_details"
    status_code = 400


class TooManyRequestsError(errors.OAuth2Error):
    error = "too_many_requests"
    status_code = 429
    description = "Too many token requests; retry later."


def nonces() -> dpop.Nonces:
    """The authorization server's DPoP nonces (the same in every process)."""
    return dpop.server_nonces("as")


ERROR_CLASSES: dict[str, type[errors.OAuth2Error]] = {
    cls.error: cls
    for cls in (
        errors.InvalidRequestError,
        errors.InvalidClientError,
        errors.InvalidGrantError,
        errors.UnauthorizedClientError,
        errors.UnsupportedGrantTypeError,
        errors.InvalidScopeError,
        device_errors.AccessDenied,
        device_errors.AuthorizationPendingError,
        device_errors.SlowDownError,
        device_errors.ExpiredTokenError,
        InvalidTargetError,
        InvalidDPoPProofError,
        UseDPoPNonceError,
        InvalidAuthorizationDetailsError,
        TooManyRequestsError,
    )
}


def refuse(reason: str, description: str, request: Any, *, error: str | None = None) -> NoReturn:
    """Raise the OAuth error of ``reason`` (its declared one, or ``error`` where this endpoint
    answers otherwise) and keep the reason for the audit row."""
    issuance.of(request).reason = reason
    code = error or refusals.get(reason).error or "invalid_request"
    raise ERROR_CLASSES.get(code, errors.InvalidRequestError)(description=description, request=request)
