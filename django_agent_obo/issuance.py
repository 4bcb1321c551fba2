"""One token request at the token endpoint, from the view's first look to its audit row.

The token view (``oauth/token.py``) creates an :class:`Issuance` per attempt and hands it to
oauthlib with the request (``oauth/dot_adapter.py``); each hook of the grant fills it in — who
asks, what the request redeems, what the token is for (its :class:`Profile`) — the generator
(``tokens.py``) signs from it, and :meth:`Issuance.record` writes the token's record, lineage
and audit row in the request's transaction. A refusal keeps its reason, and the revocations it
calls for run as their own step after the rollback (:meth:`Issuance.compensate`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from . import audit, delegation, locks
from .claims import default_audience
from .conf import agent_obo_settings
from .models import Agent, AgentGrant, CodeBinding, IssuedToken

# The key under which the view passes the Issuance with the request's headers (a WSGI-style
# environ name: no HTTP header can produce it, those arrive as ``HTTP_*``).
ENVIRON_KEY = "agent_obo.issuance"


def _dot_lifetime() -> int:
    from oauth2_provider.settings import oauth2_settings

    return int(oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS)


def _agent_lifetime() -> int:
    return int(agent_obo_settings.AGENT_ACCESS_TOKEN_EXPIRE_SECONDS)


def _actor_lifetime() -> int:
    return int(agent_obo_settings.ACTOR_TOKEN_EXPIRE_SECONDS)


def _this_server() -> list[str]:
    from .tokens import actor_token_audience

    return actor_token_audience()


@dataclass(frozen=True)
class Profile:
    """What one kind of token is: a row of :data:`PROFILES`.

    ``subject``: whose ``sub`` it carries (``user``, ``agent`` or ``client``, RFC 9068 §2.2);
    ``lifetime``: its seconds before the caps; ``capped``: it never outlives the delegation,
    the subject token or the agent's ``valid_until``; ``audience``: its ``aud`` when no
    resource is asked for (RFC 8707); ``event``: its audit row; ``auth_time``: it says when
    the user last signed in (RFC 9068 §2.2.1).
    """

    name: str
    kind: str
    subject: str
    lifetime: Callable[[], int]
    event: str
    capped: bool = False
    audience: Callable[[], list[str]] = default_audience
    auth_time: bool = True


USER = Profile("user", IssuedToken.KIND_USER, "user", _dot_lifetime, "token.issued")
DELEGATED = Profile("delegated", IssuedToken.KIND_DELEGATED, "user", _agent_lifetime, "token.issued", True)
ACTOR = Profile(
    "actor",
    IssuedToken.KIND_ACTOR,
    "agent",
    _actor_lifetime,
    "token.issued",
    capped=True,
    audience=_this_server,
    auth_time=False,
)
CLIENT = Profile("client", IssuedToken.KIND_CLIENT, "client", _dot_lifetime, "token.issued", auth_time=False)
EXCHANGED = Profile(
    "exchanged", IssuedToken.KIND_DELEGATED, "user", _agent_lifetime, "token.exchanged", capped=True
)
REFRESHED_USER = Profile("refreshed_user", IssuedToken.KIND_USER, "user", _dot_lifetime, "token.refreshed")
REFRESHED_DELEGATED = Profile(
    "refreshed_delegated",
    IssuedToken.KIND_DELEGATED,
    "user",
    _agent_lifetime,
    "token.refreshed",
    capped=True,
)
PROFILES = {
    p.name: p for p in (USER, DELEGATED, ACTOR, CLIENT, EXCHANGED, REFRESHED_USER, REFRESHED_DELEGATED)
}
# A refresh token issues the kind it was issued with, as a refresh (RFC 6749 §6).
REFRESHED = {USER.kind: REFRESHED_USER, DELEGATED.kind: REFRESHED_DELEGATED}


@dataclass
class Signed:
    """The claims the generator signed, waiting for DOT to store the token."""

    jti: str
    claims: dict[str, Any]


@dataclass
class Issuance:
    """Everything one token request has established, in the order the hooks learn it."""

    ip: str | None = None
    client_id: str = ""  # the client the audit row names: claimed, then authenticated
    # Who authenticated (``oauth/throttle.py`` counts them apart from anonymous failures).
    authenticated: bool = False
    authenticated_client_id: str = ""
    public_client: bool = False  # named a public client: no credential, counted per address only
    client_agent: tuple[Any, Agent | None] | None = None  # (client pk, its agent) once verified
    actor_jkt: str = ""  # RFC 9449: the key a presented DPoP-bound actor token is bound to
    # Whom a refusal's audit row names, as far as the request got.
    user: Any = None
    named_actors: list[str] = field(default_factory=list)
    # What the request redeems.
    code: Any = None  # DOT's Grant, claimed (deleted) once by ``validate_code``
    code_binding: CodeBinding | None = None
    refresh_origin: IssuedToken | None = None  # the token a presented refresh token came with
    locked: dict[str, Any] | None = None  # dependencies locked early (``locks.lock_dependencies``)
    resource_settled: bool = False  # RFC 8707 ``resource`` checked once, before signing
    # What the token is for.
    profile: Profile | None = None
    agent: Agent | None = None
    agent_grant: AgentGrant | None = None
    parent: IssuedToken | None = None  # the subject token of an exchange (RFC 8693)
    actor_chain: list[str] = field(default_factory=list)  # ``act``, current actor first
    audience: list[str] | None = None  # None: from RFC 8707 ``resource`` or the profile
    max_expires_at: datetime | None = None
    dpop_jkt: str = ""  # RFC 9449 §6.1: the key the token is bound to (``cnf.jkt``)
    authorization_details: list[dict[str, Any]] = field(default_factory=list)  # RFC 9396, settled
    # What was signed and stored.
    signed: Signed | None = None
    access_token: Any = None  # DOT's row of the access token, for ``app_authorized``
    expires: datetime | None = None
    # A refusal.
    reason: str = ""
    refused: bool = False
    retry_after: int | None = None  # rate limited: seconds until the window ends
    first_over_limit: bool = True  # the first refusal of its window is audited, the others not
    keep_writes: bool = False  # commit this refusal's writes (a CIBA poll's time stamp)
    reused_code: CodeBinding | None = None  # RFC 6749 §4.1.2: revoke what the code issued
    reused_refresh_family: Any = None  # RFC 9700 §4.14.2: a family DOT revoked

    @property
    def kind(self) -> str | None:
        """``IssuedToken.kind`` of the token, once a hook has said what it is for."""
        return self.profile.kind if self.profile is not None else None

    def issue(
        self,
        profile: Profile,
        *,
        agent: Agent | None = None,
        agent_grant: AgentGrant | None = None,
        code_binding: CodeBinding | None = None,
        parent: IssuedToken | None = None,
        actor_chain: list[str] | None = None,
        audience: list[str] | None = None,
        max_expires_at: datetime | None = None,
        authorization_details: list[dict[str, Any]] | None = None,
    ) -> None:
        """A grant's decision: the token is a ``profile`` token depending on these rows."""
        self.profile = profile
        self.agent, self.agent_grant, self.parent = agent, agent_grant, parent
        if code_binding is not None:
            self.code_binding = code_binding
        self.actor_chain = list(actor_chain or [])
        self.audience = audience
        self.max_expires_at = max_expires_at
        self.authorization_details = list(authorization_details or [])

    def settle_profile(self, user: Any) -> Profile:
        """The profile, or for a grant none of our hooks handles, a user's or a client's."""
        if self.profile is None:
            self.profile = USER if user else CLIENT
        return self.profile

    def lifetime(self) -> int:
        """Seconds until expiry: the profile's, and a capped profile's token never outlives
        the delegation, the subject token it derives from, or its agent's ``valid_until``."""
        assert self.profile is not None
        seconds = self.profile.lifetime()
        if not self.profile.capped:
            return seconds
        valid_until = self.agent.valid_until if self.agent is not None else None
        ends = [end for end in (self.max_expires_at, valid_until) if end is not None]
        if ends:
            remaining = int((min(ends) - timezone.now()).total_seconds())
            seconds = max(1, min(seconds, remaining))
        return seconds

    def hold(self) -> str | None:
        """Lock what the token depends on, read afresh; why it must not be issued, or None."""
        return locks.hold_for_issuance(self, self.locked)

    def record(
        self, *, access_token: Any, refresh_token: Any, client: Any, user: Any, grant_type: str
    ) -> None:
        """Our record of the signed token (lineage, revocation truth) and its audit row,
        in the token request's transaction."""
        assert self.profile is not None and self.signed is not None and self.expires is not None
        profile, claims = self.profile, self.signed.claims
        row = IssuedToken.objects.create(
            jti=self.signed.jti,
            token_checksum=access_token.token_checksum,
            kind=profile.kind,
            access_token=access_token,
            user=user if profile.subject == "user" else None,
            application=client,
            agent=self.agent,
            agent_grant=self.agent_grant,
            code_binding=self.code_binding,
            refresh_token=refresh_token,
            parent=self.parent,
            actor_chain=self.actor_chain,
            scope=claims["scope"],
            authorization_details=self.authorization_details,
            audience=[claims["aud"]] if isinstance(claims["aud"], str) else claims["aud"],
            issued_at=timezone.now(),
            expires_at=self.expires,
            dpop_jkt=self.dpop_jkt,
        )
        audit.record(
            profile.event,
            user=row.user,
            client_id=client.client_id,
            actor_chain=self.actor_chain or ([self.agent.actor_id] if self.agent else []),
            scope=claims["scope"],
            jti=self.signed.jti,
            ip=self.ip,
            detail={
                "kind": profile.kind,
                "aud": claims["aud"],
                "grant_type": grant_type,
                **({"parent_jti": self.parent.jti} if self.parent is not None else {}),
            },
        )

    def compensate(self) -> None:
        """After a refusal's rollback: what it must still revoke — everything a code used
        twice issued (RFC 6749 §4.1.2), a refresh token family DOT ended (RFC 9700 §4.14.2)."""
        if self.reused_code is not None:
            delegation.revoke_code_descendants(self.reused_code, self.ip)
        if self.reused_refresh_family is not None:
            delegation.revoke_refresh_family(self.reused_refresh_family, user=self.user, ip=self.ip)


def find(request: Any) -> Issuance | None:
    """The Issuance the token view handed over with an oauthlib request; None elsewhere
    (introspection, revocation)."""
    found = (getattr(request, "headers", None) or {}).get(ENVIRON_KEY)
    return found if isinstance(found, Issuance) else None


def of(request: Any) -> Issuance:
    """The Issuance of an oauthlib token request (one is attached if the request has none,
    e.g. when the server is driven without the token view)."""
    found = find(request)
    if found is None:
        found = request.headers[ENVIRON_KEY] = Issuance(ip=audit.client_ip(request))
    return found
