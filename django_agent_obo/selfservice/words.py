"""What the self-service page says, in words a person reads: events, reasons, revocations.

Audit rows carry stable machine identifiers (SPEC §8: event names and ``reason`` codes for log
pipelines); nothing here changes them, it only says them. A reason without words of its own gets
the words of its family (``actor_token_*``, ``token_*``, …) and never appears as a raw code.
"""

from __future__ import annotations

EVENT_WORDS = {
    "consent.granted": "You allowed it",
    "consent.denied": "A request for it was refused",
    "code.issued": "An authorization code was issued for it",
    "token.issued": "It received an access token",
    "token.refreshed": "It renewed its access token",
    "token.exchanged": "It passed its access on to another service",
    "token.refused": "It was refused a token",
    "token.revoked": "Its tokens were revoked",
    "grant.revoked": "The delegation was revoked",
    "agent.disabled": "The site disabled it",
    "agent.enabled": "The site enabled it again",
    "resource.accessed": "It used your data",
    "backchannel.requested": "It asked for your approval",
    "backchannel.approved": "You approved its request",
    "backchannel.denied": "Its request was denied",
    "device.requested": "It asked for a code to show you",
}

REVOKE_REASONS = {
    "user_revoked": "you revoked it",
    "admin_revoked": "an administrator revoked it",
    "client_revoked": "the application gave it up",
    "grant_expired": "it expired",
    "agent_disabled": "the site stopped the agent",
}

REASON_WORDS = {
    "user_denied": "you said no",
    "scope_beyond_actor": "it asked for more than this site lets it have",
    "scope_widened": "it asked for more than you allowed",
    "scope_empty": "it asked for nothing it may have",
    "insufficient_scope": "you did not allow it to do that",
    "unknown_actor": "this site does not know the agent",
    "agent_disabled": "the site has stopped this agent",
    "agent_expired": "the agent's registration has ended",
    "agent_forbidden": "that service does not accept this agent",
    "agent_required": "that service works only through an agent",
    "actor_not_allowed": "that service does not accept this agent",
    "actor_not_allowed_for_client": "this application may not run the agent",
    "actor_mismatch": "a different agent tried to use your consent",
    "actor_token_missing": "it did not prove who it is",
    "actor_token_replayed": "a proof of its identity was used twice",
    "grant_expired": "the delegation had ended",
    "grant_revoked": "the delegation had been revoked",
    "grant_missing": "there was no delegation from you",
    "token_expired": "its access had expired",
    "token_revoked": "its access had been revoked",
    "token_missing": "it sent no access token",
    "code_reused": "the same approval was used twice, so everything it gave was revoked",
    "invalid_code": "the approval had expired or was already used",
    "consent_expired": "the consent page had expired or was already answered",
    "consent_tampered": "the consent request was altered",
    "consent_form_invalid": "the consent form was incomplete",
    "duplicate_parameter": "the application sent a malformed request",
    "pkce_s256_required": "the application sent a request without the required protection",
    "actor_needs_code_flow": "the application used a sign-in method agents cannot use",
    "rate_limited": "it sent too many requests",
    "too_many_requests": "it sent too many requests",
    "delegation_not_allowed": "the other agent may not receive your access",
    "delegation_depth_exceeded": "the access was passed on too many times",
    "delegation_cycle": "the access was being passed around in a circle",
    "chain_too_deep": "the access was passed on too many times",
    "parent_revoked": "the access it came from had been revoked",
}

REASON_FAMILIES = (
    ("actor_token_", "it could not prove who it is"),
    ("subject_token_", "the access it tried to pass on was not valid"),
    ("refresh_token_", "its renewal was not accepted"),
    ("token_", "its access token was not valid"),
    ("consent_", "the consent request could not be used"),
    ("device_code_", "the code it showed you had expired or was already used"),
    ("code_", "the approval could not be used"),
)


def reason_words(reason: str) -> str:
    """A reason code in words; an unknown code in general words, never the code itself."""
    if reason in REASON_WORDS:
        return REASON_WORDS[reason]
    for prefix, words in REASON_FAMILIES:
        if reason.startswith(prefix):
            return words
    return "for a technical reason" if reason else ""


def times(count: int) -> str:
    return "once" if count == 1 else "twice" if count == 2 else f"{count} times"
