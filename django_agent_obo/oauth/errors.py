"""Refusing a token request: the OAuth error (RFC 6749 §5.2) and the audit reason together."""

from __future__ import annotations

from typing import Any, NoReturn

from oauthlib.oauth2.rfc6749 import errors

from .. import issuance


def refuse(error_class: type[errors.OAuth2Error], reason: str, description: str, request: Any) -> NoReturn:
    """Raise an OAuth error and keep the machine-readable reason for the audit row."""
    issuance.of(request).reason = reason
    raise error_class(description=description, request=request)
