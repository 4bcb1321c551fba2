"""What the consent page shows besides the request: who is signed in, where their agents are
listed, and an error in words when the request cannot go back to the client (RFC 6749 §4.1.2.1:
an unknown client or an unregistered redirect URI is never redirected to)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django.urls import NoReverseMatch, reverse

CLIENT_PROBLEMS = {
    "redirect": (
        "The application asked to send you back to an address it has not registered with this site.",
        "So that nothing reaches a place you did not choose, this site stopped here.",
    ),
    "client": (
        "The application that sent you here is not registered with this site.",
        "This site does not know who would receive your approval, so it stopped here.",
    ),
}


def page_context(request: HttpRequest) -> dict[str, Any]:
    """``signed_in_as``, ``switch_account_url`` (sign in as someone else, then come back to this
    very request) and ``agents_url`` (``None`` where the self-service page is not mounted)."""
    context: dict[str, Any] = {"signed_in_as": None, "switch_account_url": None, "agents_url": None}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        context["signed_in_as"] = user.get_username()
        login = resolve_url(settings.LOGIN_URL)
        context["switch_account_url"] = f"{login}?{urlencode({'next': request.get_full_path()})}"
    try:
        context["agents_url"] = reverse("agent_obo_selfservice:agents")
    except NoReverseMatch:
        pass
    return context


def explain_error(error: Any) -> dict[str, str]:
    """The error page's words: what happened and what to do. Nothing from the request (the
    client id or the address it asked for) is repeated: they are the attacker's words."""
    description = str(getattr(error, "description", "") or "").lower()
    kind = "redirect" if "redirect" in description else "client" if "client" in description else ""
    what, why = CLIENT_PROBLEMS.get(
        kind,
        ("The application sent a request this site cannot answer.", "Nothing was shared with it."),
    )
    return {
        "what": what,
        "why": why,
        "todo": "Go back to the application and try again. If it happens again, tell the application's "
        "makers: the problem is in how the application is set up, not in your account.",
    }
