"""The consent form: DOT's fields plus the pending-request id and the delegation duration."""

from __future__ import annotations

from typing import Any

from django import forms
from oauth2_provider.forms import AllowForm

from ..conf import agent_obo_settings

FOREVER = "forever"
# The request fields the consent page displays; on POST they must equal what was stored.
BOUND_FIELDS = (
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "response_type",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "claims",
    "resource",
)


def duration_choices() -> list[tuple[str, str]]:
    return [
        (str(seconds) if seconds else FOREVER, label)
        for seconds, label in agent_obo_settings.DELEGATION_DURATIONS
    ]


def parse_duration(value: str) -> int | None:
    """The chosen duration in seconds (None: until revoked); only configured choices pass.

    An absent choice (a client that posts only the hidden fields) means the site default.
    """
    if not value:
        return agent_obo_settings.DEFAULT_DELEGATION_DURATION
    allowed = {str(s) if s else FOREVER: s for s, _ in agent_obo_settings.DELEGATION_DURATIONS}
    if value not in allowed:
        raise ValueError(value)
    return allowed[value]


class DurationForm(forms.Form):
    """How long a delegation lasts: the consent page's and the device confirmation's choice."""

    # Checked by parse_duration in the view, so an unoffered value is audited as tampering.
    duration = forms.CharField(required=False, label="Allow for", widget=forms.Select)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["duration"].widget.choices = duration_choices()
        default = agent_obo_settings.DEFAULT_DELEGATION_DURATION
        self.fields["duration"].initial = str(default) if default else FOREVER


class ConsentForm(DurationForm, AllowForm):
    consent_id = forms.CharField(widget=forms.HiddenInput())
