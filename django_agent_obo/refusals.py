"""Refusals raised by the public hooks (the adapter's, RFC 9396 detail types) and the modules
both the authorization server and the resource toolkit use; imports nothing of either."""

from __future__ import annotations


class DelegationRefused(Exception):
    """An authorization request names an actor we will not show consent for.

    ``error`` is the OAuth error code (RFC 6749 §4.1.2.1), ``reason`` the audit reason.
    """

    def __init__(self, error: str, reason: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.reason = reason
        self.description = description
