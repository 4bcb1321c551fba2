"""System checks ``agent_obo.E101``… for the resource-server settings (``RS_*``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks

from ..conf import agent_obo_settings
from .revocation import MODES

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")

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
    errors += check_key_source_and_htu()
    return errors


def check_key_source_and_htu() -> list[checks.CheckMessage]:
    """``W110``: a JWK Set over plain http (anyone on the path serves their own keys);
    ``W111``: a DPoP ``htu`` compared with a ``Host`` that ``ALLOWED_HOSTS`` lets the caller choose."""
    found: list[checks.CheckMessage] = []
    uri = agent_obo_settings.RS_JWKS_URI
    if uri and urlsplit(str(uri)).scheme == "http" and urlsplit(str(uri)).hostname not in LOOPBACK_HOSTS:
        found.append(
            checks.Warning(
                f"AGENT_OBO['RS_JWKS_URI'] is fetched over plain http ({uri}).",
                hint="Use the https jwks_uri: whoever can alter the answer can sign tokens.",
                id="agent_obo.W110",
            )
        )
    wildcard = [host for host in settings.ALLOWED_HOSTS if host == "*" or host.startswith(".")]
    if wildcard and not agent_obo_settings.RS_EXTERNAL_URL:
        found.append(
            checks.Warning(
                f"ALLOWED_HOSTS accepts {', '.join(wildcard)} and AGENT_OBO['RS_EXTERNAL_URL'] is not set: "
                "a DPoP proof's htu is compared with the Host header the caller chose.",
                hint="Set RS_EXTERNAL_URL to this API's public origin, e.g. 'https://api.example.com', "
                "or list exact hosts.",
                id="agent_obo.W111",
            )
        )
    return found
