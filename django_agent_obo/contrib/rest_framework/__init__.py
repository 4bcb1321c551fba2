"""Django REST framework integration over :mod:`django_agent_obo.resource` (the only place
DRF is imported).

    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["django_agent_obo.contrib.rest_framework.AgentOBOAuthentication"],
        "EXCEPTION_HANDLER": "django_agent_obo.contrib.rest_framework.exception_handler",
    }

    class Events(APIView):
        permission_classes = [HasScopes("calendar.read") & ~IsAgent | IsAgent & ActorIn(["agent:x"])]
"""

from .authentication import AgentOBOAuthentication
from .exceptions import exception_handler
from .permissions import (
    ActorIn,
    HasAnyScope,
    HasScopes,
    HasToken,
    IsAgent,
    MaxChainDepth,
    TokenPolicy,
    WithinAuthorizationDetails,
)

__all__ = [
    "ActorIn",
    "AgentOBOAuthentication",
    "HasAnyScope",
    "HasScopes",
    "HasToken",
    "IsAgent",
    "MaxChainDepth",
    "TokenPolicy",
    "WithinAuthorizationDetails",
    "exception_handler",
]
