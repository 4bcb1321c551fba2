"""List filters, paginator and date drill-down that stay fast on a million audit rows.

Django's defaults scan the whole table: ``list_filter`` on a plain field runs
``SELECT DISTINCT``, the paginator runs ``COUNT(*)``, the date hierarchy runs
``DISTINCT date_trunc(...)``. Here every choice comes from a small table or a constant,
the count stops at :data:`COUNT_CAP`, and the date levels come from ``MIN``/``MAX`` (one
index probe each).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Max, Min, Q, QuerySet
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.functional import cached_property
from oauth2_provider.models import get_application_model

from .models import Agent, Event

COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    """Counts at most ``COUNT_CAP + 1`` rows; ``capped`` says the real number is larger."""

    capped = False

    @cached_property
    def count(self) -> int:
        rows: QuerySet[Any] = self.object_list  # type: ignore[assignment]
        found = rows.order_by().values("pk")[: COUNT_CAP + 1].count()
        self.capped = found > COUNT_CAP
        return min(found, COUNT_CAP)


class EventFilter(admin.SimpleListFilter):
    title = "event"
    parameter_name = "event"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in sorted(Event.values)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(event=self.value()) if self.value() else queryset


class ActorFilter(admin.SimpleListFilter):
    """Events whose current actor is the chosen agent (``?actor=<actor id>``)."""

    title = "agent"
    parameter_name = "actor"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(Agent.objects.order_by("actor_id").values_list("actor_id", "name")[:200])

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(actor_id=self.value()) if self.value() else queryset


class ClientFilter(admin.SimpleListFilter):
    title = "client"
    parameter_name = "client"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        apps = get_application_model().objects.order_by("name").values_list("client_id", "name")[:200]
        return [(client_id, name or client_id) for client_id, name in apps]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(client_id=self.value()) if self.value() else queryset


def parse_user_pk(value: str | None) -> Any:
    """``value`` as a primary key of the site's user model (integer, UUID, ...), else None."""
    if not value:
        return None
    field = get_user_model()._meta.pk
    try:
        pk = field.to_python(value)
        field.run_validators(pk)  # an integer key beyond the column's range: no such user
    except ValidationError:
        return None
    return pk


class UserFilter(admin.SimpleListFilter):
    """``?user=<pk>``: reached from links (grants, timelines); lists only the chosen user,
    because a site may have millions of users."""

    title = "user"
    parameter_name = "user"
    field = "user_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        value = self.value()
        pk = parse_user_pk(value)
        if value is None or pk is None:
            return []
        user = get_user_model()._default_manager.filter(pk=pk).first()
        return [(value, user.get_username() if user is not None else f"#{value}")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        pk = parse_user_pk(value)
        return queryset.filter(**{self.field: pk}) if pk is not None else queryset.none()


class GrantStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("live", "live"), ("expired", "expired"), ("revoked", "revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        not_expired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        if self.value() == "live":
            return queryset.filter(not_expired, revoked_at__isnull=True)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


class AgentStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("usable", "usable"), ("disabled", "disabled"), ("expired", "past valid until")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        if self.value() == "usable":
            return queryset.filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now), is_active=True)
        if self.value() == "disabled":
            return queryset.filter(is_active=False)
        if self.value() == "expired":
            return queryset.filter(valid_until__lte=now)
        return queryset


def date_levels(cl: Any) -> dict[str, Any]:
    """The context of ``admin/date_hierarchy.html`` from ``MIN``/``MAX`` instead of DISTINCT.

    The change list has already narrowed its queryset to the chosen year or month (as a
    range on the indexed column); each level lists every month or day between the first
    and the last matching row, so an occasional empty one is the price of not scanning.
    """
    field = cl.date_hierarchy
    raw = [cl.params.get(f"{field}__{part}") for part in ("year", "month", "day")]
    if any(value and not str(value).isdigit() for value in raw):
        return {"show": False}
    year, month, day = (int(value) if value else None for value in raw)

    def link(**parts: int) -> str:
        return str(cl.get_query_string({f"{field}__{k}": v for k, v in parts.items()}, [f"{field}__"]))

    if year and month and day:
        return {
            "show": True,
            "back": {"link": link(year=year, month=month), "title": _month(year, month)},
            "choices": [{"title": formats.date_format(date(year, month, day), "MONTH_DAY_FORMAT")}],
        }
    bounds = cl.queryset.aggregate(first=Min(field), last=Max(field))
    if bounds["first"] is None:
        return {"show": False}
    first, last = (timezone.localtime(bounds[k]) for k in ("first", "last"))
    if year is None and first.year != last.year:
        years = range(first.year, last.year + 1)
        return {
            "show": True,
            "back": None,
            "choices": [{"link": link(year=y), "title": str(y)} for y in years],
        }
    year = year or first.year
    if month is None and (raw[0] or first.month != last.month):
        return {
            "show": True,
            "back": {"link": link(), "title": "All dates"},
            "choices": [
                {"link": link(year=year, month=m), "title": _month(year, m)}
                for m in range(first.month, last.month + 1)
            ],
        }
    month = month or first.month
    return {
        "show": True,
        "back": {"link": link(year=year), "title": str(year)},
        "choices": [
            {
                "link": link(year=year, month=month, day=d),
                "title": formats.date_format(date(year, month, d), "MONTH_DAY_FORMAT"),
            }
            for d in range(first.day, last.day + 1)
        ],
    }


def _month(year: int, month: int) -> str:
    return str(formats.date_format(date(year, month, 1), "YEAR_MONTH_FORMAT"))
