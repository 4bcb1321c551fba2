"""URL patterns, separately includable.

* ``oauth2_urlpatterns``: DOT's protocol routes with our authorization and token views, a
  JWKS route and DOT's RFC 7591/7592 registration (answering 404 unless ``DCR_ENABLED``);
  include under a prefix with the ``oauth2_provider`` namespace.
* ``metadata_urlpatterns``: RFC 8414 / RFC 9728 documents (the root one and the path-aware
  one of each protected resource); include at the site root.

``urlpatterns`` replaces ``include("oauth2_provider.urls")``: the two lists above plus DOT's
application and authorized-token management pages, which keep their names in the namespace
(the application pages for staff only: ``application_management.py``).
"""

import base64
import binascii
import re

from django.urls import include, path, register_converter
from oauth2_provider import urls as dot_urls

from .application_management import staff_only_management
from .oauth import unstorable
from .oauth.authorize import AgentAuthorizationView
from .oauth.bc_authorize import BackchannelAuthenticationView
from .oauth.device_views import (
    AgentDeviceAuthorizationView,
    AgentDeviceConfirmView,
    AgentDeviceGrantStatusView,
    AgentDeviceUserCodeView,
)
from .oauth.introspection import AgentIntrospectTokenView
from .oauth.metadata import AgentServerMetadataView, JwksView
from .oauth.registration_views import AgentClientConfigurationView, AgentClientRegistrationView
from .oauth.resource_metadata import AgentResourceMetadataView
from .oauth.revocation import AgentRevokeTokenView
from .oauth.token import AgentTokenView

app_name = "oauth2_provider"

SLUG = re.compile(r"[-a-zA-Z0-9_]+")


class ClientIdConverter:
    """A client id in a URL path segment: as is when it is a slug, else ``~`` and its UTF-8
    base64url (``com.example.tv``, a URL): DOT's device confirmation and status views
    reverse their URLs from the id, which is not always a slug (RFC 6749 §2.2 allows any
    printable characters)."""

    regex = r"[-a-zA-Z0-9_]+|~[-a-zA-Z0-9_]+"

    def to_python(self, value: str) -> str:
        if not value.startswith("~"):
            return value
        encoded = value[1:]
        try:
            client_id = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("utf-8")
        except (binascii.Error, ValueError) as exc:  # UnicodeDecodeError is a ValueError
            raise ValueError(value) from exc  # Django answers 404
        if unstorable.has_control(client_id):  # a NUL would reach PostgreSQL: a 500
            raise ValueError(value)
        return client_id

    def to_url(self, value: str) -> str:
        if SLUG.fullmatch(value):
            return value
        return "~" + base64.urlsafe_b64encode(value.encode("utf-8")).rstrip(b"=").decode("ascii")


register_converter(ClientIdConverter, "client_id")

oauth2_urlpatterns = [
    path("authorize/", AgentAuthorizationView.as_view(), name="authorize"),
    path("token/", AgentTokenView.as_view(), name="token"),
    path("revoke_token/", AgentRevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", AgentIntrospectTokenView.as_view(), name="introspect"),
    path("jwks/", JwksView.as_view(), name="jwks"),
    path("bc-authorize/", BackchannelAuthenticationView.as_view(), name="bc-authorize"),
    # RFC 8628 (DOT's views, agent-aware: oauth/device_views.py); names as in DOT's urls.
    path("device-authorization/", AgentDeviceAuthorizationView.as_view(), name="device-authorization"),
    path("device/", AgentDeviceUserCodeView.as_view(), name="device"),
    path(
        "device-confirm/<client_id:client_id>/<slug:user_code>/",
        AgentDeviceConfirmView.as_view(),
        name="device-confirm",
    ),
    path(
        "device-grant-status/<client_id:client_id>/<slug:user_code>/",
        AgentDeviceGrantStatusView.as_view(),
        name="device-grant-status",
    ),
    # RFC 7591/7592 (DOT's views, answering 404 unless DCR_ENABLED); names as in DOT's dcr_urlpatterns.
    path("register/", AgentClientRegistrationView.as_view(), name="dcr-register"),
    path(
        "register/<str:client_id>/",
        AgentClientConfigurationView.as_view(),
        name="dcr-register-management",
    ),
]

metadata_urlpatterns = [
    path(
        ".well-known/oauth-authorization-server",
        AgentServerMetadataView.as_view(),
        name="oauth-server-metadata",
    ),
    path(
        ".well-known/oauth-protected-resource",
        AgentResourceMetadataView.as_view(),
        name="oauth-resource-metadata",
    ),
    # RFC 9728 §3.1: the document of each PROTECTED_RESOURCES identifier, at its path-aware URL.
    path(
        ".well-known/oauth-protected-resource/<path:resource_path>",
        AgentResourceMetadataView.as_view(),
        name="oauth-resource-metadata-path",
    ),
]

# `path("", include("django_agent_obo.urls"))` at the site root mounts the metadata at
# /.well-known/ and the protocol endpoints and DOT's management pages under /o/, all in the
# oauth2_provider namespace.
urlpatterns = [
    *metadata_urlpatterns,
    path("o/", include([*oauth2_urlpatterns, *staff_only_management(dot_urls.management_urlpatterns)])),
]
