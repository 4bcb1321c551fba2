"""The device flow's endpoint and pages (RFC 8628 §3.1 to §3.3): DOT's views, agent-aware.

* ``/o/device-authorization/``: DOT's endpoint; a ``requested_actor``, ``authorization_details``
  and ``dpop_jkt`` are checked as at the authorization endpoint and bound to the request
  (:func:`django_agent_obo.device.create`). Every refusal is an OAuth error with a
  ``device.requested`` failure row.
* ``/o/device/``: DOT's user-code form (sign-in required).
* ``device-confirm/…``: the consent page's own template and blocks, a POST form where a field
  named ``allow`` approves (:func:`django_agent_obo.device.decide`).
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider.models import get_application_model, get_device_grant_model
from oauth2_provider.views.device import (
    DeviceAuthorizationView,
    DeviceConfirmView,
    DeviceGrantStatusView,
    DeviceUserCodeView,
)

from .. import audit, authorization_details, device, dpop, ratelimit
from ..adapter import DelegationRefused, get_adapter
from ..conf import agent_obo_settings
from ..models import AuditEvent, DeviceAuthorization, Event
from ..refusals import Refusal
from . import consent_page, dot_adapter, throttle, unstorable
from .authorize import check_approved, consent_csp, unverified_client
from .forms import DurationForm, parse_duration
from .token import _basic_client_id

SINGLE_VALUED = ("client_id", "scope", "requested_actor", "authorization_details", "dpop_jkt")
STATUS = {"invalid_client": 401, "too_many_requests": 429}


@method_decorator(never_cache, name="dispatch")
@method_decorator(sensitive_post_parameters("client_secret", "client_assertion"), name="post")
class AgentDeviceAuthorizationView(DeviceAuthorizationView):
    """DOT's device authorization endpoint (§3.1) plus ``requested_actor`` (draft -02 §4)."""

    @classmethod
    def get_server(cls) -> Any:
        return cls.get_server_class()(cls.get_validator_class()(), **dot_adapter.device_server_kwargs())

    def create_device_authorization_response(self, request: HttpRequest) -> Any:
        headers, answer, status = super().create_device_authorization_response(request)
        if status == 200:
            interval = answer.get("interval")
            self.interval = 5 if interval is None else int(interval)  # §3.2: 5 s when absent
            answer = dot_adapter.rfc8628_answer(answer)
        return headers, answer, status

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.facts: dict[str, Any] = {"client_id": "", "chain": [], "scope": ""}
        try:
            self._screen(request)
            with transaction.atomic():
                response = super().post(request, *args, **kwargs)
                if response.status_code != 200:
                    body = json.loads(response.content)
                    raise Refusal(
                        "", body.get("error_description", ""), error=body.get("error", "invalid_request")
                    )
                self._bind(request, json.loads(response.content)["device_code"])
        except Refusal as refusal:
            return self._refuse(request, refusal)
        response["Cache-Control"] = "no-store"
        return response

    def _screen(self, request: HttpRequest) -> None:
        """Refused unread: control characters, repeats, oversize values, floods, two client ids."""
        params = request.POST
        self.facts["client_id"] = params.get("client_id", "")[:100].replace("\x00", "")
        self.facts["scope"] = params.get("scope", "")[:1000].replace("\x00", "")
        if unstorable.first_unstorable(request) is not None:
            raise Refusal("parameter_control_character", unstorable.DESCRIPTION, error="invalid_request")
        if throttle.flooded("device-authorization", request)[0]:
            raise Refusal("rate_limited", "Too many requests; retry later.", error="too_many_requests")
        limit = int(agent_obo_settings.TOKEN_PARAMETER_MAX_BYTES)
        for name, values in params.lists():
            if len(values) > 1 and name in SINGLE_VALUED:
                raise Refusal("duplicate_parameter", f"Duplicate {name} parameter.", error="invalid_request")
            if any(len(value) > limit for value in values):
                raise Refusal("parameter_too_large", "A parameter is too large.", error="invalid_request")
        basic_id = _basic_client_id(request)
        if basic_id and params.get("client_id") and basic_id != params["client_id"]:
            raise Refusal(
                "client_id_mismatch",
                "client_id does not match the authenticated client.",
                error="invalid_request",
            )
        actor_id = params.get("requested_actor")
        if actor_id is not None:
            self.facts["chain"] = [actor_id[:255]]

    def _bind(self, request: HttpRequest, device_code: str) -> None:
        """The checks of the authorization endpoint, once DOT has authenticated the client."""
        grant = get_device_grant_model().objects.get(device_code=device_code)
        application = get_application_model().objects.get(client_id=grant.client_id)
        scopes = grant.scope.split()
        self.facts["scope"] = grant.scope
        if not application.allows_grant_type(application.GRANT_DEVICE_CODE):
            raise Refusal(
                "device_grant_not_allowed",
                "This client may not use the device grant.",
                error="unauthorized_client",
            )
        params = request.POST
        jkt = params.get("dpop_jkt", "")
        if jkt and not dpop.is_jkt(jkt):  # RFC 9449 §10, as for a code
            raise Refusal("dpop_jkt_malformed", "dpop_jkt is not a JWK thumbprint.", error="invalid_request")
        try:
            check_approved(application)
            actor_id = params.get("requested_actor")
            agent = (
                get_adapter().resolve_requested_actor(actor_id, application, scopes, None)
                if actor_id is not None
                else None
            )
            details = authorization_details.parse(params.get("authorization_details"), agent=agent) or None
        except DelegationRefused as refusal:
            raise Refusal(refusal.reason, refusal.description, error=refusal.error) from refusal
        device.create(
            device_grant=grant,
            application=application,
            agent=agent,
            authorization_details=details,
            dpop_jkt=jkt,
            interval=self.interval,
            ip=audit.client_ip(request),
        )

    def _refuse(self, request: HttpRequest, refusal: Refusal) -> HttpResponse:
        with transaction.atomic():
            audit.record(
                Event.DEVICE_REQUESTED,
                outcome=AuditEvent.FAILURE,
                reason=refusal.reason or refusal.error,
                client_id=self.facts["client_id"],
                actor_chain=self.facts["chain"],
                scope=self.facts["scope"],
                ip=audit.client_ip(request),
                detail={"error": refusal.error},
            )
        status = STATUS.get(refusal.error, 400)
        response = JsonResponse(
            {"error": refusal.error, "error_description": refusal.description}, status=status
        )
        response["Cache-Control"] = "no-store"
        if status == 401:
            response["WWW-Authenticate"] = 'Basic realm="oauth2"'
        return response


@method_decorator([xframe_options_deny, never_cache], name="dispatch")
class AgentDeviceUserCodeView(DeviceUserCodeView):
    """DOT's user-code page (§3.3) in this app's look. Wrong codes are counted per signed-in
    user and per address (``DEVICE_USER_CODE_RATE_LIMIT``, §5.1: user codes are short); over
    the limit every entry, even a right one, gets ``429`` until the window ends."""

    template_name = "django_agent_obo/device_code.html"

    def _counters(self) -> list[tuple[str, str]]:
        return [
            ("device-code-user", str(self.request.user.pk)),
            ("device-code-ip", audit.client_ip(self.request) or "unknown"),
        ]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        rate = agent_obo_settings.DEVICE_USER_CODE_RATE_LIMIT
        if rate:
            limit = ratelimit.parse_rate(rate)[0]
            if any(ratelimit.peek(scope, key, rate)[0] >= limit for scope, key in self._counters()):
                return self._too_many(rate, limit)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        """DOT's, except that the signed-in user is recorded only while the request is still
        pending, in one conditional update: DOT saves it unconditionally, so a code entered
        while its approver's answer commits handed that approval to whoever entered it."""
        grant = form.cleaned_data["device_grant"]
        model = type(grant)
        pending = model.objects.filter(pk=grant.pk, status=model.AUTHORIZATION_PENDING)
        if not pending.update(user=self.request.user):
            form.add_error("user_code", "User code has already been used")
            return self.form_invalid(form)
        grant.user = self.request.user
        self.device_grant = grant
        return HttpResponseRedirect(self.get_success_url())

    def form_invalid(self, form: Any) -> HttpResponse:
        rate = agent_obo_settings.DEVICE_USER_CODE_RATE_LIMIT
        if rate:
            for scope, key in self._counters():
                ratelimit.hit(scope, key, rate)
        return super().form_invalid(form)

    def _too_many(self, rate: str, limit: int) -> HttpResponse:
        counted = [ratelimit.hit(scope, key, rate) for scope, key in self._counters()]
        if any(count == limit + 1 for count, _ in counted):  # one audit row per window
            with transaction.atomic():
                audit.record(
                    Event.CONSENT_DENIED,
                    outcome=AuditEvent.FAILURE,
                    reason="user_code_rate_limited",
                    user=self.request.user,
                    ip=audit.client_ip(self.request),
                    detail={"endpoint": "device"},
                )
        response = self.render_to_response(
            self.get_context_data(too_many="Too many wrong codes. Wait a minute, then try again.")
        )
        response.status_code = 429
        response["Retry-After"] = str(max(wait for _, wait in counted))
        return response


@method_decorator([xframe_options_deny, never_cache], name="dispatch")
class AgentDeviceConfirmView(DeviceConfirmView):
    """The confirmation page (§3.3): the consent page's template, naming the agent as consent
    does; a POST with ``allow`` approves, without it denies (CSRF-protected, answered once)."""

    template_name = "django_agent_obo/device_confirm.html"
    form_class = DurationForm

    def _authorization(self) -> DeviceAuthorization | None:
        return (
            DeviceAuthorization.objects.select_related("agent", "application")
            .filter(device_grant=self.get_object())
            .first()
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        row = self._authorization()
        agent = row.agent if row is not None else None
        context["agent"] = get_adapter().describe_agent(agent) if agent is not None else None
        context["scope_items"] = list(zip(context["scopes"], context["scopes_descriptions"], strict=False))
        context["show_duration"] = agent is not None
        context["authorization_detail_items"] = authorization_details.describe(
            (row.authorization_details if row is not None else None) or []
        )
        unverified = unverified_client(context["application"], None)
        if unverified is not None:  # no redirect: the answer goes to whoever shows the code
            unverified["redirect_host"] = "the device that showed you this code"
        context["unverified_client"] = unverified
        context["user_code"] = self.kwargs["user_code"]
        return context

    def form_valid(self, form: Any) -> HttpResponse:
        try:
            duration = parse_duration(form.cleaned_data.get("duration") or "")
        except ValueError:
            return self._error_page("The confirmation form was altered. Nothing was granted.")
        try:
            device.decide(
                self.get_object(),
                self.request.user,
                allow=bool(self.request.POST.get("allow")),
                duration_seconds=duration,
                ip=audit.client_ip(self.request),
            )
        except device.NotPending:
            return self._error_page("This request has expired or was already answered.")
        return HttpResponseRedirect(self.get_success_url())

    def form_invalid(self, form: Any) -> HttpResponse:
        return self._error_page("The confirmation form was incomplete. Enter the code again.")

    def _error_page(self, message: str) -> HttpResponse:
        return TemplateResponse(self.request, "django_agent_obo/error.html", {"message": message}, status=400)

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        response = super().render_to_response(
            {**consent_page.page_context(self.request), **context}, **kwargs
        )
        response["Content-Security-Policy"] = consent_csp({})
        return response


@method_decorator([xframe_options_deny, never_cache], name="dispatch")
class AgentDeviceGrantStatusView(DeviceGrantStatusView):
    """DOT's answer page after the decision, in this app's look."""

    template_name = "django_agent_obo/device_done.html"
