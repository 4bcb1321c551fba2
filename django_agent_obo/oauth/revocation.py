"""RFC 7009 revocation: DOT's endpoint, refusing input no database can store first."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from oauth2_provider.compat import login_not_required
from oauth2_provider.views import RevokeTokenView

from . import unstorable


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(login_not_required, name="dispatch")
class AgentRevokeTokenView(RevokeTokenView):
    """DOT's revocation view (our validator cascades); a control character in any parameter or
    in the client credentials is ``invalid_request`` (RFC 7009 §2.2.1) before any lookup."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if unstorable.first_unstorable(request) is not None:
            response = JsonResponse(
                {"error": "invalid_request", "error_description": unstorable.DESCRIPTION}, status=400
            )
            response["Cache-Control"] = "no-store"
            return response
        return super().dispatch(request, *args, **kwargs)
