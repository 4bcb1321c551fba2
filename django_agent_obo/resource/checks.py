"""System checks ``agent_obo.E101``… for the resource-server settings (``RS_*``)."""

from __future__ import annotations

from typing import Any

from django.core import checks

from ..conf import agent_obo_settings
from .revocation import MODES

ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


def check_resource_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    mode = agent_obo_settings.RS_REVOCATION_MODE
    if mode not in MODES:
        errors.append(
            checks.Error(
                f"AGENT_OBO['RS_REVOCATION_MODE'] is {mode!r}.",
                hint=f"Choose one of {', '.join(MODES)}.",
                id="agent_obo.E101",
            )
        )
    unsafe = sorted(set(agent_obo_settings.RS_ALGORITHMS) - ASYMMETRIC_ALGORITHMS)
    if unsafe or not agent_obo_settings.RS_ALGORITHMS:
        errors.append(
            checks.Error(
                f"AGENT_OBO['RS_ALGORITHMS'] allows {', '.join(unsafe) or 'nothing'}.",
                hint="List asymmetric JWS algorithms only, e.g. ['RS256', 'ES256', 'EdDSA'].",
                id="agent_obo.E102",
            )
        )
    rate = agent_obo_settings.RS_AUDIT_SAMPLE_RATE
    if not isinstance(rate, int | float) or not 0 <= rate <= 1:
        errors.append(
            checks.Error(
                f"AGENT_OBO['RS_AUDIT_SAMPLE_RATE'] is {rate!r}.",
                hint="Use a number from 0 to 1 (the fraction of requests audited).",
                id="agent_obo.E103",
            )
        )
    return errors
