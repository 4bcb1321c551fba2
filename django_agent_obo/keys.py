"""The server's signing keys: the active key, rotation, and the published JWK Set (RFC 7517).

Keys come from two places, both outside the database:

* ``AGENT_OBO["SIGNING_KEYS"]``: inline PEM keys (e.g. from the environment); the first
  signs, the others are only published.
* ``AGENT_OBO["SIGNING_KEY_DIR"]``: a key ring on disk (``keyring.json`` + one ``<kid>.pem``
  per key, mode 0600) managed by ``rotate_signing_key``. A new key can be published before it
  signs (``sign_from``), so resource servers that cache the JWK Set know it by then; the key
  that signs is the one whose ``sign_from`` came last. A rotated-out key stays published
  until every token it signed has expired, unless it is retired as compromised.

Parsed keys are cached per process and re-read when ``keyring.json`` changes, so every
process behind a load balancer converges on the same ring without shared memory.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from .conf import agent_obo_settings

SIGNING_ALGORITHMS = ("RS256", "ES256", "EdDSA")
RING_FILE = "keyring.json"
# How long resource servers and HTTP caches may keep the JWK Set (its Cache-Control), hence how
# long a scheduled rotation publishes a key before it signs.
JWKS_MAX_AGE_SECONDS = 300


class KeyConfigurationError(RuntimeError):
    """No usable signing key is configured."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private_key: Any
    publish_until: float | None = None  # None: published while configured
    sign_from: float = 0  # when it starts signing (a ring key published ahead)

    @cached_property
    def public_key(self) -> Any:
        """Derived once per key: a fresh key object makes each verification half again as slow."""
        return self.private_key.public_key()

    def public_jwk(self) -> dict[str, Any]:
        jwk = _to_jwk(self.public_key)
        jwk.update({"kid": self.kid, "alg": self.alg, "use": "sig"})
        return jwk


def _to_jwk(public_key: Any) -> dict[str, Any]:
    if isinstance(public_key, rsa.RSAPublicKey):
        return dict(RSAAlgorithm.to_jwk(public_key, as_dict=True))
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return dict(ECAlgorithm.to_jwk(public_key, as_dict=True))
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return dict(OKPAlgorithm.to_jwk(public_key, as_dict=True))
    raise KeyConfigurationError(f"Unsupported key type {type(public_key).__name__}")


def thumbprint(public_key: Any) -> str:
    """RFC 7638 JWK thumbprint, used as the ``kid`` of generated keys."""
    jwk = _to_jwk(public_key)
    required = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}
    members = {k: jwk[k] for k in required[jwk["kty"]]}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def generate_private_key(alg: str) -> Any:
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise KeyConfigurationError(f"Unsupported signing algorithm {alg!r}; choose one of {SIGNING_ALGORITHMS}")


def private_pem(private_key: Any) -> bytes:
    return bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


def key_weakness(private_key: Any) -> str | None:
    """Why a key is too weak to sign with, or None."""
    if isinstance(private_key, rsa.RSAPrivateKey) and private_key.key_size < 2048:
        return f"RSA key of {private_key.key_size} bits (at least 2048 needed)"
    if isinstance(private_key, ec.EllipticCurvePrivateKey) and private_key.curve.key_size < 256:
        return f"EC key on {private_key.curve.name}"
    return None


def _alg_for(private_key: Any, wanted: str | None) -> str:
    if isinstance(private_key, rsa.RSAPrivateKey):
        return wanted if wanted in ("RS256", "RS384", "RS512", "PS256") else "RS256"
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        return "ES256"
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return "EdDSA"
    raise KeyConfigurationError(f"Unsupported private key type {type(private_key).__name__}")


def _load_pem(pem: str | bytes) -> Any:
    data = pem.encode() if isinstance(pem, str) else pem
    return serialization.load_pem_private_key(data, password=None)


# --- the key ring on disk -----------------------------------------------------------------


def _ring_dir() -> Path | None:
    folder = agent_obo_settings.SIGNING_KEY_DIR
    return Path(folder) if folder else None


def _read_ring(folder: Path) -> dict[str, Any]:
    path = folder / RING_FILE
    if not path.exists():
        return {"active": None, "keys": []}
    return dict(json.loads(path.read_text()))


def _write_ring(folder: Path, ring: dict[str, Any]) -> None:
    tmp = folder / (RING_FILE + ".tmp")
    tmp.write_text(json.dumps(ring, indent=2))
    os.replace(tmp, folder / RING_FILE)


class _RingLock:
    """An exclusive file lock so concurrent processes never write the ring at once."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.fd = os.open(folder / ".lock", os.O_CREAT | os.O_RDWR, 0o600)

    def __enter__(self) -> _RingLock:
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _max_token_lifetime() -> int:
    from oauth2_provider.settings import oauth2_settings

    return int(
        max(
            oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS,
            agent_obo_settings.AGENT_ACCESS_TOKEN_EXPIRE_SECONDS,
            agent_obo_settings.ACTOR_TOKEN_EXPIRE_SECONDS,
        )
        + agent_obo_settings.CLOCK_SKEW_SECONDS
    )


def rotate(
    alg: str | None = None, *, publish_ahead: float = 0, compromised: bool = False
) -> tuple[SigningKey, list[str]]:
    """Create a new key in the ring; retire the others; drop keys past publication.

    The new key is published at once and signs ``publish_ahead`` seconds from now (at once
    when the ring has no key yet); until then the current key goes on signing. A retired key
    stays published until every token it signed has expired; with ``compromised`` it leaves
    the ring at once (its tokens stop verifying) and the new key signs at once. Returns the
    new key and the kids removed from the ring.
    """
    folder = _ring_dir()
    if folder is None:
        raise KeyConfigurationError("AGENT_OBO['SIGNING_KEY_DIR'] is not set; nowhere to keep a key ring.")
    with _RingLock(folder):
        ahead = 0 if compromised else publish_ahead
        result = _rotate_locked(folder, alg or agent_obo_settings.SIGNING_ALGORITHM, ahead, compromised)
    clear_cache()
    return result


def sign_from(entry: dict[str, Any]) -> float:
    """When a ring entry starts signing (rings written before pre-publication: when created)."""
    return float(entry.get("sign_from", entry.get("created_at", 0)))


def signs_at(entry: dict[str, Any], moment: float) -> bool:
    """Whether a ring entry is the one that signs at ``moment``: started, and not yet
    succeeded (``sign_until``: when the next key started)."""
    until = entry.get("sign_until")
    return sign_from(entry) <= moment and (until is None or moment < until)


def _rotate_locked(
    folder: Path, alg: str, publish_ahead: float = 0, compromised: bool = False
) -> tuple[SigningKey, list[str]]:
    private_key = generate_private_key(alg)
    kid = thumbprint(private_key.public_key())
    now = time.time()
    ring = _read_ring(folder)
    live = [e for e in ring["keys"] if not e.get("publish_until") or e["publish_until"] >= now]
    starts = now + publish_ahead if live else now  # the first key signs at once
    if compromised:  # no key of the ring may verify another token
        removed = [e["kid"] for e in ring["keys"]]
    else:
        for entry in ring["keys"]:
            if entry.get("publish_until") is None:  # it signs until the new key does
                entry["sign_until"] = starts
                entry["publish_until"] = starts + _max_token_lifetime()
        removed = [e["kid"] for e in ring["keys"] if e.get("publish_until") and e["publish_until"] < now]
    ring["keys"] = [e for e in ring["keys"] if e["kid"] not in removed]
    fd = os.open(folder / f"{kid}.pem", os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private_pem(private_key))
    entry = {"kid": kid, "alg": alg, "created_at": now, "sign_from": starts, "publish_until": None}
    ring["keys"].append(entry)
    ring["active"] = kid  # the newest key: it signs from its sign_from
    _write_ring(folder, ring)
    for old in removed:
        (folder / f"{old}.pem").unlink(missing_ok=True)
    return SigningKey(kid=kid, alg=alg, private_key=private_key, sign_from=starts), removed


def _ensure_ring(folder: Path) -> None:
    """Create the first key when the site asked for it (development, the demo)."""
    if (folder / RING_FILE).exists() or not agent_obo_settings.AUTO_CREATE_SIGNING_KEY:
        return
    with _RingLock(folder):
        if not (folder / RING_FILE).exists():
            _rotate_locked(folder, agent_obo_settings.SIGNING_ALGORITHM)


# --- the cached view of all keys ----------------------------------------------------------

_cache: dict[str, Any] = {}
# How often a process looks at keyring.json for a rotation by another process (seconds).
RECHECK_SECONDS = 1.0


def clear_cache() -> None:
    _cache.clear()


def _ring_stamp(folder: Path | None) -> int | None:
    if folder is None:
        return None
    try:
        return (folder / RING_FILE).stat().st_mtime_ns
    except FileNotFoundError:
        return None


def _load_all() -> tuple[SigningKey | None, list[SigningKey]]:
    """All configured keys, parsed once; re-read when the ring changes or a key's publication ends.

    The hot paths (signing, resource-server verification) cost a dictionary lookup; the
    ring file is looked at no more than once per ``RECHECK_SECONDS``.
    """
    checked = time.monotonic()  # intervals on the monotonic clock; publication ends on the wall clock
    if "keys" in _cache and checked - _cache["checked_at"] < RECHECK_SECONDS:
        return _cache["active"], _cache["keys"]
    folder = _ring_dir()
    if folder is not None:
        _ensure_ring(folder)
    stamp = (_ring_stamp(folder), id(agent_obo_settings.SIGNING_KEYS))
    if _cache.get("stamp") == stamp and time.time() < _cache["fresh_until"]:
        _cache["checked_at"] = checked
        return _cache["active"], _cache["keys"]
    active: SigningKey | None = None
    keys: list[SigningKey] = []
    for index, spec in enumerate(agent_obo_settings.SIGNING_KEYS or []):
        if "private_key_file" in spec:
            private_key = _load_pem(Path(spec["private_key_file"]).read_bytes())
        else:
            private_key = _load_pem(spec["private_key"])
        key = SigningKey(
            kid=spec.get("kid") or thumbprint(private_key.public_key()),
            alg=_alg_for(private_key, spec.get("alg")),
            private_key=private_key,
        )
        keys.append(key)
        if index == 0:
            active = key
    ends: list[float] = []  # when this view of the ring goes stale: a publication ends, a key starts
    if folder is not None:
        now = time.time()
        published = [
            e for e in _read_ring(folder)["keys"] if not e.get("publish_until") or e["publish_until"] >= now
        ]
        signing = [e for e in published if signs_at(e, now)]
        signer = max(signing, key=sign_from)["kid"] if signing else None
        for entry in published:
            private_key = _load_pem((folder / f"{entry['kid']}.pem").read_bytes())
            until = entry.get("publish_until")
            key = SigningKey(entry["kid"], entry["alg"], private_key, until, sign_from(entry))
            keys.append(key)
            if active is None and entry["kid"] == signer:
                active = key
            moments = (entry.get("publish_until"), sign_from(entry), entry.get("sign_until"))
            ends.extend(t for t in moments if t and t > now)
    _cache.update(
        stamp=stamp,
        active=active,
        keys=keys,
        by_kid={k.kid: k for k in keys},
        checked_at=checked,
        fresh_until=min(ends, default=float("inf")),
    )
    return active, keys


def signing_key() -> SigningKey:
    """The key new tokens are signed with."""
    active, _ = _load_all()
    if active is None:
        raise KeyConfigurationError(
            "No signing key: set AGENT_OBO['SIGNING_KEYS'] or AGENT_OBO['SIGNING_KEY_DIR'] "
            "and run `manage.py rotate_signing_key`."
        )
    return active


def published_keys() -> list[SigningKey]:
    return _load_all()[1]


def key_for_kid(kid: str) -> SigningKey | None:
    """A key this server already trusts, by ``kid`` (never from a token's own headers)."""
    _load_all()
    found: SigningKey | None = _cache.get("by_kid", {}).get(kid)
    return found


class ServerKeySet:
    """The key set (:class:`~django_agent_obo.jose.KeySet`) of the tokens this server signs:
    the ring as :func:`key_for_kid` sees it now, a key only for the algorithm it signs with."""

    def get(self, kid: str, alg: str) -> Any | None:
        key = key_for_kid(kid)
        return key.public_key if key is not None and key.alg == alg else None


server_keys = ServerKeySet()


def jwks_document() -> dict[str, Any]:
    """The public JWK Set served at the JWKS endpoint (RFC 7517 §5)."""
    return {"keys": [key.public_jwk() for key in published_keys()]}
