"""The example API (SPEC §5), protected with ``@token_required`` from ``django_agent_obo.resource``."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from django_agent_obo.authorization_details import covers
from django_agent_obo.resource import (
    AccessTokenInfo,
    Denied,
    challenge_response,
    require_detail,
    token_info,
    token_required,
)

from .models import Event

CALENDAR_EVENT = "calendar_event"  # the authorization_details type of this API (details.py)


def _info(request: HttpRequest) -> AccessTokenInfo:
    info = token_info(request)
    assert info is not None, "token_required sets request.auth"
    return info


def identities(info: AccessTokenInfo) -> dict[str, Any]:
    """The three identities of a token, kept apart (also the MCP ``whoami`` tool's answer)."""
    body: dict[str, Any] = {
        "sub": info.sub,
        "client_id": info.client_id,
        "actor": info.actor,
        "actor_chain": list(info.actor_chain),
        "scope": info.scope,
    }
    if info.authorization_details:  # RFC 9396, as approved (SPEC §14)
        body["authorization_details"] = info.authorization_details
    return body


@token_required()
def whoami(request: HttpRequest) -> HttpResponse:
    """Any valid token: the three identities, kept apart."""
    return JsonResponse(identities(_info(request)))


def event_json(event: Event) -> dict[str, Any]:
    return {
        "id": event.pk,
        "title": event.title,
        "starts_at": event.starts_at.isoformat() if event.starts_at else None,
        "created_at": event.created_at.isoformat(),
        "created_by_actor": event.created_by_actor or None,
        "actor_chain": event.actor_chain,
        "client_id": event.client_id,
    }


def _user_required(request: HttpRequest) -> HttpResponse | None:
    if request.user.is_authenticated:
        return None
    denied = Denied(
        "access_denied", "user_required", "This API serves a user's calendar; the token names no user."
    )
    return challenge_response(request, denied)


def _bad_request(description: str) -> JsonResponse:
    return JsonResponse({"error": "invalid_request", "error_description": description}, status=400)


@token_required("calendar.read")
def list_events(request: HttpRequest) -> HttpResponse:
    refusal = _user_required(request)
    if refusal is not None:
        return refusal
    info = _info(request)
    events = list(Event.objects.filter(user=info.user))
    approved = [d for d in info.authorization_details if d.get("type") == CALENDAR_EVENT]
    if approved:  # RFC 9396: only the events inside an approved "read" object
        if not any("read" in d.get("actions", []) for d in approved):
            denied = Denied(
                "access_denied",
                "authorization_details_exceeded",
                "The approved calendar_event allows no reading.",
            )
            return challenge_response(request, denied)
        events = [event for event in events if covers(approved, _detail("read", event.starts_at))]
    return JsonResponse({"events": [event_json(event) for event in events]})


def _detail(action: str, starts_at: Any) -> dict[str, Any]:
    """What touching an event starting at ``starts_at`` asks for, as a calendar_event object."""
    detail: dict[str, Any] = {"type": CALENDAR_EVENT, "actions": [action]}
    if starts_at is not None:
        day = starts_at.date().isoformat()
        detail.update(date_from=day, date_to=day)
    return detail


@token_required("calendar.write")
def create_event(request: HttpRequest) -> HttpResponse:
    refusal = _user_required(request)
    if refusal is not None:
        return refusal
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        return _bad_request("The body must be a JSON object.")
    title = data.get("title") if isinstance(data, dict) else None
    if not isinstance(title, str) or not 0 < len(title.strip()) <= 200:
        return _bad_request("title: 1 to 200 characters.")
    starts_at = None
    if data.get("starts_at") is not None:
        try:
            starts_at = parse_datetime(str(data["starts_at"]))
        except ValueError:
            starts_at = None
        if starts_at is None or starts_at.tzinfo is None:
            return _bad_request("starts_at: an ISO 8601 date-time with a time zone.")
    info = _info(request)
    try:  # a token carrying calendar_event details may only create inside them
        require_detail(info, _detail("create", starts_at))
    except Denied as denied:
        return challenge_response(request, denied)
    event = Event.objects.create(
        user=info.user,
        title=title.strip(),
        starts_at=starts_at,
        created_by_actor=info.actor or "",
        actor_chain=list(info.actor_chain),
        client_id=info.client_id,
    )
    return JsonResponse(event_json(event), status=201)


@csrf_exempt
def events(request: HttpRequest) -> HttpResponse:
    """``GET`` needs ``calendar.read``; ``POST`` needs ``calendar.write``."""
    if request.method in ("GET", "HEAD"):
        return list_events(request)
    if request.method == "POST":
        return create_event(request)
    return HttpResponseNotAllowed(["GET", "POST"])
