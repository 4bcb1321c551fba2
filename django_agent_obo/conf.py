"""The ``AGENT_OBO`` settings dict, read through :data:`agent_obo_settings`.

Modelled on DOT's ``oauth2_settings``: defaults, import strings resolved lazily, values
cached until Django's ``setting_changed`` signal says ``AGENT_OBO`` changed. Nothing is
read from ``django.conf.settings`` at import time.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

DEFAULTS: dict[str, Any] = {
    # Issuer identifier (RFC 8414 §2): the `iss` of every token we sign. Required.
    "ISSUER": None,
    # `aud` of access tokens when the client sent no RFC 8707 `resource`.
    "DEFAULT_AUDIENCE": None,
    # Server signing keys: a folder holding a key ring managed by `rotate_signing_key`
    # (created on first use when AUTO_CREATE_SIGNING_KEY is on), and/or inline keys.
    "SIGNING_KEY_DIR": None,
    # Inline keys, e.g. from the environment: [{"kid": ..., "alg": "RS256", "private_key": PEM}].
    # The first is the active signing key; the rest are only published (rotation).
    "SIGNING_KEYS": [],
    "SIGNING_ALGORITHM": "RS256",
    "AUTO_CREATE_SIGNING_KEY": False,
    # Lifetimes (seconds).
    "AGENT_ACCESS_TOKEN_EXPIRE_SECONDS": 600,
    "ACTOR_TOKEN_EXPIRE_SECONDS": 300,
    # Self-signed actor assertions (RFC 7523 §3): the longest `exp - iat` we accept.
    "ACTOR_ASSERTION_MAX_LIFETIME_SECONDS": 300,
    "CLOCK_SKEW_SECONDS": 30,
    # A refresh of an agent token must present the agent's actor token again.
    "REFRESH_REQUIRES_ACTOR_TOKEN": True,
    "ACTOR_TOKEN_MAX_BYTES": 8192,
    # Asymmetric algorithms we accept on actor tokens; HMAC and "none" are never accepted.
    "ACTOR_TOKEN_ALGORITHMS": [
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
        "ES256",
        "ES384",
        "EdDSA",
    ],
    # Remote agent key sets (`jwks_uri`): fetch timeout and cache lifetime.
    "JWKS_FETCH_TIMEOUT_SECONDS": 3,
    "JWKS_CACHE_SECONDS": 300,
    # Pending consent requests live this long in the user's session.
    "CONSENT_TTL_SECONDS": 600,
    # Delegation durations the consent screen offers: (seconds or None for "until revoked", label).
    "DELEGATION_DURATIONS": [
        (3600, "1 hour"),
        (86400, "1 day"),
        (30 * 86400, "30 days"),
        (None, "Until I revoke it"),
    ],
    "DEFAULT_DELEGATION_DURATION": 86400,
    # Policy hooks a site overrides (see adapter.py).
    "ADAPTER": "django_agent_obo.adapter.DefaultAgentOBOAdapter",
}

IMPORT_STRINGS = ("ADAPTER",)


class AgentOBOSettings:
    """Attribute access to ``settings.AGENT_OBO`` with defaults and resolved imports."""

    def __init__(self, defaults: dict[str, Any], import_strings: tuple[str, ...]) -> None:
        self.defaults = defaults
        self.import_strings = import_strings
        self._cached: set[str] = set()

    @property
    def user_settings(self) -> dict[str, Any]:
        return getattr(settings, "AGENT_OBO", {}) or {}

    def __getattr__(self, attr: str) -> Any:
        if attr not in self.defaults:
            raise AttributeError(f"Invalid AGENT_OBO setting: {attr}")
        value = self.user_settings.get(attr, self.defaults[attr])
        if value and attr in self.import_strings and isinstance(value, str):
            value = import_string(value)
        self._cached.add(attr)
        setattr(self, attr, value)
        return value

    def reload(self) -> None:
        for attr in self._cached:
            delattr(self, attr)
        self._cached.clear()


agent_obo_settings = AgentOBOSettings(DEFAULTS, IMPORT_STRINGS)


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting in ("AGENT_OBO", "OAUTH2_PROVIDER"):
        agent_obo_settings.reload()
        from . import keys

        keys.clear_cache()


setting_changed.connect(_reload)
