"""Views guarded by the RFC 9396 permission helpers, plain Django and DRF."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from django_agent_obo.contrib.rest_framework import AgentOBOAuthentication, WithinAuthorizationDetails
from django_agent_obo.resource import detail_required, token_required


def on_day(request: Any) -> dict[str, Any] | None:
    day = request.GET.get("day")
    if not day:
        return None
    return {"type": "calendar_event", "actions": ["create"], "date_from": day, "date_to": day}


@token_required()
@detail_required(on_day)
def plain(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@token_required()
@detail_required(on_day, required=True)
def plain_required(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


class Booked(APIView):
    authentication_classes = [AgentOBOAuthentication]
    permission_classes = [WithinAuthorizationDetails(on_day)]

    def get(self, request: Any) -> Response:
        return Response({"ok": True})


urlpatterns = [
    path("", include("django_agent_obo.urls")),
    path("rs/details/", plain),
    path("rs/details-required/", plain_required),
    path("drf/details/", Booked.as_view()),
]
