"""Input no database can store is refused before any query sees it (issue #12 item 3).

PostgreSQL refuses a NUL character in text (psycopg raises, the request would end in a 500);
no OAuth parameter (RFC 6749 Appendix A: VSCHAR, NQCHAR, URI) may hold it or another C0 control
character anyway. Tab, line feed and carriage return stay allowed: JSON-valued parameters
(``claims``, ``authorization_details``) may be pretty-printed. The endpoints call
:func:`first_unstorable` first and answer with their own OAuth error.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import unquote_plus

from django.http import HttpRequest

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
DESCRIPTION = "A parameter contains a control character."


def has_control(value: str) -> bool:
    return CONTROL.search(value) is not None


def _basic_credentials(request: HttpRequest) -> list[str]:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header[:6].lower() == "basic ":
        return [header]
    try:
        decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return [header]
    user, _, password = decoded.partition(":")
    return [header, decoded, unquote_plus(user), unquote_plus(password)]


def first_unstorable(request: HttpRequest) -> str | None:
    """The name of the first parameter (query, form or HTTP Basic credentials) holding a control
    character, or None. A name that itself holds one is reported as ``"parameter name"``."""
    for source in (request.GET, request.POST):
        for name, values in source.lists():
            if has_control(name):
                return "parameter name"
            if any(has_control(value) for value in values):
                return name
    if any(has_control(value) for value in _basic_credentials(request)):
        return "Authorization"
    return None
