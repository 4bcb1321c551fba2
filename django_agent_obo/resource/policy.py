"""What a resource demands of a valid token: scopes, agent or not, which actors, chain depth.

A :class:`Policy` is plain data evaluated against an
:class:`~django_agent_obo.resource.validation.AccessTokenInfo`; the decorator, the
middleware and the DRF permission classes all use it, so they behave the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..refusals import Refusal
from .validation import AccessTokenInfo

ActorRule = Iterable[str] | Callable[[AccessTokenInfo], bool]


class Denied(Refusal):
    """A valid token without the privileges this resource needs (HTTP 403).

    ``error`` is ``insufficient_scope`` (RFC 6750 §3.1, with ``scope``) or
    ``access_denied`` for actor policy, where asking for more scope cannot help.
    """

    def __init__(self, error: str, reason: str, description: str, scope: tuple[str, ...] = ()) -> None:
        super().__init__(reason, description, error=error)
        self.scope = scope


@dataclass(frozen=True)
class Policy:
    """Requirements on a token. Every field left at its default requires nothing.

    * ``scopes`` with ``scope_match`` ``"all"`` (default) or ``"any"``;
    * ``agent``: True: an agent must be calling (``act``, or the agent's own token);
      False: no agent may call; None: either;
    * ``actors``: the calling agent (``agent_id``: the current actor, or the agent of its
      own token) must be one of these ids, or the callable must return True for the
      token; a token without an agent passes only a callable that says so;
    * ``max_chain_depth``: at most this many actors in ``act`` (1: no delegation chains).
    """

    scopes: tuple[str, ...] = ()
    scope_match: str = "all"
    agent: bool | None = None
    actors: frozenset[str] | Callable[[AccessTokenInfo], bool] | None = None
    max_chain_depth: int | None = None

    @classmethod
    def build(
        cls,
        scopes: Iterable[str] | str = (),
        *,
        scope_match: str = "all",
        agent: bool | None = None,
        actors: ActorRule | None = None,
        max_chain_depth: int | None = None,
    ) -> Policy:
        if scope_match not in ("all", "any"):
            raise ValueError("scope_match must be 'all' or 'any'")
        scope_tuple = tuple(scopes.split()) if isinstance(scopes, str) else tuple(scopes)
        rule: Any = actors
        if actors is not None and not callable(actors):
            rule = frozenset([actors] if isinstance(actors, str) else actors)
        return cls(scope_tuple, scope_match, agent, rule, max_chain_depth)

    def check(self, info: AccessTokenInfo) -> None:
        """Raise :class:`Denied` unless ``info`` meets every requirement."""
        if not info.has_scopes(self.scopes, self.scope_match):
            needed = "one of" if self.scope_match == "any" and len(self.scopes) > 1 else "scope"
            raise Denied(
                "insufficient_scope",
                "insufficient_scope",
                f"This request needs {needed}: {' '.join(self.scopes)}.",
                self.scopes,
            )
        if self.agent is True and not info.is_agent:
            raise Denied("access_denied", "agent_required", "Only an AI agent may call this resource.")
        if self.agent is False and info.is_agent:
            raise Denied("access_denied", "agent_forbidden", "AI agents may not call this resource.")
        if self.actors is not None and not self._actor_allowed(info):
            raise Denied("access_denied", "actor_not_allowed", "This actor may not call this resource.")
        if self.max_chain_depth is not None and info.chain_depth > self.max_chain_depth:
            raise Denied(
                "access_denied", "chain_too_deep", "The delegation chain is longer than this resource allows."
            )

    def _actor_allowed(self, info: AccessTokenInfo) -> bool:
        if callable(self.actors):
            return bool(self.actors(info))
        assert self.actors is not None
        agent_id = info.agent_id
        return agent_id is not None and agent_id in self.actors
