"""The RFC 8693 token-exchange grant: carry a user's delegation down a chain of agents.

The agent that holds a delegated token (its current actor, ``act.sub``) authenticates with
its own client credentials and presents that token as the ``subject_token``; with the next
agent's ``actor_token`` it gets a token for that agent, without one a token for itself,
re-targeted. The new token keeps ``sub`` and the original ``client_id``, nests the chain in
``act`` (§4.1, current actor outermost), records its parent for the revocation cascade, and
never widens scope, audience set or lifetime.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.utils import timezone
from oauthlib.oauth2.rfc6749 import errors

from .. import issuance
from ..actors import TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT, ActorTokenError, verify_actor_token
from ..adapter import get_adapter
from ..claims import default_audience
from ..conf import agent_obo_settings
from ..issuance import EXCHANGED
from ..jose import JWTRefused
from ..models import Agent, AgentGrant, IssuedToken
from ..tokens import verify_access_token
from . import throttle
from .errors import refuse
from .grants import TokenGrant

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
SUBJECT_TOKEN_TYPES = (TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT)


@dataclass
class Subject:
    """A verified subject token: our record of it and the live delegation behind it."""

    record: IssuedToken
    grant: AgentGrant


def _param(request: Any, name: str) -> str | None:
    value = getattr(request, name, None)
    return str(value) if value else None


def _repeated(request: Any, name: str) -> list[str]:
    """Every value of a parameter that may repeat (DOT passes repeated ``resource`` on)."""
    return [str(value) for key, value in request.decoded_body or [] if key == name]


class TokenExchangeGrant(TokenGrant):
    """``grant_type=urn:ietf:params:oauth:grant-type:token-exchange`` (RFC 8693 §2).

    Only access tokens are issued, never refresh tokens: a derived token lives at most as
    long as its subject token, and the holder exchanges again when it needs a fresh one.
    """

    refresh_token = False

    def complete(self, token: dict[str, Any], token_handler: Any, request: Any) -> dict[str, Any]:
        token["issued_token_type"] = TOKEN_TYPE_ACCESS_TOKEN  # RFC 8693 §2.2.1
        return token

    def validate_token_request(self, request: Any) -> None:
        """Every check of RFC 8693 §2.1 and our policy; says what the new token is for."""
        if request.grant_type != TOKEN_EXCHANGE:
            raise errors.UnsupportedGrantTypeError(request=request)
        for validator in self.custom_validators.pre_token:
            validator(request)
        self.validate_client_confidential(request)
        throttle.count_authenticated(request)
        caller = self._calling_agent(request)
        subject_token = self._check_parameters(request)
        subject = self._verify_subject(request, subject_token, caller)
        chain = list(subject.record.actor_chain)
        acting = caller
        actor_token = _param(request, "actor_token")
        if actor_token:
            acting = self._next_actor(request, actor_token, caller, chain)
            chain = [acting.actor_id, *chain]
        scopes = self._narrowed_scopes(request, subject.record, acting, acting is not caller)
        resources, audience = self._targets(request, subject.record)
        current = issuance.of(request)
        current.named_actors = chain
        request.scopes = scopes
        request.user = subject.record.user
        request.resource = resources
        # The new token belongs to the client that ran the original flow (SPEC §1).
        request.client = subject.record.application
        current.issue(
            EXCHANGED,
            agent=acting,
            agent_grant=subject.grant,
            parent=subject.record,
            actor_chain=chain,
            audience=audience,
            max_expires_at=min(filter(None, (subject.record.expires_at, subject.grant.expires_at))),
        )
        self.run_post_token_hooks(request)

    # --- who is asking ---------------------------------------------------------------------

    def _calling_agent(self, request: Any) -> Agent:
        """Token exchange is for agents: the caller is an agent's own confidential client."""
        client = request.client
        agent = Agent.objects.filter(credentials=client).first()
        if agent is None or client.client_type != client.CLIENT_CONFIDENTIAL:
            refuse(
                "client_not_an_agent",
                "Only an agent, with its own client credentials, may exchange tokens.",
                request,
            )
        reason = agent.unusable_reason()
        if reason is not None:
            refuse(reason, "This agent is not available.", request, error="unauthorized_client")
        return agent

    def _check_parameters(self, request: Any) -> str:
        """RFC 8693 §2.1: the request parameters, before any token is looked at."""
        subject_token = _param(request, "subject_token")
        if not subject_token:
            refuse("subject_token_missing", "subject_token is required.", request)
        subject_type = _param(request, "subject_token_type")
        if subject_type not in SUBJECT_TOKEN_TYPES:
            refuse(
                "unsupported_subject_token_type",
                "subject_token_type must be " + " or ".join(SUBJECT_TOKEN_TYPES) + ".",
                request,
            )
        requested = _param(request, "requested_token_type")
        if requested not in (None, TOKEN_TYPE_ACCESS_TOKEN):
            refuse(
                "unsupported_requested_token_type", f"Only {TOKEN_TYPE_ACCESS_TOKEN} can be issued.", request
            )
        if _param(request, "actor_token_type") and not _param(request, "actor_token"):
            refuse("actor_token_missing", "actor_token_type was sent without actor_token.", request)
        return subject_token

    # --- the subject token -------------------------------------------------------------------

    def _verify_subject(self, request: Any, token: str, caller: Agent) -> Subject:
        """One of our live delegated tokens, held by the caller, with a live grant behind it."""
        try:
            claims = verify_access_token(token)
        except JWTRefused as exc:
            refuse(
                "subject_token_" + exc.reason,
                "The subject token is not valid.",
                request,
                error="invalid_grant",
            )
        record = (
            IssuedToken.objects.select_related("user", "application")
            .filter(jti=claims["jti"], token_checksum=hashlib.sha256(token.encode()).hexdigest())
            .first()
        )
        if record is None:
            refuse("subject_token_unknown", "The subject token is unknown.", request)
        current = issuance.of(request)
        current.user, current.named_actors = record.user, list(record.actor_chain)
        if record.revoked_at is not None:
            refuse("subject_token_revoked", "The subject token was revoked.", request)
        if record.expires_at <= timezone.now():
            refuse("subject_token_expired", "The subject token has expired.", request)
        if record.kind != IssuedToken.KIND_DELEGATED or record.agent_grant_id is None:
            refuse(
                "subject_token_not_delegated",
                "Only a token an agent holds on behalf of a user can be exchanged.",
                request,
            )
        if record.agent_id != caller.pk:
            # RFC 6749 §5.2: the grant was issued to another client.
            refuse(
                "subject_token_not_held_by_caller",
                "The subject token's current actor is another agent.",
                request,
            )
        # Read, not locked: the lock is taken with the agent's, in the one order (agent, grant,
        # tokens), when the token is stored (``Issuance.hold``), and the grant read again then.
        grant = AgentGrant.objects.get(pk=record.agent_grant_id)
        reason = grant.dead_reason()
        if reason is None:
            reason = self._chain_unusable(list(record.actor_chain))
        if reason is not None:
            refuse(reason, "The delegation has ended.", request, error="invalid_grant")
        return Subject(record=record, grant=grant)

    def _chain_unusable(self, chain: list[str]) -> str | None:
        """Every actor already in the chain must still be registered and usable."""
        agents = list(Agent.objects.filter(actor_id__in=chain))
        if len(agents) != len(set(chain)):
            return "unknown_actor"
        return next((r for r in (a.unusable_reason() for a in agents) if r is not None), None)

    # --- the next actor: who accepts what from whom ----------------------------------------------

    def _next_actor(self, request: Any, actor_token: str, caller: Agent, chain: list[str]) -> Agent:
        """Verify the next agent's actor token and the hop's policy (depth, cycle, consent of the
        receiving agent as an admin configured it, or as the adapter decides)."""
        try:
            verified = verify_actor_token(
                actor_token,
                _param(request, "actor_token_type"),
                self.request_validator._token_endpoint(request),
            )
        except ActorTokenError as exc:
            refuse(exc.reason, exc.description, request, error="invalid_grant")
        target = verified.agent
        current = issuance.of(request)
        current.actor_jkt = verified.dpop_jkt or ""  # proof checked by dpop_binding (RFC 9449)
        current.named_actors = [target.actor_id, *chain]  # the hop attempted
        if target.actor_id in chain:
            refuse("delegation_cycle", "This agent is already in the delegation chain.", request)
        if len(chain) + 1 > int(agent_obo_settings.MAX_DELEGATION_DEPTH):
            refuse("delegation_depth_exceeded", "The delegation chain would be too long.", request)
        if not get_adapter().may_delegate(caller, target):
            refuse(
                "delegation_not_allowed",
                "The next agent does not accept delegation from this agent.",
                request,
            )
        return target

    # --- what the new token may do, and for whom ----------------------------------------------

    def _narrowed_scopes(
        self, request: Any, record: IssuedToken, acting: Agent, new_actor: bool
    ) -> list[str]:
        """The requested scopes (default: the subject's), never beyond the subject token's,
        nor beyond what a new actor may ever be granted."""
        held = record.scope.split()
        scopes = list(request.scopes) if request.scope is not None else held
        if not scopes:
            refuse("scope_empty", "No scope was requested.", request)
        wider = sorted(set(scopes) - set(held))
        if wider:
            refuse("scope_widened", "Scope beyond the subject token: " + " ".join(wider), request)
        beyond = sorted(set(scopes) - acting.scope_set)
        if new_actor and beyond:
            refuse("scope_beyond_actor", "The next agent may not be granted: " + " ".join(beyond), request)
        return scopes

    def _targets(self, request: Any, record: IssuedToken) -> tuple[list[str], list[str]]:
        """``resource`` (absolute URIs, RFC 8707) and ``audience`` (a name) select ``aud``.

        Allowed: the subject token's own audience, the default audience and
        ``EXCHANGE_AUDIENCES``. Without either parameter the subject's audience is kept.
        Returns (resources for DOT's record, the new ``aud``).
        """
        resources = _repeated(request, "resource")
        for uri in resources:
            parts = urlsplit(uri)
            if not (parts.scheme and parts.netloc) or parts.fragment or "@" in parts.netloc:
                refuse("resource_malformed", "A resource must be an absolute URI without fragment.", request)
        audience = _param(request, "audience")
        wanted = list(dict.fromkeys([*resources, *([audience] if audience else [])]))
        allowed = {*record.audience, *default_audience(), *agent_obo_settings.EXCHANGE_AUDIENCES}
        refused = [target for target in wanted if target not in allowed]
        if refused:
            refuse("target_not_allowed", "No token can be issued for: " + " ".join(refused), request)
        return resources, wanted or list(record.audience)
