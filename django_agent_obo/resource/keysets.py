"""Where a resource server finds the key for a token's ``kid`` (RFC 7517 JWK Sets).

Each is a :class:`~django_agent_obo.jose.KeySet`, the parameter of the one verifier
(:func:`~django_agent_obo.jose.verify`):

* :class:`LocalKeySet`: the authorization server's own keys, in-process (``keys.key_for_kid``).
* :class:`RemoteKeySet`: a ``jwks_uri`` fetched with a timeout and kept in process memory;
  re-fetched when older than ``RS_JWKS_CACHE_SECONDS`` and on an unknown ``kid``, but at
  most once per ``RS_JWKS_MIN_REFRESH_SECONDS`` whatever tokens arrive (no fetch storm).

Public keys are built once per key, never per request. A key is only ever taken from
the configured set, never from the token's own ``jku``/``x5u``/``jwk`` headers.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import jwt
from django.core.signals import setting_changed

from .. import keys
from ..conf import agent_obo_settings
from ..jose import KeySet

log = logging.getLogger("django_agent_obo.resource")

MAX_JWKS_BYTES = 256 * 1024


class LocalKeySet:
    """The server's own signing keys, each public key derived once.

    A known ``kid`` is looked up in the key ring again at most once per
    ``RECHECK_SECONDS`` (a ring lookup stats files); a new ``kid`` is looked up at once.
    """

    RECHECK_SECONDS = 1.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._known: dict[str, tuple[float, keys.SigningKey, Any]] = {}

    def get(self, kid: str, alg: str) -> Any | None:
        now = self.clock()
        entry = self._known.get(kid)
        if entry is None or now - entry[0] >= self.RECHECK_SECONDS:
            signing = keys.key_for_kid(kid)
            if signing is None:
                self._known.pop(kid, None)
                return None
            public = entry[2] if entry is not None and entry[1] is signing else signing.public_key
            entry = (now, signing, public)
            self._known[kid] = entry
        return entry[2] if entry[1].alg == alg else None


def parse_jwks(document: Any, algorithms: list[str]) -> dict[str, tuple[str | None, Any]]:
    """``{kid: (alg or None, public key)}`` for the usable signing keys of a JWK Set."""
    found: dict[str, tuple[str | None, Any]] = {}
    for jwk in document.get("keys", []) if isinstance(document, dict) else []:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            continue
        if jwk.get("kty") not in ("RSA", "EC", "OKP") or "d" in jwk or jwk.get("use", "sig") != "sig":
            continue
        alg = jwk.get("alg")
        if alg is not None and alg not in algorithms:
            continue
        try:
            found[jwk["kid"]] = (alg, jwt.PyJWK(jwk).key)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            log.warning("Skipping unusable key %r in the JWK Set", jwk.get("kid"))
    return found


class RemoteKeySet:
    """A remote JWK Set with a bounded refresh rate; thread-safe, one fetch at a time."""

    def __init__(
        self,
        uri: str,
        *,
        timeout: float,
        cache_seconds: float,
        min_refresh_seconds: float,
        algorithms: list[str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.uri = uri
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self.min_refresh_seconds = min_refresh_seconds
        self.algorithms = list(algorithms)
        self.clock = clock
        self._keys: dict[str, tuple[str | None, Any]] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = threading.Lock()

    def get(self, kid: str, alg: str) -> Any | None:
        now = self.clock()
        if self._fetched_at is None or now - self._fetched_at >= self.cache_seconds:
            self._refresh(now)
        entry = self._keys.get(kid)
        if entry is None:
            self._refresh(now)
            entry = self._keys.get(kid)
        if entry is None or entry[0] not in (None, alg):
            return None
        return entry[1]

    def _refresh(self, now: float) -> None:
        with self._lock:
            if self._attempted_at is not None and now - self._attempted_at < self.min_refresh_seconds:
                return
            self._attempted_at = now
            try:
                document = self._fetch()
            except (OSError, ValueError) as exc:
                log.warning(
                    "Could not fetch the JWK Set at %s: %s (keeping %d keys)", self.uri, exc, len(self._keys)
                )
                return
            self._keys = parse_jwks(document, self.algorithms)
            self._fetched_at = now

    def _fetch(self) -> Any:
        if not self.uri.startswith(("https://", "http://")):
            raise ValueError("RS_JWKS_URI must be an http(s) URL")
        request = urllib.request.Request(self.uri, headers={"Accept": "application/json"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - scheme checked
            body = response.read(MAX_JWKS_BYTES + 1)
        if len(body) > MAX_JWKS_BYTES:
            raise ValueError("the JWK Set is larger than 256 KiB")
        try:
            document = json.loads(body)
        except RecursionError as exc:  # absurdly nested JSON
            raise ValueError("the JWK Set is nested too deeply") from exc
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("not a JWK Set (RFC 7517 §5: an object with a keys array)")
        return document


_current: dict[str, KeySet] = {}


def key_set() -> KeySet:
    """The process-wide key set chosen by ``RS_JWKS_URI`` (rebuilt when settings change)."""
    found = _current.get("set")
    if found is None:
        uri = agent_obo_settings.RS_JWKS_URI
        found = (
            RemoteKeySet(
                uri,
                timeout=agent_obo_settings.JWKS_FETCH_TIMEOUT_SECONDS,
                cache_seconds=agent_obo_settings.RS_JWKS_CACHE_SECONDS,
                min_refresh_seconds=agent_obo_settings.RS_JWKS_MIN_REFRESH_SECONDS,
                algorithms=agent_obo_settings.RS_ALGORITHMS,
            )
            if uri
            else LocalKeySet()
        )
        _current["set"] = found
    return found


def reset() -> None:
    _current.clear()


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in ("AGENT_OBO", "OAUTH2_PROVIDER"):
        reset()


setting_changed.connect(_on_setting_changed, dispatch_uid="agent_obo_resource_keysets")
