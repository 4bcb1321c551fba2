"""Client authentication at the token, introspection and revocation endpoints: the signed
assertion (``private_key_jwt``, RFC 7523 §2.2) beside DOT's secrets, and the secret upgrade.

The validator's ``authenticate_client`` calls :func:`authenticate`; the rules live in
``client_assertions`` (the assertion) and ``client_secrets`` (the hasher).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.urls import reverse

from .. import audit, client_secrets, issuance
from ..client_assertions import ClientAssertionError, verify_client_assertion
from ..models import Agent, AuditEvent, Event
from ..tokens import issuer

ASSERTION_PARAMETERS = ("client_assertion", "client_assertion_type")


def _body(request: Any) -> list[tuple[str, str]]:
    """Form parameters of the body only: credentials never count in the query (RFC 6749 §2.3.1)."""
    return [(str(k), str(v)) for k, v in (request.decoded_body or [])]


def presents_assertion(request: Any) -> bool:
    return any(name in ASSERTION_PARAMETERS for name, _ in _body(request))


def authenticate(
    request: Any, *, by_secret: Callable[[], bool], uses_basic: bool, load_client: Callable[[str], Any]
) -> bool:
    """Authenticate the client of an oauthlib request; on success ``request.client`` is set.

    ``by_secret`` is DOT's own check; after it succeeds a secret stored by a password hasher is
    rehashed with the fast one (``client_secrets.upgrade``)."""
    if not presents_assertion(request):
        if not by_secret():
            return False
        client_secrets.upgrade(request.client, client_secrets.presented_secret(request))
        return True
    body = _body(request)
    params = dict(body)
    try:
        if any(sum(1 for name, _ in body if name == wanted) > 1 for wanted in ASSERTION_PARAMETERS):
            raise ClientAssertionError("duplicate_parameter", "A client assertion parameter is repeated.")
        if uses_basic or params.get("client_secret"):  # RFC 6749 §2.3: one method per request
            raise ClientAssertionError("client_auth_multiple", "Use one client authentication method.")
        verified = verify_client_assertion(
            params.get("client_assertion", ""),
            params.get("client_assertion_type"),
            client_id=params.get("client_id"),
            token_endpoint=issuer() + reverse("oauth2_provider:token"),
            load_client=load_client,
        )
    except ClientAssertionError as exc:
        _refused(request, exc, params.get("client_id", ""))
        return False
    request.client = verified.client
    current = issuance.find(request)
    if current is not None:
        current.client_agent = (verified.client.pk, verified.agent)
        current.client_id = verified.client.client_id
    return True


def agent_of(request: Any) -> Agent | None:
    """The agent whose own client ``request.client`` is: found once, by the assertion check if
    it ran (its key came from that agent), else looked up here."""
    current = issuance.find(request)
    known = current.client_agent if current is not None else None
    if known is not None and known[0] == request.client.pk:
        return known[1]
    return Agent.objects.filter(credentials=request.client).first()


def _refused(request: Any, exc: ClientAssertionError, client_id: str) -> None:
    """At the token endpoint the view audits ``token.refused`` with this reason; at the
    introspection and revocation endpoints the refusal is audited here (``client.refused``)."""
    current = issuance.find(request)
    if current is not None:
        current.reason = exc.reason
        return
    path = str(getattr(request, "uri", "")).split("?")[0]
    with transaction.atomic():
        audit.record(
            Event.CLIENT_REFUSED,
            outcome=AuditEvent.FAILURE,
            reason=exc.reason,
            client_id=client_id[:100],
            ip=audit.client_ip(request),
            detail={"error": "invalid_client", "endpoint": path[-200:]},
        )
