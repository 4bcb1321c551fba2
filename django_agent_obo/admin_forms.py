"""The agent registration form and the agent's own client credentials (SPEC §3), for the admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest
from oauth2_provider.models import get_application_model
from oauth2_provider.scopes import get_scopes_backend

from .agent_keys import KeySetError, validate_jwks
from .authorization_details import types_supported
from .models import Agent


def show_secret(request: HttpRequest, agent: Agent, secret: str) -> None:
    assert agent.credentials is not None
    messages.warning(
        request,
        f"Credentials of {agent.actor_id}: client_id {agent.credentials.client_id}, client_secret {secret} "
        "— copy the secret now, it is stored hashed and will not be shown again.",
    )


class OptionalJSONField(forms.JSONField):
    """A JSON box that shows nothing, not the literal ``null``, when there is no value."""

    def prepare_value(self, value: Any) -> Any:
        return "" if value is None else super().prepare_value(value)


class AgentForm(forms.ModelForm):
    """Scopes as checkboxes from DOT's scopes backend; keys checked like ``create_agent --jwks``."""

    allowed_scopes = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The most this agent may ever be granted; each user still consents.",
    )
    authorization_details_types = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Authorization details types",
        help_text="RFC 9396 types it may be granted (AUTHORIZATION_DETAILS_TYPES); none ticked: any.",
    )
    jwks = OptionalJSONField(
        required=False,
        label="JWK Set",
        help_text='Public keys for self-signed actor assertions: {"keys": [...]} (RFC 7517 §5).',
    )
    logo_uri = forms.URLField(required=False, assume_scheme="https")
    jwks_uri = forms.URLField(
        required=False,
        assume_scheme="https",
        label="JWK Set URI",
        help_text="Where the agent publishes its keys.",
    )
    create_credentials = forms.BooleanField(
        required=False,
        label="Create its own client credentials",
        help_text="A confidential client for client_credentials; the secret is shown once after saving.",
    )

    class Meta:
        model = Agent
        fields = (
            "actor_id",
            "name",
            "publisher",
            "description",
            "logo_uri",
            "allowed_clients",
            "allowed_scopes",
            "authorization_details_types",
            "valid_until",
            "jwks",
            "jwks_uri",
            "accepts_delegation_from",
            "require_dpop",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        known = get_scopes_backend().get_all_scopes()
        current = self.instance.allowed_scopes.split() if self.instance.pk else []
        choices = {name: f"{name} — {description}" for name, description in known.items()}
        choices.update({name: f"{name} (not a known scope)" for name in current if name not in known})
        field = self.fields["allowed_scopes"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = list(choices.items())
        self.initial["allowed_scopes"] = current
        clients = self.fields["allowed_clients"]
        assert isinstance(clients, forms.ModelMultipleChoiceField)
        # An agent's own credential client proves that agent; it never runs agents for users.
        clients.queryset = get_application_model().objects.filter(agent_identity__isnull=True)
        types = self.instance.authorization_details_types.split() if self.instance.pk else []
        details_field = self.fields["authorization_details_types"]
        assert isinstance(details_field, forms.MultipleChoiceField)
        details_field.choices = [(name, name) for name in dict.fromkeys([*types_supported(), *types])]
        self.initial["authorization_details_types"] = types
        if self.instance.credentials_id:
            self.fields["create_credentials"].disabled = True
            self.fields[
                "create_credentials"
            ].help_text = "It has credentials; use the action to issue a new secret."

    def clean_allowed_scopes(self) -> str:
        return " ".join(sorted(self.cleaned_data["allowed_scopes"]))

    def clean_authorization_details_types(self) -> str:
        return " ".join(sorted(self.cleaned_data["authorization_details_types"]))

    def clean_jwks(self) -> dict[str, Any] | None:
        document = self.cleaned_data.get("jwks")
        if document in (None, "", {}):
            return None
        try:
            return validate_jwks(document)
        except KeySetError as exc:
            raise forms.ValidationError(f"Not a usable JWK Set: {exc}") from exc
