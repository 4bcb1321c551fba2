"""One vocabulary of refusals: every audit ``reason`` declared once, with its OAuth error and words.

A refused request leaves an audit row whose ``reason`` is a stable identifier (SPEC §8) that log
pipelines read. Each one is declared here, once, as a :class:`Reason`: the identifier, the OAuth
error it is answered with (RFC 6749 §5.2, RFC 6750 §3.1, RFC 9449 §7.1, CIBA §11, …; ``None`` for
a reason that is not an OAuth answer), and a description in words the user reads on the
self-service page. ``docs/refusals.md`` lists the same table; a test holds the two equal, and the
test suite fails on any reason it sees recorded that is not declared here.

A refusal raised in code is a :class:`Refusal` (``reason``, ``error``, ``description``: the
``error_description`` the client reads). An undeclared reason never breaks a request: :func:`get`
logs it and answers with general words.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

log = logging.getLogger("django_agent_obo.refusals")

TECHNICAL = "for a technical reason"


@dataclass(frozen=True)
class Reason:
    """One declared refusal reason: ``error`` the OAuth error it maps to (None: not an OAuth
    answer), ``description`` the words a user reads ("refused: <description>")."""

    reason: str
    error: str | None
    description: str


class Refusal(Exception):
    """The one base of refusals: ``reason`` (declared in :data:`REASONS`), ``error`` (the OAuth
    error code of the answer; the declared one unless an endpoint answers otherwise) and
    ``description`` (the ``error_description`` of the answer)."""

    def __init__(self, reason: str, description: str = "", *, error: str | None = None) -> None:
        super().__init__(description or reason)
        self.reason = reason
        self.error = error if error is not None else (get(reason).error or "invalid_request")
        self.description = description

    @property
    def declared(self) -> Reason:
        return get(self.reason)


class DelegationRefused(Refusal):
    """An authorization request names an actor we will not show consent for (raised by the
    adapter's hooks, docs/adapter.md; RFC 9396 detail types): ``error`` is the OAuth error code
    (RFC 6749 §4.1.2.1), ``reason`` the audit reason."""

    def __init__(self, error: str, reason: str, description: str) -> None:
        super().__init__(reason, description, error=error)


_DECLARED = (
    # An OAuth error with no more precise reason (the error code itself)
    Reason("invalid_request", "invalid_request", "for a technical reason"),
    Reason("invalid_client", "invalid_client", "for a technical reason"),
    Reason("invalid_grant", "invalid_grant", "for a technical reason"),
    Reason("unauthorized_client", "unauthorized_client", "for a technical reason"),
    Reason("unsupported_grant_type", "unsupported_grant_type", "for a technical reason"),
    Reason("invalid_scope", "invalid_scope", "for a technical reason"),
    Reason("access_denied", "access_denied", "for a technical reason"),
    Reason("unsupported_response_type", "unsupported_response_type", "for a technical reason"),
    Reason("server_error", "server_error", "for a technical reason"),
    Reason("temporarily_unavailable", "temporarily_unavailable", "for a technical reason"),
    Reason("invalid_target", "invalid_target", "for a technical reason"),
    Reason("too_many_requests", "too_many_requests", "it sent too many requests"),
    Reason("authorization_pending", "authorization_pending", "for a technical reason"),
    Reason("slow_down", "slow_down", "for a technical reason"),
    Reason("expired_token", "expired_token", "for a technical reason"),
    Reason("invalid_dpop_proof", "invalid_dpop_proof", "for a technical reason"),
    Reason("use_dpop_nonce", "use_dpop_nonce", "for a technical reason"),
    Reason("invalid_authorization_details", "invalid_authorization_details", "for a technical reason"),
    Reason("error", "invalid_request", "for a technical reason"),
    # Request shape (token, authorization and CIBA endpoints)
    Reason("duplicate_parameter", "invalid_request", "the application sent a malformed request"),
    Reason("parameter_too_large", "invalid_request", "for a technical reason"),
    Reason("parameter_control_character", "invalid_request", "for a technical reason"),
    Reason("nul_byte", "invalid_request", "for a technical reason"),
    Reason("client_id_mismatch", "invalid_request", "for a technical reason"),
    Reason(
        "pkce_s256_required",
        "invalid_request",
        "the application sent a request without the required protection",
    ),
    Reason("resource_malformed", "invalid_target", "for a technical reason"),
    Reason("target_not_allowed", "invalid_target", "for a technical reason"),
    Reason("rate_limited", "too_many_requests", "it sent too many requests"),
    Reason("unsupported_requested_token_type", "invalid_request", "for a technical reason"),
    Reason("unsupported_subject_token_type", "invalid_request", "for a technical reason"),
    Reason("unsupported_actor_token_type", "invalid_grant", "for a technical reason"),
    # Client authentication
    Reason("client_auth_multiple", "invalid_client", "for a technical reason"),
    Reason("client_auth_malformed", "invalid_client", "for a technical reason"),
    Reason("client_authentication_failed", "invalid_client", "for a technical reason"),
    Reason("client_not_an_agent", "unauthorized_client", "for a technical reason"),
    Reason("client_pending_approval", "access_denied", "for a technical reason"),
    Reason("client_assertion_type", "invalid_client", "for a technical reason"),
    Reason("client_assertion_unknown_client", "invalid_client", "for a technical reason"),
    Reason("client_assertion_no_keys", "invalid_client", "for a technical reason"),
    Reason("client_assertion_client_id", "invalid_client", "for a technical reason"),
    Reason("client_assertion_sub", "invalid_client", "for a technical reason"),
    Reason("client_assertion_lifetime", "invalid_client", "for a technical reason"),
    Reason("client_assertion_iat", "invalid_client", "for a technical reason"),
    Reason("client_assertion_jti", "invalid_client", "for a technical reason"),
    Reason("client_assertion_replayed", "invalid_client", "for a technical reason"),
    Reason("client_assertion_kid", "invalid_client", "for a technical reason"),
    Reason("client_assertion_alg", "invalid_client", "for a technical reason"),
    Reason("client_assertion_jwks_unavailable", "invalid_client", "for a technical reason"),
    Reason("client_assertion_malformed", "invalid_client", "for a technical reason"),
    Reason("client_assertion_header_jku", "invalid_client", "for a technical reason"),
    Reason("client_assertion_header_x5u", "invalid_client", "for a technical reason"),
    Reason("client_assertion_header_jwk", "invalid_client", "for a technical reason"),
    Reason("client_assertion_header_x5c", "invalid_client", "for a technical reason"),
    Reason("client_assertion_header_crit", "invalid_client", "for a technical reason"),
    Reason("client_assertion_expired", "invalid_client", "for a technical reason"),
    Reason("client_assertion_not_yet_valid", "invalid_client", "for a technical reason"),
    Reason("client_assertion_aud", "invalid_client", "for a technical reason"),
    Reason("client_assertion_iss", "invalid_client", "for a technical reason"),
    Reason("client_assertion_signature", "invalid_client", "for a technical reason"),
    Reason("client_assertion_invalid", "invalid_client", "for a technical reason"),
    Reason("client_assertion_missing_exp", "invalid_client", "for a technical reason"),
    Reason("client_assertion_missing_sub", "invalid_client", "for a technical reason"),
    Reason("client_assertion_missing_iss", "invalid_client", "for a technical reason"),
    Reason("client_assertion_missing_aud", "invalid_client", "for a technical reason"),
    Reason("client_assertion_missing_jti", "invalid_client", "for a technical reason"),
    # Agents
    Reason("unknown_actor", "invalid_grant", "this site does not know the agent"),
    Reason("agent_disabled", "invalid_grant", "the site has stopped this agent"),
    Reason("agent_expired", "invalid_grant", "the agent's registration has ended"),
    Reason("agent_pending_approval", "invalid_request", "for a technical reason"),
    Reason("actor_not_allowed_for_client", "unauthorized_client", "this application may not run the agent"),
    Reason(
        "actor_needs_code_flow",
        "unauthorized_client",
        "the application used a sign-in method agents cannot use",
    ),
    Reason("actor_mismatch", "invalid_grant", "a different agent tried to use your consent"),
    Reason("actor_jwks_unavailable", "invalid_grant", "for a technical reason"),
    Reason("actor_document_url", "invalid_request", "for a technical reason"),
    Reason("actor_document_invalid", "invalid_request", "for a technical reason"),
    Reason("actor_document_mismatch", "invalid_request", "for a technical reason"),
    Reason("actor_document_collision", "invalid_request", "for a technical reason"),
    Reason("actor_document_backoff", "invalid_request", "for a technical reason"),
    Reason("actor_document_host_not_allowed", "invalid_request", "for a technical reason"),
    Reason("actor_document_unavailable", "invalid_request", "for a technical reason"),
    # Actor tokens
    Reason("actor_token_cnf", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_dpop_required", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_dpop_mismatch", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_missing", "invalid_request", "it did not prove who it is"),
    Reason("actor_token_for_plain_code", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_for_plain_request", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_for_plain_token", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_not_allowed", "invalid_request", "it could not prove who it is"),
    Reason("actor_token_is_delegated", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_revoked", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_sub", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_typ", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_kid", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_alg", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_jti", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_lifetime", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_iat", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_replayed", "invalid_grant", "a proof of its identity was used twice"),
    Reason("actor_token_malformed", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_header_jku", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_header_x5u", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_header_jwk", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_header_x5c", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_header_crit", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_expired", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_not_yet_valid", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_aud", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_iss", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_signature", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_invalid", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_missing_exp", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_missing_iat", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_missing_sub", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_missing_iss", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_missing_aud", "invalid_grant", "it could not prove who it is"),
    Reason("actor_token_missing_jti", "invalid_grant", "it could not prove who it is"),
    Reason("not_an_actor_token", "invalid_grant", "for a technical reason"),
    # Codes, delegations and consent
    Reason("invalid_code", "invalid_grant", "the approval had expired or was already used"),
    Reason(
        "code_reused", "invalid_grant", "the same approval was used twice, so everything it gave was revoked"
    ),
    Reason("grant_missing", "invalid_grant", "there was no delegation from you"),
    Reason("grant_expired", "invalid_grant", "the delegation had ended"),
    Reason("grant_revoked", "invalid_grant", "the delegation had been revoked"),
    Reason("subject_reserved", "invalid_grant", "for a technical reason"),
    Reason("user_denied", "access_denied", "you said no"),
    Reason("consent_expired", "invalid_request", "the consent page had expired or was already answered"),
    Reason("consent_tampered", "invalid_request", "the consent request was altered"),
    Reason("consent_form_invalid", "invalid_request", "the consent form was incomplete"),
    Reason("scope_beyond_actor", "invalid_scope", "it asked for more than this site lets it have"),
    Reason("scope_widened", "invalid_scope", "it asked for more than you allowed"),
    Reason("scope_empty", "invalid_scope", "it asked for nothing it may have"),
    Reason("dpop_jkt_malformed", "invalid_request", "for a technical reason"),
    # Refresh tokens
    Reason("refresh_token_unknown", "invalid_grant", "its renewal was not accepted"),
    Reason("refresh_token_other_client", "invalid_grant", "its renewal was not accepted"),
    Reason("refresh_token_expired", "invalid_grant", "its renewal was not accepted"),
    Reason("refresh_token_reused", "invalid_grant", "its renewal was not accepted"),
    Reason("refresh_token_revoked", "invalid_grant", "its renewal was not accepted"),
    # Token exchange
    Reason("subject_token_missing", "invalid_request", "the access it tried to pass on was not valid"),
    Reason("subject_token_unknown", "invalid_grant", "the access it tried to pass on was not valid"),
    Reason("subject_token_revoked", "invalid_grant", "the access it tried to pass on was not valid"),
    Reason("subject_token_not_delegated", "invalid_grant", "the access it tried to pass on was not valid"),
    Reason(
        "subject_token_not_held_by_caller", "invalid_grant", "the access it tried to pass on was not valid"
    ),
    Reason("subject_token_typ", "invalid_grant", "the access it tried to pass on was not valid"),
    Reason("subject_token_kid", "invalid_grant", "the access it tried to pass on was not valid"),
    Reason("subject_token_malformed", "invalid_grant", "the access it tried to pass on was not valid"),
    Reason("subject_token_header_jku", "invalid_grant", "the access it tried to pass on was not valid"),
    Reason("subject_token_header_x5u", "invalid_grant", "the access it tried to pass on was not valid"),
    Reason("subject_token_header_jwk", "invalid_grant", "the access it tried to pass on was not valid"),
    Reason("subject_token_header_x5c", "invalid_grant", "the access it tried to pass on was not valid"),
    Reason("subject_token_header_crit", "invalid_grant", "the access it tried to pass on was not valid"),
    Reason("subject_token_expired", "invalid_grant", "the access it tried to pass on was not valid"),
    Reason("subject_token_not_yet_valid", "invalid_grant", "the access it tried to pass on was not valid"),
    Reason("subject_token_iss", "invalid_grant", "the access it tried to pass on was not valid"),
    Reason("subject_token_signature", "invalid_grant", "the access it tried to pass on was not valid"),
    Reason("subject_token_invalid", "invalid_grant", "the access it tried to pass on was not valid"),
    Reason("subject_token_missing_exp", "invalid_grant", "the access it tried to pass on was not valid"),
    Reason("subject_token_missing_iat", "invalid_grant", "the access it tried to pass on was not valid"),
    Reason("subject_token_missing_iss", "invalid_grant", "the access it tried to pass on was not valid"),
    Reason("subject_token_missing_sub", "invalid_grant", "the access it tried to pass on was not valid"),
    Reason("subject_token_missing_jti", "invalid_grant", "the access it tried to pass on was not valid"),
    Reason("delegation_not_allowed", "invalid_request", "the other agent may not receive your access"),
    Reason("delegation_depth_exceeded", "invalid_request", "the access was passed on too many times"),
    Reason("delegation_cycle", "invalid_request", "the access was being passed around in a circle"),
    # Authorization details (RFC 9396)
    Reason("authorization_details_malformed", "invalid_authorization_details", "for a technical reason"),
    Reason("authorization_details_invalid", "invalid_authorization_details", "for a technical reason"),
    Reason("authorization_details_too_deep", "invalid_authorization_details", "for a technical reason"),
    Reason("authorization_details_too_large", "invalid_authorization_details", "for a technical reason"),
    Reason("authorization_details_exceeded", "invalid_authorization_details", "for a technical reason"),
    Reason(
        "authorization_details_type_not_allowed", "invalid_authorization_details", "for a technical reason"
    ),
    Reason("authorization_details_unknown_type", "invalid_authorization_details", "for a technical reason"),
    Reason("authorization_details_widened", "invalid_authorization_details", "for a technical reason"),
    # DPoP proofs (RFC 9449)
    Reason("dpop_missing", "invalid_dpop_proof", "for a technical reason"),
    Reason("dpop_required", "invalid_dpop_proof", "for a technical reason"),
    Reason("dpop_multiple", "invalid_dpop_proof", "for a technical reason"),
    Reason("dpop_malformed", "invalid_dpop_proof", "for a technical reason"),
    Reason("dpop_typ", "invalid_dpop_proof", "for a technical reason"),
    Reason("dpop_alg", "invalid_dpop_proof", "for a technical reason"),
    Reason("dpop_jwk", "invalid_dpop_proof", "for a technical reason"),
    Reason("dpop_header", "invalid_dpop_proof", "for a technical reason"),
    Reason("dpop_signature", "invalid_dpop_proof", "for a technical reason"),
    Reason("dpop_claims", "invalid_dpop_proof", "for a technical reason"),
    Reason("dpop_htm", "invalid_dpop_proof", "for a technical reason"),
    Reason("dpop_htu", "invalid_dpop_proof", "for a technical reason"),
    Reason("dpop_iat", "invalid_dpop_proof", "for a technical reason"),
    Reason("dpop_jti", "invalid_dpop_proof", "for a technical reason"),
    Reason("dpop_replayed", "invalid_dpop_proof", "for a technical reason"),
    Reason("dpop_ath", "invalid_dpop_proof", "for a technical reason"),
    Reason("dpop_nonce", "use_dpop_nonce", "for a technical reason"),
    Reason("dpop_key_mismatch", "invalid_dpop_proof", "for a technical reason"),
    # Backchannel authentication (CIBA)
    Reason("auth_req_id_missing", "invalid_request", "for a technical reason"),
    Reason("auth_req_id_unknown", "invalid_grant", "for a technical reason"),
    Reason("auth_req_id_used", "invalid_grant", "for a technical reason"),
    Reason("auth_req_id_expired", "expired_token", "for a technical reason"),
    Reason("polled_too_fast", "slow_down", "for a technical reason"),
    Reason("backchannel_not_allowed", "unauthorized_client", "for a technical reason"),
    Reason("too_many_pending", "access_denied", "for a technical reason"),
    Reason("login_hint_missing", "invalid_request", "for a technical reason"),
    Reason("hint_unsupported", "invalid_request", "for a technical reason"),
    Reason("unknown_user_id", "unknown_user_id", "for a technical reason"),
    Reason("user_code_unsupported", "invalid_request", "for a technical reason"),
    Reason("scope_missing", "invalid_request", "for a technical reason"),
    Reason("scope_unknown", "invalid_scope", "for a technical reason"),
    Reason("openid_scope_missing", "invalid_scope", "for a technical reason"),
    Reason("binding_message_invalid", "invalid_binding_message", "for a technical reason"),
    Reason("requested_expiry_invalid", "invalid_request", "for a technical reason"),
    Reason("client_notification_token_missing", "invalid_request", "for a technical reason"),
    Reason("client_notification_token_invalid", "invalid_request", "for a technical reason"),
    # Client registration (RFC 7591, RFC 7592)
    Reason("client_metadata_invalid", "invalid_client_metadata", "for a technical reason"),
    Reason("redirect_uri_invalid", "invalid_redirect_uri", "for a technical reason"),
    Reason("registration_not_permitted", "access_denied", "for a technical reason"),
    Reason("registration_token_invalid", "invalid_token", "for a technical reason"),
    Reason("registration_client_unknown", "invalid_token", "for a technical reason"),
    # Device authorization (RFC 8628)
    Reason("device_code_missing", "invalid_request", "for a technical reason"),
    Reason("device_code_unknown", "invalid_grant", "the code it showed you was not valid"),
    Reason("device_code_used", "invalid_grant", "the code it showed you was already used"),
    Reason("device_code_expired", "expired_token", "the code it showed you had expired"),
    Reason("device_grant_not_allowed", "unauthorized_client", "this application may not use device codes"),
    Reason("user_code_rate_limited", "too_many_requests", "too many wrong codes were entered"),
    # Resource servers (access tokens)
    Reason("token_missing", "invalid_token", "it sent no access token"),
    Reason("authorization_header_malformed", "invalid_request", "for a technical reason"),
    Reason("token_malformed", "invalid_token", "its access token was not valid"),
    Reason("token_typ", "invalid_token", "its access token was not valid"),
    Reason("token_header", "invalid_token", "its access token was not valid"),
    Reason("token_alg", "invalid_token", "its access token was not valid"),
    Reason("token_kid", "invalid_token", "its access token was not valid"),
    Reason("token_signature", "invalid_token", "its access token was not valid"),
    Reason("token_iss", "invalid_token", "its access token was not valid"),
    Reason("token_aud", "invalid_token", "its access token was not valid"),
    Reason("token_expired", "invalid_token", "its access had expired"),
    Reason("token_not_yet_valid", "invalid_token", "its access token was not valid"),
    Reason("token_claims", "invalid_token", "its access token was not valid"),
    Reason("token_act", "invalid_token", "its access token was not valid"),
    Reason("token_revoked", "invalid_token", "its access had been revoked"),
    Reason("token_unknown", "invalid_token", "its access token was not valid"),
    Reason("token_dpop_bound", "invalid_token", "its access token was not valid"),
    Reason("token_not_dpop_bound", "invalid_token", "its access token was not valid"),
    Reason("token_dpop_required", "invalid_token", "its access token was not valid"),
    Reason("insufficient_scope", "insufficient_scope", "you did not allow it to do that"),
    Reason("agent_required", "access_denied", "that service works only through an agent"),
    Reason("agent_forbidden", "access_denied", "that service does not accept this agent"),
    Reason("actor_not_allowed", "access_denied", "that service does not accept this agent"),
    Reason("chain_too_deep", "access_denied", "the access was passed on too many times"),
    Reason("authorization_details_missing", "insufficient_scope", "for a technical reason"),
)

REASONS: Mapping[str, Reason] = MappingProxyType({r.reason: r for r in _DECLARED})

# A reason seen but not declared still gets the words of its family (never a raw code).
_FAMILIES = (
    ("actor_token_", "it could not prove who it is"),
    ("subject_token_", "the access it tried to pass on was not valid"),
    ("refresh_token_", "its renewal was not accepted"),
    ("token_", "its access token was not valid"),
    ("consent_", "the consent request could not be used"),
    ("device_code_", "the code it showed you had expired or was already used"),
    ("code_", "the approval could not be used"),
)

# Why a delegation or token ended (``grant.revoked``/``token.revoked``, ``AgentGrant.revoke_reason``):
# "Its access ended: <words>". Not refusals; a cause that is also a reason (``code_reused``,
# ``refresh_token_reused``) is said with the words of that reason.
ENDINGS: Mapping[str, str] = MappingProxyType(
    {
        "user_revoked": "you revoked it",
        "admin_revoked": "an administrator revoked it",
        "client_revoked": "the application gave it up",
        "grant_expired": "it expired",
        "agent_disabled": "the site stopped the agent",
        "revoked": "it was revoked",
        "parent_revoked": "the access it came from had been revoked",
    }
)


def is_declared(reason: str) -> bool:
    return reason in REASONS


def get(reason: str) -> Reason:
    """The declared :class:`Reason`; an undeclared one is logged and gets general words (the
    test suite fails on it; a running site never does)."""
    found = REASONS.get(reason)
    if found is not None:
        return found
    log.warning("Undeclared refusal reason %r: declare it in django_agent_obo/refusals.py", reason)
    words = next((words for prefix, words in _FAMILIES if reason.startswith(prefix)), TECHNICAL)
    return Reason(reason, None, words if reason else "")


def words(reason: str) -> str:
    """A reason in words for the user; an unknown one in general words, never the code itself."""
    return get(reason).description if reason else ""
