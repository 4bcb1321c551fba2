"""DRF permission classes over :class:`~django_agent_obo.resource.policy.Policy`.

They compose with ``&``, ``|`` and ``~``. Parametrised ones are built by functions that
return a class (``HasScopes("calendar.read")``), as ``permission_classes`` expects.
A denial is remembered on the request, so :func:`exception_handler` can answer a scope
denial with the RFC 6750 ``insufficient_scope`` challenge.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rest_framework.permissions import BasePermission

from ...resource.authorization_details import DetailBuilder, require_detail
from ...resource.challenges import error_body
from ...resource.policy import ActorRule, Denied, Policy
from ...resource.request import token_info

DENIAL_ATTR = "_agent_obo_denial"


class TokenPolicy(BasePermission):
    """Grants when ``request.auth`` is one of our tokens and meets ``policy``."""

    policy: ClassVar[Policy] = Policy()
    message: Any = None
    code: str | None = None

    def has_permission(self, request: Any, view: Any) -> bool:
        info = token_info(request)
        if info is None:
            return False
        try:
            self.policy.check(info)
        except Denied as denied:
            self.message, self.code = error_body(denied), denied.error
            setattr(request._request, DENIAL_ATTR, denied)
            return False
        return True


def _named(name: str, policy: Policy) -> type[TokenPolicy]:
    return type(name, (TokenPolicy,), {"policy": policy, "__doc__": f"{name}: {policy}"})


class HasToken(TokenPolicy):
    """Any valid access token of ours."""


class IsAgent(TokenPolicy):
    """An agent is calling (``act``, or its own actor token); ``~IsAgent`` forbids agents."""

    policy = Policy(agent=True)


def HasScopes(*scopes: str) -> type[TokenPolicy]:
    """Every one of ``scopes``."""
    return _named("HasScopes", Policy.build(scopes))


def HasAnyScope(*scopes: str) -> type[TokenPolicy]:
    """At least one of ``scopes``."""
    return _named("HasAnyScope", Policy.build(scopes, scope_match="any"))


def ActorIn(actors: ActorRule) -> type[TokenPolicy]:
    """The calling agent is one of ``actors`` (ids), or ``actors(info)`` is true."""
    return _named("ActorIn", Policy.build(actors=actors))


def MaxChainDepth(depth: int) -> type[TokenPolicy]:
    """At most ``depth`` actors in the ``act`` chain."""
    return _named("MaxChainDepth", Policy.build(max_chain_depth=depth))


def WithinAuthorizationDetails(build: DetailBuilder, *, required: bool = False) -> type[TokenPolicy]:
    """What ``build(request)`` describes falls inside an approved RFC 9396 object of its type
    (None: the request asks for nothing of that kind); see ``resource.authorization_details``."""

    def has_permission(self: TokenPolicy, request: Any, view: Any) -> bool:
        if not TokenPolicy.has_permission(self, request, view):
            return False
        info = token_info(request)
        detail = build(request)
        if info is None or detail is None:
            return info is not None
        try:
            require_detail(info, detail, required=required)
        except Denied as denied:
            self.message, self.code = error_body(denied), denied.error
            setattr(request._request, DENIAL_ATTR, denied)
            return False
        return True

    return type(
        "WithinAuthorizationDetails",
        (TokenPolicy,),
        {"has_permission": has_permission, "__doc__": WithinAuthorizationDetails.__doc__},
    )
