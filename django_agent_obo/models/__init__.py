"""Models of the agent delegation registry (see docs/architecture.md)."""

from .agents import Agent
from .audit import AuditEvent, Event
from .backchannel import BackchannelClient, BackchannelRequest
from .client_keys import ClientKeySet
from .clients import ClientApproval
from .consents import PendingConsent
from .device import DeviceAuthorization
from .dpop import ClientDPoPPolicy
from .grants import AgentGrant, CodeBinding, IssuedToken
from .ratelimit import RateCounter
from .replay import UsedAssertion

__all__ = [
    "Agent",
    "AgentGrant",
    "AuditEvent",
    "BackchannelClient",
    "BackchannelRequest",
    "ClientApproval",
    "ClientDPoPPolicy",
    "ClientKeySet",
    "CodeBinding",
    "DeviceAuthorization",
    "Event",
    "IssuedToken",
    "PendingConsent",
    "RateCounter",
    "UsedAssertion",
]
