"""RFC 8414 metadata with the draft's fields, and the JWKS endpoint (RFC 7517)."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views.generic import View
from oauth2_provider.compat import login_not_required
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import OAuthServerMetadataView

from .. import authorization_details, keys
from ..actors import ACTOR_TOKEN_TYPES
from ..client_assertions import AUTH_METHOD, signing_algorithms
from ..conf import agent_obo_settings
from ..resources import OFFLINE_ACCESS
from ..tokens import issuer
from .backchannel import CIBA
from .device import DEVICE_CODE
from .exchange import TOKEN_EXCHANGE


class AgentServerMetadataView(OAuthServerMetadataView):
    """RFC 8414 metadata plus the draft's ``requested_actor_supported``, RFC 8693 token
    exchange among the grant types, and our JWKS."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        data = json.loads(response.content)
        data["issuer"] = issuer()
        jwks_uri = self._get_endpoint_url(request, "jwks")
        if jwks_uri:
            data["jwks_uri"] = jwks_uri
        data["code_challenge_methods_supported"] = ["S256"]
        data["requested_actor_supported"] = True
        data["actor_token_types_supported"] = list(ACTOR_TOKEN_TYPES)
        if TOKEN_EXCHANGE not in data["grant_types_supported"]:
            data["grant_types_supported"].append(TOKEN_EXCHANGE)
        # OpenID CIBA Core 1.0 §4: the backchannel endpoint, its delivery modes, its grant.
        backchannel_endpoint = self._get_endpoint_url(request, "bc-authorize")
        if backchannel_endpoint:
            data["backchannel_authentication_endpoint"] = backchannel_endpoint
            data["backchannel_token_delivery_modes_supported"] = ["poll", "ping"]
            data["backchannel_user_code_parameter_supported"] = False
            if CIBA not in data["grant_types_supported"]:
                data["grant_types_supported"].append(CIBA)
        device_endpoint = self._get_endpoint_url(request, "device-authorization")  # RFC 8628 §4
        if device_endpoint:
            data["device_authorization_endpoint"] = device_endpoint
            if DEVICE_CODE not in data["grant_types_supported"]:
                data["grant_types_supported"].append(DEVICE_CODE)
        data["authorization_response_iss_parameter_supported"] = bool(
            oauth2_settings.COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS
        )
        data["access_token_signing_alg_values_supported"] = [keys.signing_key().alg]
        for endpoint in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
            methods = data.get(f"{endpoint}_auth_methods_supported")
            if methods is not None:  # RFC 8414 §2: private_key_jwt and its algorithms (RFC 7523 §2.2)
                data[f"{endpoint}_auth_methods_supported"] = [*methods, AUTH_METHOD]
                data[f"{endpoint}_auth_signing_alg_values_supported"] = signing_algorithms()
        data["dpop_signing_alg_values_supported"] = list(agent_obo_settings.DPOP_ALGORITHMS)  # RFC 9449 §5.1
        if authorization_details.types_supported():  # RFC 9396 §10
            data["authorization_details_types_supported"] = authorization_details.types_supported()
        if "refresh_token" not in data["grant_types_supported"]:
            # offline_access asks for a refresh token (MCP SEP-2207): only offered when one is issued.
            data["scopes_supported"] = [s for s in data["scopes_supported"] if s != OFFLINE_ACCESS]
        out = JsonResponse(data)
        out["Access-Control-Allow-Origin"] = "*"
        return out


@method_decorator(login_not_required, name="dispatch")
class JwksView(View):
    """The public signing keys (RFC 7517 §5), current and recently rotated-out."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = JsonResponse(keys.jwks_document())
        response["Cache-Control"] = f"public, max-age={keys.JWKS_MAX_AGE_SECONDS}"
        response["Access-Control-Allow-Origin"] = "*"
        return response
