"""A URLconf of views protected with every policy option, plain Django and DRF."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.response import Response
from rest_framework.views import APIView

from django_agent_obo.contrib.rest_framework import (
    ActorIn,
    AgentOBOAuthentication,
    HasAnyScope,
    HasScopes,
    HasToken,
    IsAgent,
    MaxChainDepth,
)
from django_agent_obo.resource import AccessTokenInfo, token_info, token_required


def describe(request: HttpRequest) -> JsonResponse:
    info = token_info(request)
    if info is None:
        return JsonResponse({"auth": None, "user": request.user.get_username()})
    return JsonResponse(
        {
            "sub": info.sub,
            "actor": info.actor,
            "actor_chain": list(info.actor_chain),
            "scopes": sorted(info.scopes),
            "user": request.user.get_username(),
        }
    )


def trusted(info: AccessTokenInfo) -> bool:
    return info.actor is not None and info.actor.startswith("agent:trusted-")


class Described(APIView):
    authentication_classes = [AgentOBOAuthentication]

    def get(self, request: Any) -> Response:
        info = request.auth
        return Response({"sub": info.sub, "actor": info.actor, "user": request.user.get_username()})

    def post(self, request: Any) -> Response:
        return self.get(request)


def drf(name: str, permissions: Any) -> Any:
    return type(name, (Described,), {"permission_classes": permissions}).as_view()


def view(**policy: Any) -> Any:
    return token_required(**policy)(describe)


urlpatterns = [
    path("", include("django_agent_obo.urls")),
    path("rs/any/", view()),
    path("rs/all/", view(scopes=["calendar.read", "calendar.write"])),
    path("rs/any-of/", view(scopes="calendar.read calendar.write", scope_match="any")),
    path("rs/agent/", view(agent=True)),
    path("rs/no-agent/", view(agent=False)),
    path("rs/actors/", view(actors=["agent:calendar-assistant"])),
    path("rs/actors-callable/", view(actors=trusted)),
    path("rs/depth-1/", view(max_chain_depth=1)),
    path("rs/hostile-scope/", view(scopes=['odd"scope\\', "x\r\nX-Injected: yes"])),
    path("rs/open/", csrf_exempt(describe)),  # authenticates by header: the middleware applies
    path("drf/any/", drf("AnyToken", [HasToken])),
    path("drf/write/", drf("Write", [HasScopes("calendar.write")])),
    path("drf/any-of/", drf("AnyOf", [HasAnyScope("calendar.write", "calendar.read")])),
    path("drf/agent/", drf("Agent", [IsAgent])),
    path("drf/no-agent/", drf("NoAgent", [HasToken & ~IsAgent])),
    path(
        "drf/composed/",
        drf("Composed", [HasScopes("calendar.write") | IsAgent & ActorIn(["agent:calendar-assistant"])]),
    ),
    path("drf/depth-1/", drf("Depth", [MaxChainDepth(1)])),
]
