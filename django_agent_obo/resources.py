"""The protected resources this site describes (RFC 9728), by resource identifier.

Neutral ground for the authorization server (which publishes the metadata documents) and the
resource toolkit (whose challenges point at them): neither imports the other. Each identifier
gets its path-aware document (RFC 9728 §3.1): ``https://host/api/`` is described at
``https://host/.well-known/oauth-protected-resource/api/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from .conf import agent_obo_settings

WELL_KNOWN = "/.well-known/oauth-protected-resource"
# An authorization-server scope (SEP-2207, OIDC Core §11): never a resource's to require.
OFFLINE_ACCESS = "offline_access"


@dataclass(frozen=True)
class ProtectedResource:
    """One resource identifier and what its metadata document says besides the defaults."""

    identifier: str
    scopes: tuple[str, ...] | None = None  # None: every scope of the authorization server
    name: str = ""

    @property
    def metadata_path(self) -> str:
        """The path of the path-aware document (RFC 9728 §3.1: the identifier's path appended)."""
        path = urlsplit(self.identifier).path
        return WELL_KNOWN + (path if path not in ("", "/") else "")

    @property
    def metadata_url(self) -> str:
        parts = urlsplit(self.identifier)
        return f"{parts.scheme}://{parts.netloc}{self.metadata_path}"


def configured() -> list[ProtectedResource]:
    """``PROTECTED_RESOURCES`` (``{identifier: {"scopes": [...], "name": "..."}}``), plus DOT's
    ``OAUTH2_PROTECTED_RESOURCE_IDENTIFIER`` (the root document's resource) when not listed."""
    from oauth2_provider.settings import oauth2_settings

    found = []
    for identifier, options in (agent_obo_settings.PROTECTED_RESOURCES or {}).items():
        options = options or {}
        scopes = options.get("scopes")
        found.append(
            ProtectedResource(
                identifier=str(identifier),
                scopes=tuple(scopes) if scopes is not None else None,
                name=str(options.get("name", "")),
            )
        )
    root = oauth2_settings.OAUTH2_PROTECTED_RESOURCE_IDENTIFIER
    if root and all(r.identifier != root for r in found):
        found.append(ProtectedResource(identifier=str(root)))
    return found


def by_identifier(identifier: str) -> ProtectedResource | None:
    return next((r for r in configured() if r.identifier == identifier), None)


def described(identifier: str) -> ProtectedResource:
    """The configured resource ``identifier``, or a bare one (its document URL still follows §3.1)."""
    return by_identifier(identifier) or ProtectedResource(identifier=identifier)


def by_metadata_path(path: str) -> ProtectedResource | None:
    """The resource whose path-aware document lives at ``path`` (the request's path)."""
    return next((r for r in configured() if r.metadata_path == path), None)
