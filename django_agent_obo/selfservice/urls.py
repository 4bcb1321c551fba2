"""Self-service routes. Mount them where users expect them, e.g.
``path("agents/", include("django_agent_obo.selfservice.urls"))``."""

from django.urls import path

from . import requests, views

app_name = "agent_obo_selfservice"

selfservice_urlpatterns = [
    path("", views.AgentsView.as_view(), name="agents"),
    path("grants/<int:pk>/revoke/", views.RevokeGrantView.as_view(), name="revoke"),
    path("requests/", requests.BackchannelRequestsView.as_view(), name="backchannel-requests"),
    path(
        "requests/<int:pk>/",
        requests.DecideBackchannelRequestView.as_view(),
        name="backchannel-decide",
    ),
]

urlpatterns = selfservice_urlpatterns
