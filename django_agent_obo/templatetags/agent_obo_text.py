"""``{{ value|breakable }}``: a long id (an actor URL, a client id) that a phone may wrap after
``/``, ``:``, ``.``, ``?``, ``&`` or ``=`` (``<wbr>``) rather than in the middle of a word."""

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

BREAK_AFTER = re.compile(r"([/:.?&=_])")


@register.filter
def breakable(value: object) -> SafeString:
    return mark_safe(BREAK_AFTER.sub(r"\1<wbr>", str(escape(value))))  # noqa: S308 (escaped first)
