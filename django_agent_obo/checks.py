"""System checks ``agent_obo.E001``… (errors) and ``agent_obo.W001``… (warnings) naming the
exact setting a site forgot or set unsafely."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core import checks
from django.urls import URLPattern, URLResolver, get_resolver

from .conf import agent_obo_settings

VALIDATOR = "django_agent_obo.oauth.validator.AgentOBOValidator"
SERVER = "django_agent_obo.oauth.server.AgentOBOServer"


def _dot(name: str) -> Any:
    from oauth2_provider.settings import oauth2_settings

    return getattr(oauth2_settings, name)


def _is(value: Any, dotted: str) -> bool:
    """Whether a DOT class setting is ours or a subclass of ours."""
    from django.utils.module_loading import import_string

    try:
        if isinstance(value, str):
            value = import_string(value)
        return isinstance(value, type) and issubclass(value, import_string(dotted))
    except ImportError:
        return False


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    if not agent_obo_settings.ISSUER:
        errors.append(
            checks.Error(
                "AGENT_OBO['ISSUER'] is not set.",
                hint="Set AGENT_OBO = {'ISSUER': 'https://auth.example.com', ...}: the iss of every token.",
                id="agent_obo.E001",
            )
        )
    if not agent_obo_settings.AUTHORIZATION_SERVER:
        return errors  # a project that only validates tokens (docs/resource-server-settings.md)
    if not _is(_dot("OAUTH2_VALIDATOR_CLASS"), VALIDATOR):
        errors.append(
            checks.Error(
                "DOT is not using the agent_obo validator.",
                hint=f"Set OAUTH2_PROVIDER['OAUTH2_VALIDATOR_CLASS'] = '{VALIDATOR}'.",
                id="agent_obo.E002",
            )
        )
    if not _is(_dot("OAUTH2_SERVER_CLASS"), SERVER):
        errors.append(
            checks.Error(
                "DOT is not using the agent_obo server class.",
                hint=f"Set OAUTH2_PROVIDER['OAUTH2_SERVER_CLASS'] = '{SERVER}'.",
                id="agent_obo.E003",
            )
        )
    if _dot("PKCE_REQUIRED") is not True:
        errors.append(
            checks.Error(
                "PKCE is not required.",
                hint="Set OAUTH2_PROVIDER['PKCE_REQUIRED'] = True (RFC 9700 §2.1.1).",
                id="agent_obo.E004",
            )
        )
    if not _dot("COMPLIANT_BCP_RFC9700_PKCE_METHOD"):
        errors.append(
            checks.Error(
                "The PKCE 'plain' method is allowed.",
                hint="Set OAUTH2_PROVIDER['COMPLIANT_BCP_RFC9700_PKCE_METHOD'] = True (S256 only).",
                id="agent_obo.E005",
            )
        )
    errors.extend(_check_keys())
    if not _dot("COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS"):
        errors.append(
            checks.Warning(
                "Authorization responses do not carry iss (RFC 9207).",
                hint="Set OAUTH2_PROVIDER['COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS'] = True.",
                id="agent_obo.W001",
            )
        )
    if (
        _dot("OIDC_ISS_ENDPOINT")
        and agent_obo_settings.ISSUER
        and (_dot("OIDC_ISS_ENDPOINT").rstrip("/") != str(agent_obo_settings.ISSUER).rstrip("/"))
    ):
        errors.append(
            checks.Error(
                "OAUTH2_PROVIDER['OIDC_ISS_ENDPOINT'] differs from AGENT_OBO['ISSUER'].",
                hint="Use the same issuer in both, or leave OIDC_ISS_ENDPOINT unset.",
                id="agent_obo.E006",
            )
        )
    if (
        _dot("COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS")
        and agent_obo_settings.ISSUER
        and not _dot("OIDC_ISS_ENDPOINT")
    ):
        errors.append(
            checks.Warning(
                "OAUTH2_PROVIDER['OIDC_ISS_ENDPOINT'] is not set: the iss that DOT adds to authorization "
                "responses (RFC 9207 §2) follows each request's Host, while the metadata says "
                "AGENT_OBO['ISSUER'].",
                hint=f"Set OAUTH2_PROVIDER['OIDC_ISS_ENDPOINT'] = {str(agent_obo_settings.ISSUER)!r}.",
                id="agent_obo.W006",
            )
        )
    return errors


def _check_keys() -> list[checks.CheckMessage]:
    from . import keys

    try:
        key = keys.signing_key()
    except keys.KeyConfigurationError as exc:
        hint = (
            "Run `manage.py rotate_signing_key` with AGENT_OBO['SIGNING_KEY_DIR'] set, "
            "or put a PEM key in AGENT_OBO['SIGNING_KEYS']."
        )
        if settings.DEBUG:  # a development site: a warning, with its own W id
            return [checks.Warning(str(exc), hint=hint, id="agent_obo.W007")]
        return [checks.Error(str(exc), hint=hint, id="agent_obo.E007")]
    except (OSError, ValueError) as exc:
        return [checks.Error(f"The signing key cannot be loaded: {exc}", id="agent_obo.E008")]
    weakness = keys.key_weakness(key.private_key)
    if weakness:
        return [checks.Error(f"The signing key is too weak: {weakness}.", id="agent_obo.E009")]
    return []


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every ``(path, view class)`` of a URLconf, includes followed."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), getattr(pattern.callback, "view_class", None)


def check_urls(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Our authorization and token views are mounted, and DOT's own are not left reachable
    beside them (they would skip the actor checks' transaction and the duplicate-parameter rule)."""
    from oauth2_provider.views import AuthorizationView, TokenView

    from .oauth.authorize import AgentAuthorizationView
    from .oauth.token import AgentTokenView

    if not agent_obo_settings.AUTHORIZATION_SERVER or not getattr(settings, "ROOT_URLCONF", None):
        return []
    errors: list[checks.CheckMessage] = []
    routes = list(_routes(get_resolver().url_patterns))
    for dot_view, ours in ((AuthorizationView, AgentAuthorizationView), (TokenView, AgentTokenView)):
        views = [
            (route, view) for route, view in routes if isinstance(view, type) and issubclass(view, dot_view)
        ]
        if not any(issubclass(view, ours) for _, view in views):
            errors.append(
                checks.Error(
                    f"No URL serves django_agent_obo's {ours.__name__}.",
                    hint='Add path("", include("django_agent_obo.urls")) to your root urls.py.',
                    id="agent_obo.E010",
                )
            )
        for route, view in views:
            if not issubclass(view, ours):
                errors.append(
                    checks.Error(
                        f"/{route} is served by {view.__module__}.{view.__name__}, not by django_agent_obo.",
                        hint='Remove include("oauth2_provider.urls"): include("django_agent_obo.urls") '
                        "replaces it (DOT's management pages included).",
                        id="agent_obo.E011",
                    )
                )
    return errors


def check_application_management(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """DOT's application pages open to every signed-in user let anyone register a client and
    pick its client_id (issue #12)."""
    from .application_management import open_application_routes

    if not agent_obo_settings.AUTHORIZATION_SERVER or not getattr(settings, "ROOT_URLCONF", None):
        return []
    return [
        checks.Warning(
            f"/{route} serves DOT's application management to every signed-in user.",
            hint='Mount include("django_agent_obo.urls") (staff only), wrap the views with '
            "django_agent_obo.application_management.staff_only, or leave them out.",
            id="agent_obo.W012",
        )
        for route in open_application_routes(get_resolver().url_patterns)
    ]


def register() -> None:
    from .cache_checks import check_caches, check_caches_for_deployment, check_revocation_cache
    from .client_secrets import check_client_secret_hasher
    from .dpop_checks import check_dpop_settings
    from .resource.checks import check_resource_settings

    checks.register(check_settings, checks.Tags.security)
    checks.register(check_resource_settings, checks.Tags.security)
    checks.register(check_urls, checks.Tags.urls, checks.Tags.security)
    checks.register(check_application_management, checks.Tags.urls, checks.Tags.security)
    checks.register(check_client_secret_hasher, checks.Tags.security)
    checks.register(check_dpop_settings, checks.Tags.security)
    checks.register(check_caches, checks.Tags.caches, checks.Tags.security)
    checks.register(check_revocation_cache, checks.Tags.caches, checks.Tags.security)
    checks.register(check_caches_for_deployment, checks.Tags.caches, checks.Tags.security, deploy=True)
