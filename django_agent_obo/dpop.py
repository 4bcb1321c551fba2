"""DPoP proofs (RFC 9449), shared by the authorization server and the resource toolkit.

* :func:`verify_proof`: every check of RFC 9449 §4.3 on one ``DPoP`` header, in the order
  the RFC lists them; a refusal is a :class:`ProofError` with a stable ``reason``.
* :func:`thumbprint`: the RFC 7638 SHA-256 JWK thumbprint, the ``jkt`` of ``cnf`` (§6.1).
* :class:`Nonces`: server nonces (§8, §9) that rotate every window and hold in every
  process: an HMAC of the window number under the site's secret, no stored state.
* :func:`consume_jti`: a proof's ``jti`` is single-use for as long as its ``iat`` is
  accepted (§11.1), in the database or in Django's cache, never in process memory.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.core.cache import caches
from django.utils.crypto import constant_time_compare, salted_hmac
from jwt.utils import base64url_decode

from . import jose
from .conf import agent_obo_settings
from .refusals import Refusal

PROOF_TYP = "dpop+jwt"  # RFC 9449 §4.2
TOKEN_TYPE = "DPoP"  # RFC 9449 §5 token_type, §7.1 authorization scheme
ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})  # RFC 7518 §6
THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}
REQUIRED_CLAIMS = frozenset({"jti", "htm", "htu", "iat"})  # §4.2 (and ath at a resource server)
MAX_PROOF_BYTES = 8192
MAX_JTI_LENGTH = 255
JKT_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # a base64url SHA-256 digest, no padding
DEFAULT_PORTS = {"http": 80, "https": 443}

DESCRIPTIONS = {
    "dpop_missing": "A DPoP proof is required.",
    "dpop_required": "This client or agent must bind its tokens with a DPoP proof.",
    "dpop_multiple": "Send exactly one DPoP header.",
    "dpop_malformed": "The DPoP proof is not a well-formed JWT.",
    "dpop_typ": "The DPoP proof's typ must be dpop+jwt.",
    "dpop_alg": "The DPoP proof's algorithm is not accepted.",
    "dpop_jwk": "The DPoP proof must carry one asymmetric public key in its jwk header.",
    "dpop_header": "The DPoP proof carries a header that is not accepted.",
    "dpop_signature": "The DPoP proof's signature does not verify with its jwk.",
    "dpop_claims": "The DPoP proof lacks a required claim (jti, htm, htu, iat).",
    "dpop_htm": "The DPoP proof was made for another HTTP method.",
    "dpop_htu": "The DPoP proof was made for another URL.",
    "dpop_iat": "The DPoP proof is too old or issued in the future.",
    "dpop_jti": "The DPoP proof's jti is not acceptable.",
    "dpop_replayed": "The DPoP proof has been used before.",
    "dpop_ath": "The DPoP proof was made for another access token.",
    "dpop_nonce": "A fresh DPoP nonce is required: retry with the nonce in the DPoP-Nonce header.",
    "dpop_key_mismatch": "The DPoP proof was made with another key than the one this is bound to.",
}


class ProofError(Refusal):
    """A DPoP proof refused: ``reason`` names the failed check (see ``DESCRIPTIONS``).

    ``use_nonce`` says the answer is ``use_dpop_nonce`` (§8) rather than ``invalid_dpop_proof``.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(
            reason,
            DESCRIPTIONS.get(reason, "The DPoP proof is invalid."),
            error="use_dpop_nonce" if reason == "dpop_nonce" else "invalid_dpop_proof",
        )

    @property
    def use_nonce(self) -> bool:
        return self.reason == "dpop_nonce"


@dataclass(frozen=True)
class Proof:
    """A verified proof: the key's thumbprint (what tokens are bound to) and its claims."""

    jkt: str
    jti: str
    claims: Mapping[str, Any]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 §3: SHA-256 of the required members, sorted, without whitespace."""
    members = THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None or not all(isinstance(jwk.get(name), str) for name in members):
        raise ProofError("dpop_jwk")
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def access_token_hash(token: str) -> str:
    """``ath`` (§4.2): base64url SHA-256 of the ASCII access token."""
    return b64url(hashlib.sha256(token.encode("ascii", "replace")).digest())


def is_jkt(value: Any) -> bool:
    return isinstance(value, str) and bool(JKT_PATTERN.match(value))


@functools.lru_cache(maxsize=1024)
def normalise_url(url: str) -> str | None:
    """RFC 9449 §4.3 item 9: scheme and host lower case, default port dropped, empty path
    ``/``, percent-escapes upper case (RFC 3986 §6.2.2, §6.2.3); query and fragment ignored.
    None for anything that is not an absolute http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = re.sub(r"%[0-9a-fA-F]{2}", lambda m: m.group(0).upper(), parts.path) or "/"
    return urlunsplit((scheme, netloc, path, "", ""))


# RFC 7518 §3.4: an ECDSA algorithm names its curve and hash.
EC_ALGORITHMS = {
    "ES256": ("secp256r1", hashes.SHA256),
    "ES384": ("secp384r1", hashes.SHA384),
    "ES512": ("secp521r1", hashes.SHA512),
}

Verifier = Callable[[bytes, bytes], bool]


def _ecdsa_verifier(key: ec.EllipticCurvePublicKey, alg: str) -> Verifier:
    """ECDSA straight through ``cryptography``: the JWS signature is ``R || S`` of the curve's
    size (RFC 7518 §3.4), made DER for OpenSSL."""
    curve, hash_class = EC_ALGORITHMS[alg]
    if key.curve.name != curve:
        raise ProofError("dpop_jwk")
    size, scheme = (key.curve.key_size + 7) // 8, ec.ECDSA(hash_class())

    def verify(message: bytes, signature: bytes) -> bool:
        if len(signature) != 2 * size:
            return False
        r, s = int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
        try:
            key.verify(encode_dss_signature(r, s), message, scheme)
        except InvalidSignature:
            return False
        return True

    return verify


def _embedded_key(jwk: Any, alg: str) -> tuple[str, Verifier]:
    """``(thumbprint, verify(signing_input, signature))`` of a proof's ``jwk`` for ``alg``."""
    if not isinstance(jwk, dict) or PRIVATE_MEMBERS.intersection(jwk) or jwk.get("kty") == "oct":
        raise ProofError("dpop_jwk")
    jkt = thumbprint(jwk)
    try:
        key = jwt.PyJWK(jwk, algorithm=alg).key
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError, KeyError) as exc:
        raise ProofError("dpop_jwk") from exc
    if alg in EC_ALGORITHMS:
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise ProofError("dpop_jwk")
        return jkt, _ecdsa_verifier(key, alg)
    algorithm = jwt.get_algorithm_by_name(alg)
    return jkt, lambda message, signature: bool(algorithm.verify(message, key, signature))


@dataclass(frozen=True)
class ProofHeader:
    """A proof's JOSE header, screened once: one client's proofs repeat the same header
    segment (typ, alg, jwk), so its key is built once. Each field answers one check of
    :func:`verify_proof`, which asks them in the RFC's order: ``malformed`` (a refusal
    reason, step 2), ``typ_ok`` (4), ``alg`` (asymmetric, else None; 5), ``jkt`` and
    ``verify`` (None: the ``jwk`` is refused; 6 and 7)."""

    malformed: str | None = None
    typ_ok: bool = False
    alg: str | None = None
    jkt: str | None = None
    verify: Verifier | None = None


@functools.lru_cache(maxsize=256)
def _proof_header(segment: str) -> ProofHeader:
    try:
        header = jose.embedded_key_header(segment + ".")
    except jose.JWTRefused as exc:
        return ProofHeader(malformed="dpop_malformed" if exc.reason == "malformed" else "dpop_header")
    typ_ok, alg = header.get("typ") == PROOF_TYP, header.get("alg")
    if not isinstance(alg, str) or alg not in ASYMMETRIC:
        return ProofHeader(typ_ok=typ_ok)
    try:
        jkt, verify = _embedded_key(header.get("jwk"), alg)
    except ProofError:
        return ProofHeader(typ_ok=typ_ok, alg=alg)
    return ProofHeader(typ_ok=typ_ok, alg=alg, jkt=jkt, verify=verify)


def _claims(payload_segment: str) -> dict[str, Any]:
    """The payload, decoded once and not cached: every proof is new (its ``jti``)."""
    try:
        return jose.json_segment(payload_segment)
    except jose.JWTRefused as exc:
        raise ProofError("dpop_malformed") from exc


def verify_proof(
    value: str | None,
    *,
    method: str,
    urls: Iterable[str],
    algorithms: Collection[str],
    max_age: int,
    leeway: int,
    access_token: str | None = None,
    jkt: str | None = None,
    nonces: Nonces | None = None,
    consume: Callable[[str, str, int], bool] | None = None,
    clock: Callable[[], float] = time.time,
) -> Proof:
    """The checks of RFC 9449 §4.3 on the raw ``DPoP`` header ``value``.

    ``urls``: the request's URL as this server may be known (any one must match ``htu``);
    ``access_token``: the token presented with the proof, whose hash ``ath`` must carry,
    and ``jkt`` the key that token is bound to (resource servers, §7); ``nonces``: when
    given, ``nonce`` must be one of them (§8, §9);
    ``consume(jkt, jti, seconds)`` records the ``jti`` and says False for a replay (§11.1).
    """
    # 1. exactly one header; a server joins repeated header fields with commas.
    if not value:
        raise ProofError("dpop_missing")
    if "," in value or len(value) > MAX_PROOF_BYTES:
        raise ProofError("dpop_multiple" if "," in value else "dpop_malformed")
    # 2. a well-formed JWS; 3. the required claims.
    segments = value.split(".")
    if len(segments) != 3:
        raise ProofError("dpop_malformed")
    header_segment, payload_segment, signature_segment = segments
    header = _proof_header(header_segment)
    if header.malformed:
        raise ProofError(header.malformed)
    claims = _claims(payload_segment)
    if not (REQUIRED_CLAIMS <= claims.keys()) or (access_token is not None and "ath" not in claims):
        raise ProofError("dpop_claims")
    # 4. typ; 5. an asymmetric allow-listed alg; 6. the signature with the embedded key;
    # 7. that key is public.
    if not header.typ_ok:
        raise ProofError("dpop_typ")
    if header.alg is None or header.alg not in algorithms:
        raise ProofError("dpop_alg")
    if header.verify is None or header.jkt is None:
        raise ProofError("dpop_jwk")
    try:
        signature = base64url_decode(signature_segment)
        verified = header.verify(f"{header_segment}.{payload_segment}".encode(), signature)
    except (jwt.InvalidTokenError, ValueError, TypeError) as exc:
        raise ProofError("dpop_signature") from exc
    if not verified:
        raise ProofError("dpop_signature")
    # 8. htm; 9. htu, normalised, without query and fragment.
    if claims["htm"] != method:
        raise ProofError("dpop_htm")
    htu = normalise_url(claims["htu"]) if isinstance(claims["htu"], str) else None
    if htu is None or not any(htu == normalise_url(url) for url in urls):
        raise ProofError("dpop_htu")
    # 10. the server's nonce, when it demands one.
    if nonces is not None and not nonces.accepts(claims.get("nonce")):
        raise ProofError("dpop_nonce")
    # 11. iat within the window.
    iat, now = claims["iat"], clock()
    if (
        isinstance(iat, bool)
        or not isinstance(iat, int | float)
        or not now - max_age - leeway <= iat <= now + leeway
    ):
        raise ProofError("dpop_iat")
    # 12. ath: the hash of the access token presented with it.
    if access_token is not None and not (
        isinstance(claims["ath"], str)
        and constant_time_compare(claims["ath"], access_token_hash(access_token))
    ):
        raise ProofError("dpop_ath")
    if jkt is not None and not constant_time_compare(header.jkt, jkt):
        raise ProofError("dpop_key_mismatch")
    jti = claims["jti"]
    if not isinstance(jti, str) or not 1 <= len(jti) <= MAX_JTI_LENGTH:
        raise ProofError("dpop_jti")
    # Last, so proofs that fail any other check cannot use up identifiers.
    if consume is not None and not consume(header.jkt, jti, max_age + 2 * leeway):
        raise ProofError("dpop_replayed")
    return Proof(jkt=header.jkt, jti=jti, claims=claims)


class Nonces:
    """Server-provided nonces (RFC 9449 §8, §9) without stored state.

    A nonce is ``<window>.<mac>``: the number of the current ``lifetime``-second window and
    an HMAC of it under ``secret`` (default: ``SECRET_KEY``) salted with ``purpose``, so every
    process issues and accepts the same nonces, an authorization server's nonce is no use at
    a resource server, and a nonce stops working after one to two windows.
    """

    def __init__(
        self, purpose: str, lifetime: int, secret: str | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.salt = "django_agent_obo.dpop.nonce." + purpose
        self.lifetime = max(1, int(lifetime))
        self.secret = secret
        self.clock = clock

    def _mac(self, window: int) -> str:
        digest = salted_hmac(self.salt, str(window), secret=self.secret, algorithm="sha256").digest()
        return b64url(digest[:18])

    def _window(self) -> int:
        return int(self.clock() // self.lifetime)

    def current(self) -> str:
        window = self._window()
        return f"{window}.{self._mac(window)}"

    def accepts(self, nonce: Any) -> bool:
        if not isinstance(nonce, str) or len(nonce) > 64:
            return False
        window_text, _, mac = nonce.partition(".")
        if not window_text.isdigit():
            return False
        window = int(window_text)
        return window in (self._window(), self._window() - 1) and constant_time_compare(
            mac, self._mac(window)
        )


def server_nonces(purpose: str) -> Nonces:
    """This site's nonces for ``purpose`` (``"as"``: the token endpoint, ``"rs"``: resource
    servers), from ``DPOP_NONCE_LIFETIME_SECONDS`` and ``DPOP_NONCE_SECRET``."""
    return Nonces(
        purpose, agent_obo_settings.DPOP_NONCE_LIFETIME_SECONDS, agent_obo_settings.DPOP_NONCE_SECRET
    )


@functools.lru_cache(maxsize=16)
def consume_jti(store: str, cache_alias: str, purpose: str) -> Callable[[str, str, int], bool]:
    """A ``consume`` for :func:`verify_proof`: ``store`` ``"database"`` (a
    :class:`~django_agent_obo.models.UsedAssertion` row, pruned by ``prune_expired``) or
    ``"cache"`` (``cache.add`` in the alias given: atomic in Redis, Memcached and the
    database cache; expires with the proof's window, so memory stays bounded)."""

    def in_database(jkt: str, jti: str, seconds: int) -> bool:
        from . import rows
        from .models import UsedAssertion

        until = datetime.fromtimestamp(time.time() + seconds, tz=UTC)
        return rows.insert_unless_present(
            UsedAssertion, issuer=f"dpop:{purpose}:{jkt}", jti=jti, expires_at=until
        )

    def in_cache(jkt: str, jti: str, seconds: int) -> bool:
        digest = hashlib.sha256(f"{jkt}\x00{jti}".encode()).hexdigest()
        return bool(caches[cache_alias].add(f"agent_obo:dpop:{purpose}:{digest}", 1, max(1, seconds)))

    return in_database if store == "database" else in_cache
