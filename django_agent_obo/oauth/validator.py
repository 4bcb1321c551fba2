"""A thin OAuth2Validator subclass: connects oauthlib's grant flow to our modules.

Where each rule lives: the code claim and binding in ``delegation``, the actor proof in
``actors``, the claims in ``tokens``; this class only calls them at the right moment and
turns their refusals into OAuth errors (RFC 6749 §5.2) with an audit reason.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.db import router, transaction
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import get_access_token_model
from oauthlib.oauth2.rfc6749 import errors

from .. import audit, delegation
from ..actors import ActorTokenError, verify_actor_token
from ..conf import agent_obo_settings
from ..models import Agent, IssuedToken
from ..tokens import SignedToken, TokenContext, issuer
from . import client_auth, state, throttle
from .code_grant import CodeGrantHooks
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


def refuse(error_class: type[errors.OAuth2Error], reason: str, description: str, request: Any) -> NoReturn:
    """Raise an OAuth error and remember the machine-readable reason for the audit row."""
    state.note(reason=reason)
    raise error_class(description=description, request=request)


class AgentOBOValidator(CodeGrantHooks):
    """DOT's validator plus actor binding, actor proof, JWT recording and cascade revocation."""

    # --- client authentication: secrets, and private_key_jwt (RFC 7523 §2.2) --------------

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        return client_auth.authenticate(
            request,
            by_secret=lambda: super(AgentOBOValidator, self).authenticate_client(request, *args, **kwargs),
            uses_basic=bool(self._extract_basic_auth(request)),
            load_client=lambda client_id: self._load_application(client_id, request),
        )

    def client_authentication_required(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        return client_auth.presents_assertion(request) or super().client_authentication_required(
            request, *args, **kwargs
        )

    # --- proving the actor ---------------------------------------------------------------

    def actor_token_param(self, request: Any) -> tuple[str | None, str | None]:
        return getattr(request, "actor_token", None), getattr(request, "actor_token_type", None)

    def prove_actor(self, request: Any, expected: Agent) -> None:
        """Verify the presented actor token and that it names ``expected`` (draft -02 §5.2)."""
        token, token_type = self.actor_token_param(request)
        if not token:
            refuse(errors.InvalidRequestError, "actor_token_missing", "actor_token is required.", request)
        try:
            verified = verify_actor_token(str(token), token_type, self._token_endpoint(request))
        except ActorTokenError as exc:
            refuse(errors.InvalidGrantError, exc.reason, exc.description, request)
        if verified.agent.pk != expected.pk:
            refuse(
                errors.InvalidGrantError, "actor_mismatch", "The actor token names another actor.", request
            )
        request.agent_obo_actor_jkt = verified.dpop_jkt  # proof checked by dpop_binding (RFC 9449)

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
        binding = getattr(request, "agent_obo_binding", None)
        token, _ = self.actor_token_param(request)
        if binding is None or binding.agent is None:
            if token:
                refuse(
                    errors.InvalidGrantError,
                    "actor_token_for_plain_code",
                    "This authorization code was not issued for an actor.",
                    request,
                )
            request.agent_obo_context = TokenContext(kind=IssuedToken.KIND_USER, code_binding=binding)
        else:
            agent = binding.agent
            self.prove_actor(request, agent)
            grant = binding.agent_grant
            reason = grant.dead_reason() if grant is not None else "grant_missing"
            if reason is not None:
                refuse(errors.InvalidGrantError, reason, "The delegation has ended.", request)
            request.agent_obo_context = TokenContext(
                kind=IssuedToken.KIND_DELEGATED,
                agent=agent,
                agent_grant=grant,
                code_binding=binding,
                actor_chain=[agent.actor_id],
                max_expires_at=grant.expires_at,
            )
        # RFC 8707: settle the audience before the token is signed.
        self._check_and_set_request_resource(request)

    # --- client credentials: an agent proving itself --------------------------------------

    def classify_client_credentials(self, request: Any) -> None:
        token, _ = self.actor_token_param(request)
        if token:
            refuse(
                errors.InvalidRequestError,
                "actor_token_not_allowed",
                "actor_token is not used with this grant type.",
                request,
            )
        agent = client_auth.agent_of(request)
        if agent is None:
            request.agent_obo_context = TokenContext(kind=IssuedToken.KIND_CLIENT)
        else:
            reason = agent.unusable_reason()
            if reason is not None:
                refuse(errors.UnauthorizedClientError, reason, "This agent is not available.", request)
            state.note(actor_chain=[agent.actor_id])
            request.agent_obo_context = TokenContext(kind=IssuedToken.KIND_ACTOR, agent=agent)
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
        presented = find_refresh_token(refresh_token)
        origin = request.agent_obo_refresh_origin = _origin_of(presented)
        if origin is not None:  # DOT writes token rows before we mint: lock agent and grant first
            request.agent_obo_locked = delegation.lock_dependencies(
                TokenContext(kind=origin.kind, agent=origin.agent, agent_grant=origin.agent_grant)
            )
        presented = find_refresh_token(refresh_token, lock=True)
        family_was_live = family_is_live(presented)
        if super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
            return True
        explain_refusal(presented, client, family_was_live)
        return False

    def continue_lineage_on_refresh(self, request: Any) -> None:
        """A refreshed agent token keeps ``act``; the grant must be alive and the agent re-proven."""
        refresh = getattr(request, "refresh_token_instance", None)
        origin = getattr(request, "agent_obo_refresh_origin", None)
        if origin is None or refresh is None or origin.refresh_token_id != refresh.pk:
            origin = _origin_of(refresh)  # DOT judged another row than the one we locked for
        token, _ = self.actor_token_param(request)
        if origin is None or origin.kind != IssuedToken.KIND_DELEGATED:
            if token:
                refuse(
                    errors.InvalidGrantError,
                    "actor_token_for_plain_token",
                    "This refresh token was not issued for an actor.",
                    request,
                )
            kind = origin.kind if origin is not None else IssuedToken.KIND_USER
            binding = origin.code_binding if origin is not None else None
            request.agent_obo_context = TokenContext(kind=kind, code_binding=binding)
            return
        agent, grant = origin.agent, origin.agent_grant
        assert agent is not None
        state.note(user=origin.user, actor_chain=origin.actor_chain)
        reason = agent.unusable_reason() or (grant.dead_reason() if grant is not None else "grant_missing")
        if reason is not None:
            refuse(errors.InvalidGrantError, reason, "The delegation has ended.", request)
        if agent_obo_settings.REFRESH_REQUIRES_ACTOR_TOKEN:
            self.prove_actor(request, agent)
        assert grant is not None
        request.agent_obo_context = TokenContext(
            kind=IssuedToken.KIND_DELEGATED,
            agent=agent,
            agent_grant=grant,
            code_binding=origin.code_binding,  # a reused code also revokes refreshed tokens
            actor_chain=list(origin.actor_chain),
            max_expires_at=grant.expires_at,
        )

    # --- recording what was issued ---------------------------------------------------------

    def save_bearer_token(self, token: dict[str, Any], request: Any, *args: Any, **kwargs: Any) -> Any:
        """DOT's, without its savepoint: the token view runs the whole request in one
        transaction, and any failure while saving rolls all of it back."""
        with transaction.atomic(using=router.db_for_write(get_access_token_model()), savepoint=False):
            return self._save_bearer_token(token, request, *args, **kwargs)

    def _create_access_token(
        self, expires: Any, request: Any, token: dict[str, Any], source_refresh_token: Any = None
    ) -> Any:
        signed: SignedToken | None = getattr(request, "agent_obo_signed", None)
        if signed is not None:
            stop = delegation.hold_for_issuance(signed.context, getattr(request, "agent_obo_locked", None))
            if stop is not None:
                refuse(errors.InvalidGrantError, stop, "The delegation has ended.", request)
        access_token = super()._create_access_token(expires, request, token, source_refresh_token)
        state.note(access_token=access_token)
        if signed is None:  # a generator other than ours signed it; nothing to record
            return access_token
        if token.get("refresh_token"):  # DOT creates it next: record the token with it, in one insert
            request.agent_obo_pending = (access_token, expires)
        else:
            self._record_issued(request, signed, access_token, expires, refresh_token=None)
        return access_token

    def _create_refresh_token(
        self, request: Any, refresh_token_code: str, access_token: Any, previous_refresh_token: Any
    ) -> Any:
        refresh_token = super()._create_refresh_token(
            request, refresh_token_code, access_token, previous_refresh_token
        )
        pending = getattr(request, "agent_obo_pending", None)
        if pending is not None and pending[0] is access_token:
            self._record_issued(request, request.agent_obo_signed, access_token, pending[1], refresh_token)
        return refresh_token

    def _record_issued(
        self, request: Any, signed: SignedToken, access_token: Any, expires: Any, refresh_token: Any
    ) -> None:
        """Our record of a signed token (lineage, revocation truth) and its audit row."""
        context, claims = signed.context, signed.claims
        record = IssuedToken.objects.create(
            jti=signed.jti,
            token_checksum=access_token.token_checksum,
            kind=context.kind,
            access_token=access_token,
            user=request.user
            if context.kind in (IssuedToken.KIND_USER, IssuedToken.KIND_DELEGATED)
            else None,
            application=request.client,
            agent=context.agent,
            agent_grant=context.agent_grant,
            code_binding=context.code_binding,
            refresh_token=refresh_token,
            parent=context.parent,
            actor_chain=context.actor_chain,
            scope=claims["scope"],
            authorization_details=context.authorization_details,
            audience=[claims["aud"]] if isinstance(claims["aud"], str) else claims["aud"],
            issued_at=timezone.now(),
            expires_at=expires,
            dpop_jkt=context.dpop_jkt or "",
        )
        chain = context.actor_chain or ([context.agent.actor_id] if context.agent else [])
        event = {"refresh_token": "token.refreshed"}.get(request.grant_type, "token.issued")
        if context.parent is not None:
            event = "token.exchanged"
        audit.record(
            event,
            user=record.user,
            client_id=request.client.client_id,
            actor_chain=chain,
            scope=claims["scope"],
            jti=signed.jti,
            ip=audit.client_ip(request),
            detail={
                "kind": context.kind,
                "aud": claims["aud"],
                "grant_type": request.grant_type,
                **({"parent_jti": context.parent.jti} if context.parent is not None else {}),
            },
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
