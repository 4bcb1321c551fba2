"""``{% agent_obo_pending_requests %}``: the link and badge to ``/agents/requests/``."""

from typing import Any

from django import template

from ..backchannel import pending_count

register = template.Library()


@register.inclusion_tag("django_agent_obo/selfservice/pending_badge.html", takes_context=True)
def agent_obo_pending_requests(context: dict[str, Any]) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"pending": pending_count(user) if user is not None else 0}
