"""System checks ``agent_obo.E180``… on the DPoP settings (RFC 9449; docs/dpop.md)."""

from __future__ import annotations

from typing import Any

from django.core import checks

from .conf import agent_obo_settings
from .dpop import ASYMMETRIC

STORES = ("database", "cache")


def check_dpop_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for code, name in (("E180", "DPOP_ALGORITHMS"), ("E181", "RS_DPOP_ALGORITHMS")):
        value = getattr(agent_obo_settings, name)
        unsafe = sorted(set(value) - ASYMMETRIC) if isinstance(value, list | tuple) else [repr(value)]
        if unsafe or not value:
            errors.append(
                checks.Error(
                    f"AGENT_OBO['{name}'] allows {', '.join(unsafe) or 'nothing'}.",
                    hint="RFC 9449 §4.3: asymmetric JWS algorithms only, e.g. ['ES256', 'EdDSA', 'RS256'].",
                    id=f"agent_obo.{code}",
                )
            )
    for name in ("DPOP_REPLAY_STORE", "RS_DPOP_REPLAY_STORE"):
        value = getattr(agent_obo_settings, name)
        if value not in STORES:
            errors.append(
                checks.Error(
                    f"AGENT_OBO['{name}'] is {value!r}.",
                    hint="Choose 'database' or 'cache' (a cache shared by every process).",
                    id="agent_obo.E182",
                )
            )
    return errors
