"""The authorization endpoint: ``requested_actor`` (draft -02 §4) and consent bound server-side."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.models import get_application_model
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import AuthorizationView
from oauthlib.oauth2.rfc6749.errors import CustomOAuth2Error

from .. import audit, authorization_details, dpop
from ..adapter import DelegationRefused, get_adapter
from ..conf import agent_obo_settings
from ..models import Agent, AuditEvent, Event, PendingConsent
from ..registration import awaiting_approval, is_self_registered
from ..tokens import issuer
from . import consent_page, unstorable
from .forms import BOUND_FIELDS, ConsentForm, parse_duration

MAX_PENDING = 20  # consent pages one user may have open at once
# Parameters that must not repeat at the authorization endpoint (oauthlib checks its own).
SINGLE_VALUED_AUTHZ = (
    "requested_actor",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "prompt",
    "authorization_details",
)


def _consent_ttl() -> timedelta:
    return timedelta(seconds=agent_obo_settings.CONSENT_TTL_SECONDS)


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
    authorization_details: list[dict[str, Any]] | None = None  # RFC 9396, as checked on GET

    # --- GET: validate, check the actor, show consent -------------------------------------

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refused = self._refuse_unstorable(request)
        if refused is not None:
            return refused
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
            check_approved(application)
            if actor_id is not None:
                self.agent = get_adapter().resolve_requested_actor(
                    actor_id, application, scopes, request.user
                )
            self.authorization_details = authorization_details.parse(
                request.GET.get("authorization_details"), agent=self.agent
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
        if len(request.GET.getlist("dpop_jkt")) > 1:
            raise DelegationRefused("invalid_request", "duplicate_parameter", "Duplicate dpop_jkt parameter.")
        if "dpop_jkt" in request.GET and not dpop.is_jkt(request.GET["dpop_jkt"]):
            # RFC 9449 §10: the base64url SHA-256 JWK thumbprint of the client's DPoP key.
            raise DelegationRefused(
                "invalid_request", "dpop_jkt_malformed", "dpop_jkt is not a JWK thumbprint."
            )
        pkce_s256_only = with_actor or oauth2_settings.COMPLIANT_BCP_RFC9700_PKCE_METHOD
        if pkce_s256_only and credentials.get("code_challenge_method") != "S256":
            raise DelegationRefused("invalid_request", "pkce_s256_required", "PKCE with S256 is required.")
        if with_actor and credentials.get("response_type") != "code":
            raise DelegationRefused(
                "invalid_request", "actor_needs_code_flow", "requested_actor needs response_type=code."
            )

    def create_authorization_response(self, request: Any, scopes: Any, credentials: Any, allow: Any) -> Any:
        if request.method == "GET" and (self.agent is not None or self.authorization_details):
            raise _ConsentRequired  # details are approved only by a user who saw them
        credentials["agent_obo_actor_id"] = getattr(self, "consent_actor_id", None)
        credentials["agent_obo_duration"] = getattr(self, "consent_duration", None)
        credentials["agent_obo_dpop_jkt"] = (
            getattr(self, "consent_dpop_jkt", "")
            if request.method == "POST"
            else request.GET.get("dpop_jkt", "")
        )
        credentials["agent_obo_authorization_details"] = getattr(self, "consent_details", [])
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
        context["authorization_detail_items"] = authorization_details.describe(
            self.authorization_details or []
        )
        context["unverified_client"] = unverified_client(context["application"], context.get("redirect_uri"))
        return context

    # --- pending consent, one row per page shown ------------------------------------------

    def _store_pending(self, initial: dict[str, Any]) -> str:
        """Keep what this page shows under a new ``consent_id``, for this user (a row of its
        own: concurrent pages in one session cannot overwrite each other)."""
        now = timezone.now()
        user = self.request.user
        PendingConsent.objects.filter(created_at__lt=now - _consent_ttl()).delete()
        kept = PendingConsent.objects.filter(user=user).order_by("-created_at").values_list("pk", flat=True)
        stale = list(kept[MAX_PENDING - 1 :])
        if stale:
            PendingConsent.objects.filter(pk__in=stale).delete()
        consent_id = secrets.token_urlsafe(18)
        fields = {name: "" if initial.get(name) is None else str(initial[name]) for name in BOUND_FIELDS}
        PendingConsent.objects.create(
            consent_id=consent_id,
            user=user,
            actor_id=self.agent.actor_id if self.agent else "",
            # beside the displayed fields: what the page bound without showing (RFC 9449 §10)
            fields={
                **fields,
                "dpop_jkt": self.request.GET.get("dpop_jkt", ""),
                "authorization_details": self.authorization_details or [],
            },
            created_at=now,
        )
        return consent_id

    def _pop_pending(self, consent_id: str) -> dict[str, Any] | None:
        """The page's stored request, once: deleting the row is the claim (two posts, one wins)."""
        entry = PendingConsent.objects.filter(pk=consent_id, user=self.request.user).first()
        if entry is None or not PendingConsent.objects.filter(pk=entry.pk).delete()[0]:
            return None
        if entry.created_at < timezone.now() - _consent_ttl():
            return None
        fields = dict(entry.fields)
        return {
            "actor_id": entry.actor_id or None,
            "dpop_jkt": fields.pop("dpop_jkt", ""),
            "authorization_details": fields.pop("authorization_details", []),
            "fields": fields,
        }

    # --- POST: the decision ---------------------------------------------------------------

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refused = self._refuse_unstorable(request)
        if refused is not None:
            return refused
        return super().post(request, *args, **kwargs)

    def _refuse_unstorable(self, request: HttpRequest) -> HttpResponse | None:
        """A control character in any parameter (the redirect URI included, so no redirect)."""
        if unstorable.first_unstorable(request) is None:
            return None
        client_id = str(request.GET.get("client_id") or request.POST.get("client_id") or "")[:100]
        self._audit_denied("parameter_control_character", client_id, [], [])
        return self._error_page("The request contains a control character. Nothing was granted.")

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
        try:
            check_approved(application)
        except DelegationRefused as refusal:
            self._audit_denied(refusal.reason, application.client_id, chain, scopes)
            return self._error_redirect(refusal.error, refusal.description, fields, application)
        if entry["actor_id"]:
            try:
                self.agent = get_adapter().resolve_requested_actor(
                    entry["actor_id"], application, scopes, self.request.user
                )
            except DelegationRefused as refusal:
                self._audit_denied(refusal.reason, application.client_id, chain, scopes)
                return self._error_redirect(refusal.error, refusal.description, fields, application)
        try:  # what the page showed, checked again (the agent's allowed types may have changed)
            details = authorization_details.check(entry.get("authorization_details") or [], agent=self.agent)
        except DelegationRefused as refusal:
            self._audit_denied(refusal.reason, application.client_id, chain, scopes)
            return self._error_redirect(refusal.error, refusal.description, fields, application)
        if not data.get("allow"):
            self._audit_denied("user_denied", application.client_id, chain, scopes)
            return super().form_valid(form)
        self.consent_actor_id = entry["actor_id"]
        self.consent_duration = duration
        self.consent_dpop_jkt = entry.get("dpop_jkt", "")
        self.consent_details = details
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
            Event.CONSENT_DENIED,
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
        context = {**consent_page.page_context(self.request), **context}
        if context.get("error") is not None:
            context["explained"] = consent_page.explain_error(context["error"])
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


def check_approved(application: Any) -> None:
    """Where the site approves self-registered clients, one still pending starts no flow."""
    if awaiting_approval(application):
        raise DelegationRefused(
            "unauthorized_client",
            "client_pending_approval",
            "This application awaits approval by the site's administrators.",
        )


def unverified_client(application: Any, redirect_uri: str | None) -> dict[str, str] | None:
    """How a self-registered client (RFC 7591, or a client ID metadata document) is shown on
    consent: unverified, with the host its answer goes to; None for a client an admin made."""
    if not is_self_registered(application):
        return None
    source = str(application.registration_source)
    return {"redirect_host": urlsplit(redirect_uri or "").netloc or "?", "source": source}
