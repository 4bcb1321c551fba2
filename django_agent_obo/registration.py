"""Who may register a client (RFC 7591 §3): policy classes for DOT's
``DCR_REGISTRATION_PERMISSION_CLASSES``, and the checks we add to DOT's registration metadata.

Open registration is DOT's ``oauth2_provider.dcr.AllowAllDCRPermission``; registration by an
initial access token (RFC 7591 §3, "Bearer" in ``Authorization``) is
:class:`InitialAccessTokenPermission`. Either way a self-registered client runs no agent until
an admin lists it among the agent's clients or the agent allows any client (``allow_any_client``).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import urlsplit

from .conf import agent_obo_settings
from .jose import UNSTORABLE


def hash_initial_access_token(token: str) -> str:
    """What ``REGISTRATION_INITIAL_ACCESS_TOKENS`` holds: the SHA-256 hex digest of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class InitialAccessTokenPermission:
    """Registration needs ``Authorization: Bearer <initial access token>`` (RFC 7591 §3).

    The accepted tokens are configured as SHA-256 hex digests (never in clear text) in
    ``AGENT_OBO["REGISTRATION_INITIAL_ACCESS_TOKENS"]``; an empty list accepts none.
    """

    def has_permission(self, request: Any) -> bool:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > 512:
            return False
        presented = hash_initial_access_token(token)
        accepted = [str(d).lower() for d in agent_obo_settings.REGISTRATION_INITIAL_ACCESS_TOKENS or []]
        # compare_digest with every entry: no early exit that would time the list.
        return any([hmac.compare_digest(presented, digest) for digest in accepted])


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    return []


def metadata_problem(data: Any) -> str | None:
    """What is wrong with client metadata that DOT would store as given or fail on with a 500,
    or None. Checked before DOT's own rules (RFC 7591 §2, §3.2.2 ``invalid_client_metadata``)."""
    if not isinstance(data, dict):
        return None  # DOT answers this one itself
    if any(UNSTORABLE.search(s) for s in _strings(data)):
        return "Client metadata must not contain NUL characters or lone surrogates."
    name = data.get("client_name")
    if name is not None and (not isinstance(name, str) or any(ord(c) < 32 for c in name)):
        return "client_name must be a single-line string."
    uris = data.get("redirect_uris")
    if isinstance(uris, list):
        for uri in uris:
            if isinstance(uri, str) and (any(c.isspace() for c in uri) or not urlsplit(uri).netloc):
                return "Each redirect_uri must be an absolute URI without spaces."
    grant_types = data.get("grant_types", ["authorization_code"])
    if isinstance(grant_types, list):
        allowed = set(agent_obo_settings.REGISTRATION_GRANT_TYPES)
        refused = [g for g in grant_types if isinstance(g, str) and g not in allowed]
        if refused:
            return "This server does not register clients for grant types: " + ", ".join(sorted(refused))
    return None


SELF_REGISTERED = ("dcr", "cimd")  # DOT's Application.RegistrationSource values


def is_self_registered(application: Any) -> bool:
    return str(getattr(application, "registration_source", "") or "") in SELF_REGISTERED


def note_registered(application: Any) -> None:
    """Record a newly registered client as pending, where the site asks for approval."""
    from .models import ClientApproval

    if agent_obo_settings.REGISTRATION_REQUIRES_APPROVAL and is_self_registered(application):
        ClientApproval.objects.get_or_create(application=application)


def awaiting_approval(application: Any) -> bool:
    """True when ``application`` registered itself and no admin has approved it yet
    (``REGISTRATION_REQUIRES_APPROVAL``); a client first seen here is recorded as pending."""
    from .models import ClientApproval

    if not agent_obo_settings.REGISTRATION_REQUIRES_APPROVAL or not is_self_registered(application):
        return False
    approval, _ = ClientApproval.objects.get_or_create(application=application)
    return approval.status != ClientApproval.APPROVED
