"""Authorization (``requested_actor`` + consent), token, metadata and JWKS endpoints."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.generic import View
from oauth2_provider.compat import login_not_required
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.models import get_application_model
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import AuthorizationView, OAuthServerMetadataView, TokenView
from oauthlib.oauth2.rfc6749.errors import CustomOAuth2Error, OAuth2Error

from .. import audit, delegation, keys, ratelimit
from ..actors import ACTOR_TOKEN_TYPES
from ..adapter import DelegationRefused, get_adapter
from ..conf import agent_obo_settings
from ..models import Agent, AuditEvent
from ..retry import atomic_with_retry
from ..tokens import issuer
from . import state
from .exchange import TOKEN_EXCHANGE
from .forms import BOUND_FIELDS, ConsentForm, parse_duration

PENDING_KEY = "agent_obo_pending_consent"
MAX_PENDING = 20
# Parameters that must not repeat at the authorization endpoint (oauthlib checks its own).
SINGLE_VALUED_AUTHZ = ("requested_actor", "code_challenge", "code_challenge_method", "nonce", "prompt")
# ... and at the token endpoint, where DOT hands oauthlib only the last of repeated values.
SINGLE_VALUED_TOKEN = (
    "grant_type",
    "code",
    "code_verifier",
    "redirect_uri",
    "scope",
    "client_id",
    "actor_token",
    "actor_token_type",
    "refresh_token",
    "subject_token",
    "subject_token_type",
    "requested_token_type",
    "audience",
)


class _ConsentRequired(Exception):
    """Raised to stop DOT from auto-approving an agent's delegation (skip/auto prompt)."""


def add_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query.extend(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


@method_decorator([xframe_options_deny, never_cache], name="dispatch")
class AgentAuthorizationView(AuthorizationView):
    """DOT's authorization endpoint plus ``requested_actor`` (draft -02 §4) and bound consent.

    The consent page is rendered from the registry, never from request text; what it shows
    is stored server-side under a one-time ``consent_id``, and the POST must match it, so
    tampered hidden fields cannot switch the actor or client or widen the scopes.
    """

    template_name = "django_agent_obo/consent.html"
    form_class = ConsentForm
    agent: Agent | None = None

    # --- GET: validate, check the actor, show consent -------------------------------------

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        actor_id = request.GET.get("requested_actor")
        chain = [actor_id] if actor_id and len(actor_id) <= 255 else []
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            client_id = request.GET.get("client_id", "")[:100]
            self._audit_denied(error.oauthlib_error.error, client_id, chain, [])
            return self.error_response(error, application=None)
        application = get_application_model().objects.get(client_id=credentials["client_id"])
        try:
            self._check_request(request, credentials, actor_id is not None)
            if actor_id is not None:
                self.agent = get_adapter().resolve_requested_actor(
                    actor_id, application, scopes, request.user
                )
        except DelegationRefused as refusal:
            self._audit_denied(refusal.reason, application.client_id, chain, scopes)
            return self._error_redirect(refusal.error, refusal.description, credentials, application)
        try:
            return super().get(request, *args, **kwargs)
        except _ConsentRequired:
            return self.render_to_response(self.get_context_data(**self.oauth2_data))

    def _check_request(self, request: HttpRequest, credentials: dict[str, Any], with_actor: bool) -> None:
        for name in SINGLE_VALUED_AUTHZ:
            if len(request.GET.getlist(name)) > 1:
                raise DelegationRefused(
                    "invalid_request", "duplicate_parameter", f"Duplicate {name} parameter."
                )
        pkce_s256_only = with_actor or oauth2_settings.COMPLIANT_BCP_RFC9700_PKCE_METHOD
        if pkce_s256_only and credentials.get("code_challenge_method") != "S256":
            raise DelegationRefused("invalid_request", "pkce_s256_required", "PKCE with S256 is required.")
        if with_actor and credentials.get("response_type") != "code":
            raise DelegationRefused(
                "invalid_request", "actor_needs_code_flow", "requested_actor needs response_type=code."
            )

    def create_authorization_response(self, request: Any, scopes: Any, credentials: Any, allow: Any) -> Any:
        if request.method == "GET" and self.agent is not None:
            raise _ConsentRequired
        credentials["agent_obo_actor_id"] = getattr(self, "consent_actor_id", None)
        credentials["agent_obo_duration"] = getattr(self, "consent_duration", None)
        return super().create_authorization_response(request, scopes, credentials, allow)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        form = context.get("form")
        if form is None or "application" not in context:
            return context
        consent_id = self._store_pending(form.initial)
        form.initial["consent_id"] = consent_id
        context["agent"] = get_adapter().describe_agent(self.agent) if self.agent else None
        context["scope_items"] = list(
            zip(context.get("scopes", []), context.get("scopes_descriptions", []), strict=False)
        )
        context["show_duration"] = self.agent is not None
        return context

    # --- pending consent, kept in the user's session -------------------------------------

    def _store_pending(self, initial: dict[str, Any]) -> str:
        session = self.request.session
        now = time.time()
        pending = {
            k: v
            for k, v in session.get(PENDING_KEY, {}).items()
            if v["at"] > now - agent_obo_settings.CONSENT_TTL_SECONDS
        }
        while len(pending) >= MAX_PENDING:
            pending.pop(min(pending, key=lambda k: pending[k]["at"]))
        consent_id = secrets.token_urlsafe(18)
        pending[consent_id] = {
            "at": now,
            "actor_id": self.agent.actor_id if self.agent else None,
            "fields": {
                name: "" if initial.get(name) is None else str(initial[name]) for name in BOUND_FIELDS
            },
        }
        session[PENDING_KEY] = pending
        return consent_id

    def _pop_pending(self, consent_id: str) -> dict[str, Any] | None:
        pending = dict(self.request.session.get(PENDING_KEY, {}))
        entry = pending.pop(consent_id, None)
        self.request.session[PENDING_KEY] = pending
        if entry is None or entry["at"] < time.time() - agent_obo_settings.CONSENT_TTL_SECONDS:
            return None
        return dict(entry)

    # --- POST: the decision ---------------------------------------------------------------

    def form_invalid(self, form: Any) -> HttpResponse:
        self._audit_denied("consent_form_invalid", str(form.data.get("client_id", ""))[:100], [], [])
        return self._error_page("The consent form was incomplete. Start again from the application.")

    def form_valid(self, form: Any) -> HttpResponse:
        data = form.cleaned_data
        entry = self._pop_pending(data["consent_id"])
        if entry is None:
            self._audit_denied("consent_expired", "", [], [])
            return self._error_page("This consent request has expired or was already answered.")
        application = get_application_model().objects.filter(client_id=entry["fields"]["client_id"]).first()
        chain = [entry["actor_id"]] if entry["actor_id"] else []
        tampered = [name for name in BOUND_FIELDS if (data.get(name) or "") != entry["fields"][name]]
        try:
            duration = parse_duration(data.get("duration") or "") if chain else None
        except ValueError:
            tampered.append("duration")
        if tampered or application is None:
            self._audit_denied(
                "consent_tampered", entry["fields"]["client_id"], chain, [], {"fields": tampered}
            )
            return self._error_page("The consent request was altered. Nothing was granted.")
        fields = entry["fields"]
        scopes = fields["scope"].split()
        if entry["actor_id"]:
            try:
                self.agent = get_adapter().resolve_requested_actor(
                    entry["actor_id"], application, scopes, self.request.user
                )
            except DelegationRefused as refusal:
                self._audit_denied(refusal.reason, application.client_id, chain, scopes)
                return self._error_redirect(refusal.error, refusal.description, fields, application)
        if not data.get("allow"):
            self._audit_denied("user_denied", application.client_id, chain, scopes)
            return super().form_valid(form)
        self.consent_actor_id = entry["actor_id"]
        self.consent_duration = duration
        with transaction.atomic():
            return super().form_valid(form)

    def _audit_denied(
        self,
        reason: str,
        client_id: str,
        chain: list[str],
        scopes: list[str],
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Every refusal at the authorization endpoint leaves a ``consent.denied`` failure row."""
        audit.record(
            "consent.denied",
            outcome=AuditEvent.FAILURE,
            reason=reason,
            user=self.request.user,
            client_id=client_id,
            actor_chain=chain,
            scope=scopes,
            ip=audit.client_ip(self.request),
            detail=detail,
        )

    # --- errors -----------------------------------------------------------------------------

    def _error_redirect(
        self, error: str, description: str, credentials: dict[str, Any], application: Any
    ) -> HttpResponse:
        oauth_error = CustomOAuth2Error(
            error=error, description=description, state=credentials.get("state") or None
        )
        return self.error_response(
            OAuthToolkitError(error=oauth_error, redirect_uri=credentials["redirect_uri"]), application
        )

    def redirect(self, redirect_to: str, application: Any) -> HttpResponse:
        """Every authorization response carries ``iss`` (RFC 9207 §2), errors included."""
        if (
            oauth2_settings.COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS
            and "iss=" not in urlsplit(redirect_to).query
        ):
            redirect_to = add_query(redirect_to, iss=issuer())
        return super().redirect(redirect_to, application)

    def _error_page(self, message: str) -> HttpResponse:
        return TemplateResponse(self.request, "django_agent_obo/error.html", {"message": message}, status=400)

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        response = super().render_to_response(context, **kwargs)
        response["Content-Security-Policy"] = consent_csp(context)
        return response


def consent_csp(context: dict[str, Any]) -> str:
    """No script, no frames, no remote styles; forms may post here and land on the client."""
    targets = ["'self'"]
    redirect_uri = context.get("redirect_uri") or ""
    parts = urlsplit(redirect_uri)
    if parts.scheme in ("http", "https") and parts.netloc:
        targets.append(f"{parts.scheme}://{parts.netloc}")
    return (
        "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; "
        f"form-action {' '.join(targets)}; frame-ancestors 'none'; base-uri 'none'"
    )


def _basic_client_id(request: HttpRequest) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header.lower().startswith("basic "):
        return ""
    try:
        decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""
    from urllib.parse import unquote_plus

    return unquote_plus(decoded.partition(":")[0])[:100]


def _error_json(status: int, error: str, description: str) -> HttpResponse:
    response = JsonResponse({"error": error, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    return response


class AgentTokenView(TokenView):
    """DOT's token endpoint run in one transaction: the code claim, the token and its audit
    row commit together, or nothing does (NOTES-DOT §4). Refusals are audited after rollback."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        client_id = (request.POST.get("client_id") or _basic_client_id(request))[:100]
        current = state.TokenRequestState(ip=audit.client_ip(request), client_id=client_id)
        early = self._refuse_early(request, current)
        if early is not None:
            return early

        def attempt() -> tuple[HttpResponse, state.TokenRequestState]:
            fresh = state.TokenRequestState(ip=current.ip, client_id=client_id)
            token = state.current.set(fresh)
            try:
                try:
                    response = super(AgentTokenView, self).post(request, *args, **kwargs)
                except OAuth2Error as error:  # raised while storing the token: oauthlib lets it through
                    response = _error_json(error.status_code, error.error, error.description or error.error)
                if response.status_code != 200:
                    transaction.set_rollback(True)
                return response, fresh
            finally:
                state.current.reset(token)

        response, outcome = atomic_with_retry(attempt)
        if response.status_code >= 400:
            self._audit_refusal(request, response, outcome)
        return response

    def _refuse_early(self, request: HttpRequest, current: state.TokenRequestState) -> HttpResponse | None:
        """Refusals decided from the raw request, before oauthlib sees it."""
        rate = agent_obo_settings.TOKEN_RATE_LIMIT
        if rate:
            count, retry_after = ratelimit.hit("token", current.client_id or f"ip:{current.ip}", rate)
            limit = ratelimit.parse_rate(rate)[0]
            if count > limit:
                response = _error_json(429, "too_many_requests", "Too many token requests; retry later.")
                response["Retry-After"] = str(retry_after)
                if count == limit + 1:  # one audit row per client and window, not one per request
                    current.reason = "rate_limited"
                    self._audit_refusal(request, response, current)
                return response
        basic_id, body_id = _basic_client_id(request), request.POST.get("client_id")
        if basic_id and body_id and basic_id != body_id:
            # oauthlib would call this a server_error; it is the client's mistake (RFC 6749 §2.3).
            current.reason = "client_id_mismatch"
            response = _error_json(
                400, "invalid_request", "client_id does not match the authenticated client."
            )
            self._audit_refusal(request, response, current)
            return response
        for name, values in request.POST.lists():
            if len(values) > 1 and name in SINGLE_VALUED_TOKEN:
                # RFC 6749 §3.2: parameters MUST NOT be included more than once.
                current.reason = "duplicate_parameter"
                response = _error_json(400, "invalid_request", f"Duplicate {name} parameter.")
            elif any(len(v) > agent_obo_settings.TOKEN_PARAMETER_MAX_BYTES for v in values):
                current.reason = "parameter_too_large"
                response = _error_json(400, "invalid_request", "A parameter is too large.")
            else:
                continue
            self._audit_refusal(request, response, current)
            return response
        return None

    def _audit_refusal(
        self, request: HttpRequest, response: HttpResponse, current: state.TokenRequestState
    ) -> None:
        try:
            error = str(json.loads(response.content).get("error", "error"))
        except ValueError:
            error = "error"
        with transaction.atomic():
            audit.record(
                "token.refused",
                outcome=AuditEvent.FAILURE,
                reason=current.reason or error,
                user=current.user,
                client_id=current.client_id,
                actor_chain=current.actor_chain,
                scope=request.POST.get("scope", "")[:1000],
                ip=current.ip,
                detail={"error": error, "grant_type": request.POST.get("grant_type", "")[:100]},
            )
        if current.reused_binding is not None:
            delegation.revoke_code_descendants(current.reused_binding, current.ip)
        if current.reused_refresh_family is not None:
            delegation.revoke_refresh_family(current.reused_refresh_family, user=current.user, ip=current.ip)


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
        data["authorization_response_iss_parameter_supported"] = bool(
            oauth2_settings.COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS
        )
        data["access_token_signing_alg_values_supported"] = [keys.signing_key().alg]
        out = JsonResponse(data)
        out["Access-Control-Allow-Origin"] = "*"
        return out


@method_decorator(login_not_required, name="dispatch")
class JwksView(View):
    """The public signing keys (RFC 7517 §5), current and recently rotated-out."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = JsonResponse(keys.jwks_document())
        response["Cache-Control"] = "public, max-age=300"
        response["Access-Control-Allow-Origin"] = "*"
        return response
