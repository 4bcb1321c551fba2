"""Self-service routes. Mount them where users expect them, e.g.
``path("agents/", include("django_agent_obo.selfservice.urls"))``."""

from django.urls import path

from . import views

app_name = "agent_obo_selfservice"

selfservice_urlpatterns = [
    path("", views.AgentsView.as_view(), name="agents"),
    path("grants/<int:pk>/revoke/", views.RevokeGrantView.as_view(), name="revoke"),
]

urlpatterns = selfservice_urlpatterns
