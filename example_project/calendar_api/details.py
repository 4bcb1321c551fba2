"""The example's ``authorization_details`` type ``calendar_event`` (RFC 9396, SPEC §14).

    {"type": "calendar_event", "actions": ["create"], "date_from": "2026-12-01", "date_to": "2026-12-07"}

``actions``: a non-empty subset of ``read`` and ``create``; ``date_from`` / ``date_to``:
optional ISO 8601 dates (``YYYY-MM-DD``), inclusive; any other member is refused (§5).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from django.utils.formats import date_format

from django_agent_obo.authorization_details import DetailType, InvalidDetail

ACTIONS = ("read", "create")
MEMBERS = {"type", "actions", "date_from", "date_to"}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(detail: Mapping[str, Any], name: str) -> date | None:
    value = detail.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
        raise InvalidDetail(f"{name} must be a date written YYYY-MM-DD.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidDetail(f"{name} is not a calendar date.") from None


class CalendarEvent(DetailType):
    """Reading or creating events in the user's calendar, optionally within a date range."""

    def validate(self, detail: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(detail) - MEMBERS)
        if unknown:
            raise InvalidDetail("unknown member " + ", ".join(repr(name[:50]) for name in unknown) + ".")
        actions = detail.get("actions")
        if (
            not isinstance(actions, list)
            or not actions
            or any(action not in ACTIONS for action in actions)
            or len(set(actions)) != len(actions)
        ):
            raise InvalidDetail('actions must be a non-empty list of distinct "read" and "create".')
        start, end = _date(detail, "date_from"), _date(detail, "date_to")
        if start is not None and end is not None and start > end:
            raise InvalidDetail("date_from is after date_to.")
        normalised: dict[str, Any] = {"type": self.name, "actions": [a for a in ACTIONS if a in actions]}
        if start is not None:
            normalised["date_from"] = start.isoformat()
        if end is not None:
            normalised["date_to"] = end.isoformat()
        return normalised

    def describe(self, detail: Mapping[str, Any]) -> str:
        actions = detail.get("actions") or []
        what = {
            ("read",): "Read events in your calendar",
            ("create",): "Create events in your calendar",
        }.get(tuple(actions), "Read and create events in your calendar")
        start, end = detail.get("date_from"), detail.get("date_to")
        fmt = "j F Y"
        if start and end and start == end:
            return f"{what} on {date_format(date.fromisoformat(start), fmt)}"
        if start and end:
            return (
                f"{what} from {date_format(date.fromisoformat(start), fmt)}"
                f" to {date_format(date.fromisoformat(end), fmt)}"
            )
        if start:
            return f"{what} from {date_format(date.fromisoformat(start), fmt)} on"
        if end:
            return f"{what} up to {date_format(date.fromisoformat(end), fmt)}"
        return f"{what}, any date"

    def contains(self, approved: Mapping[str, Any], requested: Mapping[str, Any]) -> bool:
        """Fewer actions, and a date range inside the approved one (an open end is wider)."""
        asked = requested.get("actions")
        if (
            not isinstance(asked, list)
            or not asked
            or any(a not in approved.get("actions", []) for a in asked)
        ):
            return False
        if approved.get("date_from") and not (
            requested.get("date_from") and requested["date_from"] >= approved["date_from"]
        ):
            return False
        if approved.get("date_to") and not (
            requested.get("date_to") and requested["date_to"] <= approved["date_to"]
        ):
            return False
        return True
