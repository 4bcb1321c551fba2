"""``{% agent_obo_date_hierarchy cl %}``: Django's date drill-down without its DISTINCT scans;
``{{ name|event_label }}``: an audit event's label (empty for a name no longer declared)."""

from typing import Any

from django import template
from django.contrib.admin.templatetags.base import InclusionAdminNode

from ..admin_filters import date_levels
from ..models import Event

register = template.Library()
EVENT_LABELS = dict(Event.choices)


@register.filter
def event_label(name: str) -> str:
    return str(EVENT_LABELS.get(name, ""))


@register.tag(name="agent_obo_date_hierarchy")
def agent_obo_date_hierarchy(parser: Any, token: Any) -> InclusionAdminNode:
    return InclusionAdminNode(
        parser, token, func=date_levels, template_name="date_hierarchy.html", takes_context=False
    )
