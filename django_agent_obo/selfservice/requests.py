"""``/agents/requests/``: the user answers agents' asynchronous requests (OpenID CIBA §7, §8).

Only the signed-in owner sees or answers a request: another user's id is a 404. Each answer
is a CSRF-protected POST (a field named ``allow`` approves, without it: deny) that counts
once; an approval may choose how long the delegation lasts, as the consent page does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.csrf import csrf_protect
from django.views.generic import View

from .. import authorization_details, backchannel
from ..adapter import get_adapter
from ..audit import client_ip
from ..conf import agent_obo_settings
from ..models import BackchannelRequest
from ..oauth.forms import FOREVER, duration_choices, parse_duration
from .views import scope_words, with_policy


@dataclass
class PendingRow:
    request: BackchannelRequest
    shown: dict[str, str] | None
    scopes: list[tuple[str, str]]
    details: list[str]


@method_decorator([never_cache, xframe_options_deny, csrf_protect], name="dispatch")
class BackchannelRequestsView(LoginRequiredMixin, View):
    """GET: the user's pending requests; POST ``<pk>/``: answer one."""

    template_name = "django_agent_obo/selfservice/requests.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        now = timezone.now()
        owner: Any = request.user  # signed in: LoginRequiredMixin
        words = scope_words()
        adapter = get_adapter()
        pending = (
            BackchannelRequest.objects.filter(
                user_id=owner.pk, status=BackchannelRequest.PENDING, expires_at__gt=now
            )
            .select_related("agent", "application")
            .order_by("expires_at", "pk")
        )
        rows = [
            PendingRow(
                request=row,
                shown=adapter.describe_agent(row.agent) if row.agent else None,
                scopes=[(name, words.get(name, name)) for name in row.scope.split()],
                details=authorization_details.describe(row.authorization_details or []),
            )
            for row in pending
        ]
        default = agent_obo_settings.DEFAULT_DELEGATION_DURATION
        context = {
            "rows": rows,
            "durations": duration_choices(),
            "default_duration": str(default) if default else FOREVER,
        }
        return with_policy(TemplateResponse(request, self.template_name, context))


@method_decorator([never_cache, xframe_options_deny, csrf_protect], name="dispatch")
class DecideBackchannelRequestView(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        target = reverse("agent_obo_selfservice:backchannel-requests")
        owner: Any = request.user
        if not BackchannelRequest.objects.filter(pk=pk, user_id=owner.pk).exists():
            raise Http404
        allow = bool(request.POST.get("allow"))
        try:
            duration = parse_duration(request.POST.get("duration", "")) if allow else None
        except ValueError:
            messages.error(request, "That duration is not offered. Nothing was decided.", fail_silently=True)
            return HttpResponseRedirect(target)
        try:
            status = backchannel.decide(
                pk, request.user, allow=allow, duration_seconds=duration, ip=client_ip(request)
            )
        except backchannel.NotPending:
            messages.error(request, "This request was already answered or has expired.", fail_silently=True)
            return HttpResponseRedirect(target)
        text = (
            "You approved the request."
            if status == BackchannelRequest.APPROVED
            else "You denied the request."
        )
        messages.success(request, text, fail_silently=True)
        return HttpResponseRedirect(target)
