from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path

from example_project.calendar_api import mcp as calendar_mcp

urlpatterns = [
    path("", include("django_agent_obo.urls")),
    path("agents/", include("django_agent_obo.selfservice.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("example_project.calendar_api.urls")),
    # MCP over streamable HTTP (resource <issuer>/mcp/); /mcp too, as clients configured
    # without the slash POST there and a POST cannot be redirected.
    re_path(r"^mcp/?$", calendar_mcp.view(), name="mcp"),
]
