"""RFC 6750 §3 answers: the ``WWW-Authenticate: Bearer`` challenge and a JSON body.

* no token: ``401``, ``Bearer resource_metadata="…"`` (RFC 9728 §5.1), no error code;
* malformed ``Authorization`` header: ``400`` ``invalid_request``;
* bad token: ``401`` ``error="invalid_token"``;
* missing scope: ``403`` ``error="insufficient_scope"`` with ``scope`` and the draft's
  ``required_scope``;
* actor policy: ``403`` ``access_denied`` in the body and no challenge (a new token
  with more scope would not help).

Every value is a quoted-string with ``\\`` and ``"`` escaped and anything outside
printable ASCII dropped, so no input can split or extend the header.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse

from ..conf import agent_obo_settings
from ..dpop import server_nonces
from .policy import Denied
from .validation import TokenError

NO_TOKEN_DESCRIPTION = "This resource needs an OAuth 2.0 bearer access token."


class RequestError(Exception):
    """The ``Authorization`` header is malformed (RFC 6750 §3.1 ``invalid_request``)."""

    error = "invalid_request"
    reason = "authorization_header_malformed"
    description = "The Authorization header is malformed."


Failure = TokenError | RequestError | Denied | None


def quote(value: Any) -> str:
    """An RFC 9110 quoted-string body: printable ASCII only, ``\\`` and ``"`` escaped."""
    text = "".join(ch for ch in str(value) if " " <= ch <= "~")
    return text.replace("\\", "\\\\").replace('"', '\\"')


def resource_metadata_url(request: HttpRequest) -> str | None:
    configured = agent_obo_settings.RS_RESOURCE_METADATA_URL
    if configured:
        return str(configured)
    from oauth2_provider.settings import oauth2_settings

    url = oauth2_settings.oauth2_resource_metadata_url(request)
    return str(url) if url else None


def status_of(failure: Failure) -> int:
    if isinstance(failure, RequestError):
        return 400
    if isinstance(failure, Denied):
        return 403
    return 401


def bearer_challenge(
    request: HttpRequest, failure: Failure, *, resource_metadata: str | None = None
) -> str | None:
    """The ``WWW-Authenticate`` value for ``failure`` (None for actor-policy denials)."""
    params: list[tuple[str, str]] = []
    if isinstance(failure, Denied):
        if failure.error != "insufficient_scope":
            return None
        scope = " ".join(failure.scope)
        params = [
            ("error", failure.error),
            ("error_description", failure.description),
            ("scope", scope),
            ("required_scope", scope),
        ]
    elif failure is not None:
        params = [("error", failure.error), ("error_description", failure.description)]
    url = resource_metadata or resource_metadata_url(request)
    if url:
        params.append(("resource_metadata", url))
    if not params:
        return "Bearer"
    return "Bearer " + ", ".join(f'{name}="{quote(value)}"' for name, value in params)


def dpop_challenge(request: HttpRequest, failure: Failure) -> str:
    """The ``DPoP`` challenge (RFC 9449 §7.1): the error when it is ours to report, and the
    proof algorithms this resource accepts."""
    params: list[tuple[str, str]] = []
    if failure is not None:
        params = [("error", failure.error), ("error_description", failure.description)]
        if isinstance(failure, Denied) and failure.scope:
            params += [("scope", " ".join(failure.scope)), ("required_scope", " ".join(failure.scope))]
    params.append(("algs", " ".join(agent_obo_settings.RS_DPOP_ALGORITHMS)))
    if agent_obo_settings.RS_DPOP_REQUIRED:
        url = resource_metadata_url(request)
        if url:
            params.append(("resource_metadata", url))
    return "DPoP " + ", ".join(f'{name}="{quote(value)}"' for name, value in params)


def www_authenticate(
    request: HttpRequest,
    failure: Failure,
    *,
    proven: bool | None = None,
    resource_metadata: str | None = None,
) -> str | None:
    """``Bearer`` and ``DPoP`` challenges side by side (RFC 9449 §7.1), the error in the one
    the client used (a DPoP refusal, or a scope denial of a proven token); ``DPoP`` alone
    with ``RS_DPOP_REQUIRED``; None for actor-policy denials."""
    if proven is None:
        proven = bool(getattr(getattr(request, "auth", None), "proven", False))
    in_dpop = getattr(failure, "scheme", None) == "DPoP" or (isinstance(failure, Denied) and proven)
    bearer = bearer_challenge(request, None if in_dpop else failure, resource_metadata=resource_metadata)
    if isinstance(failure, Denied) and failure.error != "insufficient_scope":
        return None
    proof_challenge = dpop_challenge(request, failure if in_dpop else None)
    if agent_obo_settings.RS_DPOP_REQUIRED:
        return proof_challenge
    return f"{bearer}, {proof_challenge}"


def error_body(failure: Failure) -> dict[str, Any]:
    if failure is None:
        return {"error_description": NO_TOKEN_DESCRIPTION}
    body: dict[str, Any] = {"error": failure.error, "error_description": failure.description}
    if isinstance(failure, Denied) and failure.scope:
        body["scope"] = body["required_scope"] = " ".join(failure.scope)
    return body


def challenge_response(
    request: HttpRequest,
    failure: Failure,
    *,
    proven: bool | None = None,
    resource_metadata: str | None = None,
) -> JsonResponse:
    """The complete RFC 6750 answer: status, challenge header, JSON body, no caching.

    ``proven``: the refused token came with its DPoP proof (see :func:`www_authenticate`);
    ``resource_metadata``: the RFC 9728 document to name (default: ``RS_RESOURCE_METADATA_URL``
    or the root document).
    """
    response = JsonResponse(error_body(failure), status=status_of(failure))
    challenge = www_authenticate(request, failure, proven=proven, resource_metadata=resource_metadata)
    if challenge is not None:
        response["WWW-Authenticate"] = challenge
    if getattr(failure, "use_nonce", False):
        response["DPoP-Nonce"] = server_nonces("rs").current()  # RFC 9449 §9
    response["Cache-Control"] = "no-store"
    return response
