"""The request's access token, as ``Bearer`` (RFC 6750) or as ``DPoP`` with its proof (RFC 9449 §7).

:func:`validate_request` is the resource server's entry point that sees the whole request,
so the proof can be checked against it: the token is validated as by
:func:`~django_agent_obo.resource.validation.validate_access_token` (which keeps working for
callers holding only a token string), then

* ``Authorization: DPoP <token>`` needs one ``DPoP`` proof whose key is the token's
  ``cnf.jkt``, with ``ath`` (the token's hash), ``htm`` the request's method and ``htu`` its
  URL (``RS_EXTERNAL_URL`` behind a proxy), a fresh ``iat``, an unused ``jti`` (Django's
  cache, ``RS_DPOP_REPLAY_*``) and, with ``RS_DPOP_NONCE_REQUIRED``, this server's nonce;
* a DPoP-bound token presented as ``Bearer`` is refused (§7.2: it would be a bearer token
  again for whoever stole it), and so is every bearer token with ``RS_DPOP_REQUIRED``.

The result says ``proven=True`` when the proof checked out. Failures are
:class:`DPoPTokenError`: a :class:`TokenError` answered with a ``DPoP`` challenge.
"""

from __future__ import annotations

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.utils.encoding import escape_uri_path

from .. import dpop
from ..conf import agent_obo_settings
from .challenges import RequestError
from .validation import AccessTokenInfo, TokenError, checked_token, validate_access_token

SCHEMES = ("bearer", "dpop")

DESCRIPTIONS = {
    "token_dpop_bound": "This access token is bound to a DPoP key: send it as DPoP with a proof.",
    "token_not_dpop_bound": "This access token is not bound to a DPoP key: send it as Bearer.",
    "token_dpop_required": "This resource accepts DPoP-bound access tokens only.",
}


class DPoPTokenError(TokenError):
    """A refusal that belongs in the ``DPoP`` challenge (RFC 9449 §7.1): ``invalid_token``
    for the token or its binding, ``invalid_dpop_proof`` / ``use_dpop_nonce`` for the proof."""

    scheme = "DPoP"

    def __init__(self, reason: str, error: str = "invalid_token", description: str | None = None) -> None:
        super().__init__(reason)
        self.error = error
        if description is not None:
            self.description = description
        elif reason in DESCRIPTIONS:
            self.description = DESCRIPTIONS[reason]

    @classmethod
    def of_proof(cls, exc: dpop.ProofError) -> DPoPTokenError:
        return cls(exc.reason, exc.error, exc.description)

    @property
    def use_nonce(self) -> bool:
        return self.error == "use_dpop_nonce"


def credentials(request: HttpRequest) -> tuple[str, str] | None:
    """``(scheme, token)`` of an ``Authorization: Bearer`` or ``DPoP`` header (scheme lower
    case); None without one or with another scheme; :class:`RequestError` when malformed."""
    header = request.META.get("HTTP_AUTHORIZATION")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    scheme = scheme.lower()
    if scheme not in SCHEMES:
        return None
    token = token.strip()
    if not token or len(token.split(maxsplit=1)) != 1:
        raise RequestError
    return scheme, token


def nonces() -> dpop.Nonces:
    """The resource server's nonces (RFC 9449 §9): not interchangeable with the AS's."""
    return dpop.server_nonces("rs")


def request_url(request: HttpRequest) -> str:
    """The URL the client called: ``RS_EXTERNAL_URL`` + path behind a proxy, else the
    request's own absolute URL (Django's ``USE_X_FORWARDED_HOST`` and
    ``SECURE_PROXY_SSL_HEADER`` apply)."""
    path = escape_uri_path(request.path)
    external = agent_obo_settings.RS_EXTERNAL_URL
    if external:
        return str(external).rstrip("/") + path
    return f"{request.scheme}://{request.get_host()}{path}"


def verify_request_proof(request: HttpRequest, token: str, jkt: str | None) -> dpop.Proof:
    """The checks of RFC 9449 §4.3 and §7 on this request's ``DPoP`` header."""
    if jkt is None:
        raise DPoPTokenError("token_not_dpop_bound")
    try:
        url = request_url(request)
    except DisallowedHost as exc:
        raise DPoPTokenError("dpop_htu", "invalid_dpop_proof", dpop.DESCRIPTIONS["dpop_htu"]) from exc
    try:
        return dpop.verify_proof(
            request.META.get("HTTP_DPOP"),
            method=str(request.method),
            urls=[url],
            algorithms=agent_obo_settings.RS_DPOP_ALGORITHMS,
            max_age=int(agent_obo_settings.RS_DPOP_PROOF_MAX_AGE_SECONDS),
            leeway=int(agent_obo_settings.RS_LEEWAY_SECONDS),
            access_token=token,
            jkt=jkt,
            nonces=nonces() if agent_obo_settings.RS_DPOP_NONCE_REQUIRED else None,
            consume=dpop.consume_jti(
                agent_obo_settings.RS_DPOP_REPLAY_STORE, agent_obo_settings.RS_DPOP_REPLAY_CACHE_ALIAS, "rs"
            ),
        )
    except dpop.ProofError as exc:
        raise DPoPTokenError.of_proof(exc) from exc


def validate_request(request: HttpRequest, *, audience: list[str] | None = None) -> AccessTokenInfo | None:
    """The request's validated access token (None without one), for ``audience`` (None: the
    configured one); raises :class:`TokenError` (a :class:`DPoPTokenError` for DPoP refusals)
    or :class:`RequestError`."""
    presented = credentials(request)
    if presented is None:
        return None
    scheme, token = presented
    if scheme == "bearer":
        info = validate_access_token(token, audience=audience)
        if "cnf" in info.claims:
            raise DPoPTokenError("token_dpop_bound")
        if agent_obo_settings.RS_DPOP_REQUIRED:
            raise DPoPTokenError("token_dpop_required")
        return info
    try:
        return checked_token(token, audience, lambda jkt: verify_request_proof(request, token, jkt))
    except DPoPTokenError:
        raise
    except TokenError as exc:
        raise DPoPTokenError(exc.reason, exc.error, exc.description) from exc
