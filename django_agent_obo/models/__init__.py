"""Models of the agent delegation registry (see docs/architecture.md)."""

from .agents import Agent
from .audit import AuditEvent
from .client_keys import ClientKeySet
from .consents import PendingConsent
from .dpop import ClientDPoPPolicy
from .backchannel import BackchannelClient, BackchannelRequest
from .grants import AgentGrant, CodeBinding, IssuedToken
from .replay import UsedAssertion

__all__ = [
    "Agent",
    "AgentGrant",
    "AuditEvent",
    "ClientDPoPPolicy",
    "ClientKeySet",
    "CodeBinding",
    "IssuedToken",
    "PendingConsent",
    "BackchannelClient",
    "BackchannelRequest",
    "UsedAssertion",
]
