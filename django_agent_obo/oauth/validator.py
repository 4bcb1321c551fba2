"""A thin OAuth2Validator subclass: connects oauthlib's grant flow to our modules.

Where each rule lives: the code claim and binding in ``delegation``, the actor proof in
``actors``, the claims in ``tokens``; this class only calls them at the right moment and
turns their refusals into OAuth errors (RFC 6749 §5.2) with an audit reason.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from .. import audit, delegation, issuance, locks
from ..actors import ActorTokenError, verify_actor_token
from ..conf import agent_obo_settings
from ..issuance import ACTOR, CLIENT, DELEGATED, REFRESHED, REFRESHED_DELEGATED, REFRESHED_USER, USER
from ..models import Agent, IssuedToken
from ..tokens import issuer
from . import client_auth, throttle
from .code_grant import CodeGrantHooks
from .errors import refuse
from .refresh import explain_refusal, family_is_live, find_refresh_token


def _origin_of(refresh_token: Any) -> IssuedToken | None:
    """The token a refresh token was issued with: its kind, agent, grant and chain carry over."""
    if refresh_token is None:
        return None
    return (
        IssuedToken.objects.select_related("agent", "agent_grant", "code_binding", "user")
        .filter(refresh_token=refresh_token)
        .first()
    )


class AgentOBOValidator(CodeGrantHooks):
    """DOT's validator plus actor binding, actor proof, JWT recording and cascade revocation."""

    # --- client authentication: secrets, and private_key_jwt (RFC 7523 §2.2) --------------

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        return client_auth.authenticate(
            request,
            by_secret=lambda: super(AgentOBOValidator, self).authenticate_client(request, *args, **kwargs),
            uses_basic=self.basic_credentials_sent(request),
            load_client=lambda client_id: self.load_client(client_id, request),
        )

    def client_authentication_required(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        return client_auth.presents_assertion(request) or super().client_authentication_required(
            request, *args, **kwargs
        )

    # --- proving the actor ---------------------------------------------------------------

    def actor_token_param(self, request: Any) -> tuple[str | None, str | None]:
        return getattr(request, "actor_token", None), getattr(request, "actor_token_type", None)

    def issue_delegated(self, request: Any, agent: Agent, agent_grant: Any, **fields: Any) -> None:
        """A delegated token (code, CIBA, device): the agent proves itself with its actor token
        and the user's delegation is still alive; the token expires with it at the latest."""
        self.prove_actor(request, agent)
        reason = agent_grant.dead_reason() if agent_grant is not None else "grant_missing"
        if agent_grant is None or reason is not None:
            refuse(reason or "grant_missing", "The delegation has ended.", request, error="invalid_grant")
        issuance.of(request).issue(
            DELEGATED, agent=agent, agent_grant=agent_grant, max_expires_at=agent_grant.expires_at, **fields
        )

    def prove_actor(self, request: Any, expected: Agent) -> None:
        """Verify the presented actor token and that it names ``expected`` (draft -02 §5.2)."""
        token, token_type = self.actor_token_param(request)
        if not token:
            refuse("actor_token_missing", "actor_token is required.", request)
        try:
            verified = verify_actor_token(str(token), token_type, self._token_endpoint(request))
        except ActorTokenError as exc:
            refuse(exc.reason, exc.description, request, error="invalid_grant")
        if verified.agent.pk != expected.pk:
            refuse("actor_mismatch", "The actor token names another actor.", request)
        issuance.of(request).actor_jkt = verified.dpop_jkt or ""  # proof checked by dpop_binding (RFC 9449)

    def _token_endpoint(self, request: Any) -> str:
        """Our token endpoint URL: a self-signed actor assertion may name it as ``aud``."""
        return issuer() + reverse("oauth2_provider:token")

    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        """oauthlib asks this right after authenticating the client, before the grant's work:
        the client is counted against its own rate limit here (``throttle``)."""
        throttle.count_authenticated(request)
        return bool(super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs))

    # --- authorization code: claim, bind, prove -----------------------------------------

    def save_authorization_code(
        self, client_id: str, code: dict[str, Any], request: Any, *args: Any, **kwargs: Any
    ) -> None:
        super().save_authorization_code(client_id, code, request, *args, **kwargs)
        actor_id = getattr(request, "agent_obo_actor_id", None)
        delegation.bind_code(
            code=code["code"],
            application=request.client,
            user=request.user,
            scopes=list(request.scopes),
            agent=Agent.objects.get(actor_id=actor_id) if actor_id else None,
            duration_seconds=getattr(request, "agent_obo_duration", None),
            ip=audit.client_ip(request),
            dpop_jkt=getattr(request, "agent_obo_dpop_jkt", None) or "",
            authorization_details=getattr(request, "agent_obo_authorization_details", None) or [],
        )

    def bind_actor_to_token_request(self, request: Any) -> None:
        """Post-token check of the authorization_code grant (draft -02 §5)."""
        current = issuance.of(request)
        binding = current.code_binding
        token, _ = self.actor_token_param(request)
        if binding is None or binding.agent is None:
            if token:
                refuse(
                    "actor_token_for_plain_code",
                    "This authorization code was not issued for an actor.",
                    request,
                )
            current.issue(USER, code_binding=binding)
        else:
            agent = binding.agent
            self.issue_delegated(
                request, agent, binding.agent_grant, code_binding=binding, actor_chain=[agent.actor_id]
            )
        # RFC 8707: settle the audience before the token is signed.
        self._check_and_set_request_resource(request)

    # --- client credentials: an agent proving itself --------------------------------------

    def classify_client_credentials(self, request: Any) -> None:
        token, _ = self.actor_token_param(request)
        if token:
            refuse("actor_token_not_allowed", "actor_token is not used with this grant type.", request)
        current = issuance.of(request)
        agent = client_auth.agent_of(request)
        if agent is None:
            current.issue(CLIENT)
        else:
            reason = agent.unusable_reason()
            if reason is not None:
                refuse(reason, "This agent is not available.", request, error="unauthorized_client")
            current.named_actors = [agent.actor_id]
            current.issue(ACTOR, agent=agent)
        self._check_and_set_request_resource(request)

    # --- refresh: the delegation and the actor carry over ----------------------------------

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        """DOT's check (rotation, reuse protection of RFC 9700 §4.14.2); a refusal gets its
        audit reason, and a family DOT revoked stays revoked after the view's rollback.

        The presented row is locked first, as a code is claimed: of concurrent uses one
        rotates it and the others then see a rotated token, i.e. reuse (DOT alone would
        hand all of them the winner's new tokens).
        """
        current = issuance.of(request)
        presented = find_refresh_token(refresh_token)
        origin = current.refresh_origin = _origin_of(presented)
        if origin is not None:  # DOT writes token rows before we mint: lock agent and grant first
            current.locked = locks.lock_dependencies(
                locks.Dependencies(agent=origin.agent, agent_grant=origin.agent_grant)
            )
        presented = find_refresh_token(refresh_token, lock=True)
        family_was_live = family_is_live(presented)
        if super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return True
        explain_refusal(current, presented, client, family_was_live)
        return False

    def continue_lineage_on_refresh(self, request: Any) -> None:
        """A refreshed agent token keeps ``act``; the grant must be alive and the agent re-proven."""
        current = issuance.of(request)
        refresh = getattr(request, "refresh_token_instance", None)
        origin = current.refresh_origin
        if origin is None or refresh is None or origin.refresh_token_id != refresh.pk:
            origin = current.refresh_origin = _origin_of(refresh)  # DOT judged another row
        token, _ = self.actor_token_param(request)
        if origin is None or origin.kind != IssuedToken.KIND_DELEGATED:
            if token:
                refuse(
                    "actor_token_for_plain_token", "This refresh token was not issued for an actor.", request
                )
            profile = REFRESHED.get(origin.kind, REFRESHED_USER) if origin is not None else REFRESHED_USER
            current.issue(profile, code_binding=origin.code_binding if origin is not None else None)
            return
        agent, grant = origin.agent, origin.agent_grant
        assert agent is not None
        current.user, current.named_actors = origin.user, list(origin.actor_chain)
        reason = agent.unusable_reason() or (grant.dead_reason() if grant is not None else "grant_missing")
        if reason is not None:
            refuse(reason, "The delegation has ended.", request, error="invalid_grant")
        if agent_obo_settings.REFRESH_REQUIRES_ACTOR_TOKEN:
            self.prove_actor(request, agent)
        assert grant is not None
        current.issue(
            REFRESHED_DELEGATED,
            agent=agent,
            agent_grant=grant,
            code_binding=origin.code_binding,  # a reused code also revokes refreshed tokens
            actor_chain=list(origin.actor_chain),
            max_expires_at=grant.expires_at,
        )

    # --- RFC 7009 revocation cascades down the lineage ----------------------------------------

    def revoke_token(
        self, token: str, token_type_hint: str | None, request: Any, *args: Any, **kwargs: Any
    ) -> None:
        import hashlib

        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        client_pk = getattr(request.client, "pk", None)
        record = (
            IssuedToken.objects.filter(token_checksum=checksum, application_id=client_pk).first()
            if client_pk is not None
            else None
        )
        if record is not None:
            delegation.revoke_token(record, reason="client_revoked", ip=audit.client_ip(request))
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
