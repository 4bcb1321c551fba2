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
    # Token exchange (RFC 8693): the most actors one `act` chain may hold (the first
    # agent counts as 1), and the `resource`/`audience` values an exchange may target
    # besides the subject token's own audience and DEFAULT_AUDIENCE (exact match).
    "MAX_DELEGATION_DEPTH": 3,
    "EXCHANGE_AUDIENCES": [],
    "ACTOR_TOKEN_MAX_BYTES": 8192,
    # Token endpoint: any longer parameter is refused before parsing; requests per authenticated
    # client per window, counted in Django's cache ("60/min"; None: off).
    "TOKEN_PARAMETER_MAX_BYTES": 8192,
    "TOKEN_RATE_LIMIT": "600/min",
    # Token requests that authenticate no client, per source address and per claimed client id
    # (oauth/throttle.py); over it such failures get 429; an authenticating client is never
    # limited by them. None: off.
    "TOKEN_FAILURE_RATE_LIMIT": "120/min",
    # Wrong user codes entered on the device page, per signed-in user and per address
    # (RFC 8628 §5.1). None: off.
    "DEVICE_USER_CODE_RATE_LIMIT": "10/min",
    # Where the rate limits count: "cache" (Django's default cache: Redis, Memcached) or
    # "database" (RateCounter rows, one statement a count; for a site whose cache is the database).
    "RATE_LIMIT_STORE": "cache",
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
    # RFC 7662 §4: who learns that a token is active. Besides the client a token was issued to,
    # the resource servers registered here, by their client_id, each with the audiences it
    # serves: {"rs-client-id": ["https://api.example.com/"]}. Everyone else gets {"active": false}.
    "INTROSPECTION_RESOURCE_SERVERS": {},
    # DPoP (RFC 9449, docs/dpop.md): proofs at the token endpoint bind tokens to a key.
    # DPOP_REQUIRED: every token request needs a proof (else per agent / per client, admin).
    "DPOP_REQUIRED": False,
    "DPOP_ALGORITHMS": ["ES256", "ES384", "EdDSA", "RS256", "PS256"],
    # A proof's `iat` may be this old (plus CLOCK_SKEW_SECONDS); its jti is single-use as long.
    "DPOP_PROOF_MAX_AGE_SECONDS": 60,
    # Demand a server nonce (RFC 9449 §8): `use_dpop_nonce` and a `DPoP-Nonce` header. Nonces
    # rotate every DPOP_NONCE_LIFETIME_SECONDS (the previous one still passes); an HMAC under
    # DPOP_NONCE_SECRET (None: SECRET_KEY), so every process issues and accepts the same ones.
    "DPOP_NONCE_REQUIRED": False,
    "DPOP_NONCE_LIFETIME_SECONDS": 300,
    "DPOP_NONCE_SECRET": None,
    # Where used proof jti values are kept: "database" (all processes, pruned by
    # prune_expired) or "cache" (DPOP_REPLAY_CACHE_ALIAS: share it between processes).
    "DPOP_REPLAY_STORE": "database",
    "DPOP_REPLAY_CACHE_ALIAS": "default",
    # Asynchronous approval (OpenID CIBA, /o/bc-authorize/): a request's lifetime when the
    # client sends no `requested_expiry`, the longest one honoured, the polling interval, the
    # most pending requests per user, and the timeout of a ping to the client.
    "BACKCHANNEL_EXPIRES_IN_SECONDS": 300,
    "BACKCHANNEL_MAX_EXPIRES_IN_SECONDS": 900,
    "BACKCHANNEL_INTERVAL_SECONDS": 5,
    "BACKCHANNEL_MAX_PENDING_PER_USER": 20,
    "BACKCHANNEL_NOTIFICATION_TIMEOUT_SECONDS": 3,
    # Rich authorization requests (RFC 9396): {"type name": "dotted.path.to.DetailType subclass"}.
    "AUTHORIZATION_DETAILS_TYPES": {},
    # Agents named by an https URL (agent documents, SPEC §11): "off", "allowlist" (hosts in
    # AGENT_DOCUMENT_HOSTS, ALLOWED_HOSTS syntax) or "pending" (stored inactive until an admin
    # approves). AGENT_DOCUMENT_SCOPES: what such an agent may be granted until an admin edits it.
    "AGENT_DOCUMENTS": "off",
    "AGENT_DOCUMENT_HOSTS": [],
    "AGENT_DOCUMENT_SCOPES": [],
    # Policy hooks a site overrides (see adapter.py).
    "ADAPTER": "django_agent_obo.adapter.DefaultAgentOBOAdapter",
    # --- resource server (django_agent_obo.resource; docs/resource-server-settings.md) ---
    # False in a project that only validates tokens: skips the authorization-server checks.
    "AUTHORIZATION_SERVER": True,
    # The `aud` value(s) this resource accepts; None: DEFAULT_AUDIENCE (else ISSUER).
    "RS_AUDIENCE": None,
    # The `iss` tokens must carry; None: ISSUER.
    "RS_ISSUER": None,
    # None: verify with this server's own keys in-process; a URL: fetch that JWK Set.
    "RS_JWKS_URI": None,
    # Remote JWK Set: re-fetched after this many seconds, and on an unknown `kid` at most
    # once per RS_JWKS_MIN_REFRESH_SECONDS (no fetch storm). Timeout: JWKS_FETCH_TIMEOUT_SECONDS.
    "RS_JWKS_CACHE_SECONDS": 300,
    "RS_JWKS_MIN_REFRESH_SECONDS": 30,
    # Signature algorithms accepted on access tokens (never "none", never HMAC).
    "RS_ALGORITHMS": ["RS256", "ES256", "EdDSA"],
    # Leeway for exp/nbf/iat, in seconds.
    "RS_LEEWAY_SECONDS": 30,
    "RS_MAX_TOKEN_BYTES": 8192,
    # Revocation check: "database" (immediate), "cache" (Django cache, stale at most
    # RS_REVOCATION_CACHE_SECONDS; revocations also evict at once) or "none" (until expiry).
    "RS_REVOCATION_MODE": "database",
    "RS_REVOCATION_CACHE_SECONDS": 30,
    "RS_REVOCATION_CACHE_ALIAS": "default",
    # RFC 9728 metadata URL advertised in challenges; None: this site's
    # /.well-known/oauth-protected-resource route.
    "RS_RESOURCE_METADATA_URL": None,
    # `resource.accessed` audit rows for protected requests, for this fraction of them.
    "RS_AUDIT_ACCESS": False,
    "RS_AUDIT_SAMPLE_RATE": 1.0,
    # DPoP at resource servers (RFC 9449 §7): `Authorization: DPoP` with a proof is accepted
    # beside Bearer; RS_DPOP_REQUIRED refuses Bearer. A bound token is never accepted as Bearer.
    "RS_DPOP_REQUIRED": False,
    "RS_DPOP_ALGORITHMS": ["ES256", "ES384", "EdDSA", "RS256", "PS256"],
    "RS_DPOP_PROOF_MAX_AGE_SECONDS": 60,
    "RS_DPOP_NONCE_REQUIRED": False,
    # Proof jti replay store: "cache" (RS_DPOP_REPLAY_CACHE_ALIAS; share it between
    # processes, e.g. Redis) or "database".
    "RS_DPOP_REPLAY_STORE": "cache",
    "RS_DPOP_REPLAY_CACHE_ALIAS": "default",
    # The URL clients see, behind a proxy that rewrites host or scheme: the proof's `htu`
    # must be this origin (e.g. "https://api.example.com", optionally with a path prefix)
    # followed by the request's path. None: the request's own absolute URL.
    "RS_EXTERNAL_URL": None,
    # --- protected resources and self-registered clients (docs/mcp.md) ---
    # RFC 9728 path-aware metadata: {identifier: {"scopes": [...], "name": "..."}}; DOT's
    # OAUTH2_PROTECTED_RESOURCE_IDENTIFIER (the root document's resource) is included.
    "PROTECTED_RESOURCES": {},
    # Grant types a client may register for (RFC 7591, DOT's DCR_ENABLED), and the SHA-256 hex
    # digests of the initial access tokens InitialAccessTokenPermission accepts.
    "REGISTRATION_GRANT_TYPES": ["authorization_code", "refresh_token"],
    "REGISTRATION_INITIAL_ACCESS_TOKENS": [],
    # A self-registered client starts no flow until an admin approves it (ClientApproval).
    "REGISTRATION_REQUIRES_APPROVAL": False,
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
