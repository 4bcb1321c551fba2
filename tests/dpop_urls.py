"""Views for the DPoP resource-server tests: the decorator, DRF and the middleware, each
saying whether the token was proven (``request.auth.proven``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.response import Response
from rest_framework.views import APIView

from django_agent_obo.contrib.rest_framework import AgentOBOAuthentication, HasScopes, HasToken
from django_agent_obo.resource import token_info, token_required


def describe(request: HttpRequest) -> JsonResponse:
    info = token_info(request)
    if info is None:
        return JsonResponse({"auth": None})
    return JsonResponse({"sub": info.sub, "proven": info.proven, "jkt": info.dpop_jkt})


class Described(APIView):
    authentication_classes = [AgentOBOAuthentication]
    permission_classes = [HasToken]

    def get(self, request: Any) -> Response:
        return Response({"sub": request.auth.sub, "proven": request.auth.proven})

    post = get


class NeedsWrite(Described):
    permission_classes = [HasScopes("calendar.write")]


urlpatterns = [
    path("", include("django_agent_obo.urls")),
    path("rs/any/", token_required()(describe)),
    path("rs/write/", token_required("calendar.write")(describe)),
    path("rs/open/", csrf_exempt(describe)),  # authenticates by header: the middleware applies
    path("drf/any/", Described.as_view()),
    path("drf/write/", NeedsWrite.as_view()),
]
