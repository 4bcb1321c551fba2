"""Redeeming a code: the claim, and DOT's Grant hooks answered from the row claimed.

oauthlib asks the validator about the code at several steps (``validate_code``, PKCE,
redirect URI, RFC 8707 resources, invalidation) and DOT reads the ``Grant`` row at each.
Here the row is taken once, deleted in the statement that reads it
(:func:`~django_agent_obo.delegation.claim_code`), and every later hook reads that copy.
"""

from __future__ import annotations

import json
from typing import Any

from oauth2_provider.models import get_grant_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from .. import delegation
from . import state


class CodeGrantHooks(OAuth2Validator):
    """The authorization-code hooks of DOT's validator, on the Grant row claimed once."""

    def validate_code(
        self, client_id: str, code: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        """Claim the code before anything is minted, so concurrent redemptions cannot both win."""
        state.note(client_id=client.client_id)
        try:
            binding, grant = delegation.claim_code(code, client)
        except delegation.CodeReused as exc:
            state.note(
                reason="code_reused",
                reused_binding=exc.binding,
                user=exc.binding.user,
                actor_chain=[exc.binding.agent.actor_id] if exc.binding.agent else [],
            )
            return False
        request.agent_obo_grant = grant
        if grant is None or grant.is_expired():
            state.note(reason="invalid_code")
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
        request.agent_obo_binding = binding
        if binding is not None:
            state.note(user=binding.user, actor_chain=[binding.agent.actor_id] if binding.agent else [])
        return True

    def _code_grant(self, code: str, client: Any, request: Any) -> Any:
        """DOT's Grant of ``code`` as ``validate_code`` took it: DOT reads it again in every
        hook below (raises ``DoesNotExist`` as those hooks do)."""
        grant = getattr(request, "agent_obo_grant", None)
        if grant is None or grant.code != code or grant.application_id != client.pk:
            grant = get_grant_model().objects.get(code=code, application=client)
        return grant

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: Any, *args: Any, **kwargs: Any
    ) -> None:
        """Done already: ``validate_code`` took DOT's Grant (``delegation.claim_code``)."""
        taken = getattr(request, "agent_obo_grant", None)
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

    def _check_and_set_request_resource(self, request: Any) -> None:
        """RFC 8707 ``resource``, settled once: before signing (by the validator's post-token
        hooks), not again on saving.

        For a code, DOT's version reads the Grant again to narrow the resources to those
        granted; here its normalisation runs alone and the narrowing uses the row read once.
        """
        if getattr(request, "agent_obo_resource_settled", False):
            return
        code_grant = getattr(request, "agent_obo_grant", None)
        if request.grant_type == "authorization_code" and code_grant is not None:
            request.grant_type = None
            try:
                super()._check_and_set_request_resource(request)
            finally:
                request.grant_type = "authorization_code"
            self._narrow_to_granted(request, code_grant.resource or [])
        else:
            super()._check_and_set_request_resource(request)
        request.agent_obo_resource_settled = True

    def _narrow_to_granted(self, request: Any, granted: list[str]) -> None:
        """RFC 8707 §2.2 as DOT applies it to a code: the requested resources must be among
        those granted; when none is requested, the token gets all of those granted."""
        if request.resource and granted:
            for resource in request.resource:
                if resource not in granted:
                    raise errors.CustomOAuth2Error(
                        error="invalid_target",
                        description=f"The requested resource '{resource}' was not granted with this code.",
                        request=request,
                    )
        elif granted:
            self._validate_resource_uris(request, granted)  # rows may predate the check
            request.resource = granted
