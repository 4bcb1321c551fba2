"""``@token_required(...)``: protect a plain Django view with our access tokens.

    @token_required("calendar.read")
    def events(request):
        info = request.auth  # AccessTokenInfo: sub, client_id, actor, actor_chain, scopes, proven

Options are those of :class:`~django_agent_obo.resource.policy.Policy`. Refusals answer
per RFC 6750 (see ``challenges``). The view is CSRF-exempt: it only ever authenticates
with the ``Authorization`` header, which a browser never sends on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from ..conf import agent_obo_settings
from ..dpop import server_nonces
from ..resources import described
from .challenges import RequestError, challenge_response
from .policy import ActorRule, Denied, Policy
from .request import attach, audit_access, authenticate
from .validation import AccessTokenInfo, TokenError

View = Callable[..., HttpResponse]


def guard(request: HttpRequest, policy: Policy, *, resource: str | None = None) -> HttpResponse | None:
    """None when ``request`` may proceed (``request.auth`` set), else the refusal.

    ``resource``: a resource identifier of its own (RFC 9728): tokens must name it in ``aud``
    and challenges point at its path-aware metadata document (``resources``).
    """
    audience = [resource] if resource else None
    metadata = described(resource).metadata_url if resource else None
    info: AccessTokenInfo | None = None
    try:
        info = authenticate(request, audience=audience)
        if info is not None:
            policy.check(info)
    except (TokenError, RequestError, Denied) as failure:
        audit_access(request, info, failure, policy.scopes)
        proven = info.proven if info is not None else None
        return challenge_response(request, failure, proven=proven, resource_metadata=metadata)
    if info is None:
        audit_access(request, None, None)
        return challenge_response(request, None, resource_metadata=metadata)
    attach(request, info)
    audit_access(request, info, None, policy.scopes)
    return None


def token_required(
    scopes: Iterable[str] | str = (),
    *,
    scope_match: str = "all",
    agent: bool | None = None,
    actors: ActorRule | None = None,
    max_chain_depth: int | None = None,
    resource: str | None = None,
) -> Callable[[View], View]:
    """Require a valid access token meeting the given policy (see :class:`Policy`);
    ``resource``: see :func:`guard`."""
    policy = Policy.build(
        scopes, scope_match=scope_match, agent=agent, actors=actors, max_chain_depth=max_chain_depth
    )

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            refusal = guard(request, policy, resource=resource)
            if refusal is not None:
                return refusal
            response = view(request, *args, **kwargs)
            if agent_obo_settings.RS_DPOP_NONCE_REQUIRED and not response.has_header("DPoP-Nonce"):
                response["DPoP-Nonce"] = server_nonces("rs").current()  # RFC 9449 §9: the next one
            return response

        return csrf_exempt(wrapped)

    return decorator
