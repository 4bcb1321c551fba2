"""Models of the agent delegation registry (see docs/architecture.md)."""

from .agents import Agent
from .audit import AuditEvent
from .clients import ClientApproval
from .grants import AgentGrant, CodeBinding, IssuedToken
from .replay import UsedAssertion

__all__ = [
    "Agent",
    "AgentGrant",
    "AuditEvent",
    "ClientApproval",
    "CodeBinding",
    "IssuedToken",
    "UsedAssertion",
]
