"""Agents named by URL: a ``requested_actor`` that is an ``https`` URL of an agent document
(SPEC §11), the agent-side twin of a client ID metadata document
(draft-ietf-oauth-client-id-metadata-document §3, §4).

The document is JSON: ``actor_id`` (exactly the URL it was fetched from), ``name``, and
optionally ``publisher``, ``description``, ``logo_uri``, and ``jwks`` or ``jwks_uri``. It is
fetched with DOT's fetcher (``OAUTH2_PROVIDER["CIMD_METADATA_FETCHER"]``, by default
:class:`oauth2_provider.cimd.SafeMetadataFetcher`: https only, public addresses only, no
redirects, DOT's ``CIMD_FETCH_TIMEOUT_SECONDS`` and ``CIMD_MAX_DOCUMENT_SIZE``, cache
lifetime from ``Cache-Control`` within DOT's ``CIMD_METADATA_MIN/MAX_AGE_SECONDS``). A
failed fetch is not retried for DOT's ``CIMD_FAILURE_BACKOFF_SECONDS``; a ``jwks_uri`` is
fetched by the same fetcher and its keys stored, never followed later by a laxer client.

``AGENT_OBO["AGENT_DOCUMENTS"]`` is the site's policy:

* ``"off"`` (default): such an actor is unknown (a row made from a document is ignored);
* ``"allowlist"``: documents from ``AGENT_DOCUMENT_HOSTS`` (Django ``ALLOWED_HOSTS`` syntax)
  become active agents, runnable by the clients that name them;
* ``"pending"``: an unknown document becomes an inactive agent awaiting an admin's approval
  (``pending_approval``), refused as an inactive agent until then.

An agent registered by an admin is never overwritten by a document at its URL.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.http.request import validate_host
from django.utils import timezone
from oauth2_provider.cimd import CIMDError
from oauth2_provider.settings import oauth2_settings

from .agent_keys import KeySetError, validate_jwks
from .conf import agent_obo_settings
from .models import Agent
from .refusals import Refusal

log = logging.getLogger("django_agent_obo.agent_documents")

POLICIES = ("off", "allowlist", "pending")
BACKOFF_PREFIX = "agent_obo:agent_document:backoff:"
_TEXT_LIMITS = {"name": 200, "publisher": 200, "description": 4000}


class AgentDocumentError(Refusal):
    """An agent document could not be used. ``reason`` is the audit identifier."""

    def __init__(self, reason: str, description: str, error: str = "invalid_request") -> None:
        super().__init__(reason, description, error=error)


def is_document_url(actor_id: str) -> bool:
    """Cheap gate, as DOT's ``is_cimd_client_id``: only ``https://`` actor ids are documents."""
    return actor_id[:8].lower() == "https://"


def policy() -> str:
    value = agent_obo_settings.AGENT_DOCUMENTS or "off"
    return str(value) if value in POLICIES else "off"


def agent_for_request(actor_id: str, application: Any) -> Agent | None:
    """The agent a ``requested_actor`` names, made from its document when the policy allows.

    ``None`` means unknown. Raises :class:`AgentDocumentError` when the document is refused.
    """
    agent = Agent.objects.filter(actor_id=actor_id).first()
    if agent is not None and agent.registration_source != Agent.SOURCE_DOCUMENT:
        return agent
    if not is_document_url(actor_id) or policy() == "off":
        return None
    if policy() == "allowlist" and not _host_listed(actor_id):
        raise AgentDocumentError(
            "actor_document_host_not_allowed",
            "Agents from this host are not accepted here.",
            error="unauthorized_client",
        )
    if agent is None:
        agent = _register(actor_id, application)
    else:
        agent = refresh_if_stale(agent)
    if policy() == "allowlist" and not agent.pending_approval:
        agent.allowed_clients.add(application)  # the site trusts the host; the user still consents
    return agent


def current_agent(actor_id: str) -> Agent | None:
    """The agent an actor token names, its document re-read once stale (key rotation, §11)."""
    agent = Agent.objects.filter(actor_id=actor_id).first()
    if agent is None or agent.registration_source != Agent.SOURCE_DOCUMENT:
        return agent
    if policy() == "off":
        return None
    return refresh_if_stale(agent)


def refresh_if_stale(agent: Agent) -> Agent:
    """Re-read a stale document; on failure keep the last good copy (as DOT's CIMD does)."""
    if agent.document_expires_at is not None and agent.document_expires_at > timezone.now():
        return agent
    try:
        fields = fetch_document(agent.actor_id)
    except AgentDocumentError as exc:
        log.info("Agent document %r not refreshed: %s", agent.actor_id, exc.reason)
        return agent
    for name, value in fields.items():
        setattr(agent, name, value)
    agent.save(update_fields=[*fields, "updated_at"])
    return agent


def _host_listed(actor_id: str) -> bool:
    host = urlparse(actor_id).hostname
    return host is not None and validate_host(host, list(agent_obo_settings.AGENT_DOCUMENT_HOSTS or []))


def _register(actor_id: str, application: Any) -> Agent:
    fields = fetch_document(actor_id)
    pending = policy() == "pending"
    try:
        with transaction.atomic():
            agent = Agent.objects.create(
                actor_id=actor_id,
                registration_source=Agent.SOURCE_DOCUMENT,
                is_active=not pending,
                pending_approval=pending,
                allowed_scopes=" ".join(agent_obo_settings.AGENT_DOCUMENT_SCOPES or []),
                **fields,
            )
    except IntegrityError:  # a concurrent first sight of the same URL won
        agent = Agent.objects.get(actor_id=actor_id)
        if agent.registration_source != Agent.SOURCE_DOCUMENT:
            raise AgentDocumentError(
                "actor_document_collision", "The requested actor is not available."
            ) from None
        return agent
    agent.allowed_clients.add(application)  # who asked first: shown to the approving admin
    log.info("Agent document %r registered (%s)", actor_id, "pending" if pending else "active")
    return agent


def _backoff_key(url: str) -> str:
    return BACKOFF_PREFIX + hashlib.sha256(url.encode("utf-8")).hexdigest()


def fetch_document(actor_id: str) -> dict[str, Any]:
    """Fetch, check and translate an agent document into :class:`Agent` fields.

    Any failure (transport, SSRF rule, size, time, JSON, a mismatched ``actor_id``, bad
    keys) raises :class:`AgentDocumentError` and starts the failure backoff.
    """
    if len(actor_id) > 255 or not actor_id.isascii() or not actor_id.isprintable() or " " in actor_id:
        raise AgentDocumentError("actor_document_url", "The requested actor URL is not acceptable.")
    key = _backoff_key(actor_id)
    if cache.get(key):
        raise AgentDocumentError(
            "actor_document_backoff", "The agent document could not be fetched; retry later."
        )
    try:
        return _fetch_and_check(actor_id)
    except AgentDocumentError:
        cache.set(key, True, oauth2_settings.CIMD_FAILURE_BACKOFF_SECONDS)
        raise
    except Exception as exc:  # a client-controlled URL must never turn into a 500
        log.exception("Unexpected error fetching agent document %r", actor_id)
        cache.set(key, True, oauth2_settings.CIMD_FAILURE_BACKOFF_SECONDS)
        raise AgentDocumentError(
            "actor_document_unavailable", "The agent document could not be fetched."
        ) from exc


def _fetch(url: str) -> tuple[dict[str, Any], int]:
    fetcher = oauth2_settings.CIMD_METADATA_FETCHER()
    try:
        document, max_age = fetcher.fetch(url)
    except CIMDError as exc:
        log.info("Agent document %r refused by the fetcher: %s", url, exc)
        raise AgentDocumentError(
            "actor_document_unavailable", "The agent document could not be fetched."
        ) from exc
    return document, int(max_age)


def _fetch_and_check(actor_id: str) -> dict[str, Any]:
    document, max_age = _fetch(actor_id)
    if document.get("actor_id") != actor_id:
        raise AgentDocumentError("actor_document_mismatch", "The agent document's actor_id is not its URL.")
    fields: dict[str, Any] = {}
    for name, limit in _TEXT_LIMITS.items():
        value = document.get(name, "")
        if not isinstance(value, str) or len(value) > limit or "\x00" in value:
            raise _invalid(f"'{name}' must be a string of at most {limit} characters.")
        fields[name] = value.strip()
    if not fields["name"]:
        raise _invalid("The agent document has no name.")
    logo = document.get("logo_uri", "")
    if logo:
        try:
            URLValidator(schemes=["https"])(logo)
        except ValidationError:
            raise _invalid("'logo_uri' must be an https URL.") from None
        if len(logo) > 200:
            raise _invalid("'logo_uri' is too long.")
    fields["logo_uri"] = logo
    fields["jwks"] = _keys_of(document)
    fields["jwks_uri"] = ""  # the keys were fetched safely just now; nothing to follow later
    fields["document_expires_at"] = timezone.now() + timedelta(seconds=max_age)
    return fields


def _keys_of(document: dict[str, Any]) -> dict[str, Any]:
    """The document's public keys: inline ``jwks``, or ``jwks_uri`` fetched by the same rules."""
    if "jwks" in document and "jwks_uri" in document:
        raise _invalid("An agent document has jwks or jwks_uri, not both.")
    if "jwks" in document:
        jwks = document["jwks"]
    elif isinstance(document.get("jwks_uri"), str):
        jwks, _ = _fetch(document["jwks_uri"])
    else:
        raise _invalid("The agent document has no keys (jwks or jwks_uri).")
    try:
        return validate_jwks(jwks)
    except KeySetError as exc:
        raise _invalid(f"The agent document's keys are not acceptable: {exc}") from exc


def _invalid(description: str) -> AgentDocumentError:
    return AgentDocumentError("actor_document_invalid", description)
