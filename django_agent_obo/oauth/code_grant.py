"""Redeeming a code: the claim, and DOT's Grant hooks answered from the row claimed.

oauthlib asks the validator about the code at several steps (``validate_code``, PKCE,
redirect URI, RFC 8707 resources, invalidation) and DOT reads the ``Grant`` row at each.
Here the row is taken once, deleted in the statement that reads it
(:func:`~django_agent_obo.delegation.claim_code`), kept on the request's
:class:`~django_agent_obo.issuance.Issuance`, and every later hook reads that copy.
"""

from __future__ import annotations

import json
from typing import Any

from oauth2_provider.models import get_grant_model

from .. import delegation, issuance
from .dot_adapter import DOTAdapter


class CodeGrantHooks(DOTAdapter):
    """The authorization-code hooks of DOT's validator, on the Grant row claimed once."""

    def validate_code(
        self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        """Claim the code before anything is minted, so concurrent redemptions cannot both win."""
        current = issuance.of(request)
        current.client_id = client.client_id
        try:
            binding, grant = delegation.claim_code(code, client)
        except delegation.CodeReused as exc:
            current.reason, current.reused_code = "code_reused", exc.binding
            current.user = exc.binding.user
            current.named_actors = [exc.binding.agent.actor_id] if exc.binding.agent else []
            return False
        current.code = grant
        if grant is None or grant.is_expired():
            current.reason = "invalid_code"
            return False
        if binding is not None and binding.user_id == grant.user_id:
            grant.user = binding.user  # read with the binding already
        # What DOT's validate_code sets, from the row read once.
        request.scopes = grant.scope.split(" ")
        request.user = grant.user
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            request.claims = json.loads(grant.claims)
        current.code_binding = binding
        if binding is not None:
            current.user = binding.user
            current.named_actors = [binding.agent.actor_id] if binding.agent else []
        return True

    def _code_grant(self, code: str, client: Any, request: Any) -> Any:
        """DOT's Grant of ``code`` as ``validate_code`` took it: DOT reads it again in every
        hook below (raises ``DoesNotExist`` as those hooks do)."""
        grant = issuance.of(request).code
        if grant is None or grant.code != code or grant.application_id != client.pk:
            grant = get_grant_model().objects.get(code=code, application=client)
        return grant

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: Any, *args: Any, **kwargs: Any
    ) -> None:
        """Done already: ``validate_code`` took DOT's Grant (``delegation.claim_code``)."""
        taken = issuance.of(request).code
        if taken is None or taken.code != code:
            super().invalidate_authorization_code(client_id, code, request, *args, **kwargs)

    def get_code_challenge(self, code: str, request: Any) -> str | None:
        return self._code_grant(code, request.client, request).code_challenge or None

    def get_code_challenge_method(self, code: str, request: Any) -> str | None:
        return self._code_grant(code, request.client, request).code_challenge_method or None

    def confirm_redirect_uri(
        self,
        client_id: str,
        code: str,
        redirect_uri: str,
        client: Any,
        request: Any = None,
        *args: Any,
        **kwargs: Any,
    ) -> bool:
        if request is None:
            return bool(super().confirm_redirect_uri(client_id, code, redirect_uri, client, *args, **kwargs))
        return bool(self._code_grant(code, client, request).redirect_uri_allowed(redirect_uri))
