"""``{% agent_obo_date_hierarchy cl %}``: Django's date drill-down without its DISTINCT scans."""

from typing import Any

from django import template
from django.contrib.admin.templatetags.base import InclusionAdminNode

from ..admin_filters import date_levels

register = template.Library()


@register.tag(name="agent_obo_date_hierarchy")
def agent_obo_date_hierarchy(parser: Any, token: Any) -> InclusionAdminNode:
    return InclusionAdminNode(
        parser, token, func=date_levels, template_name="date_hierarchy.html", takes_context=False
    )
