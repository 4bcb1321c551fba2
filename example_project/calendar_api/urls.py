from django.urls import path

from . import views

app_name = "calendar_api"

urlpatterns = [
    path("whoami/", views.whoami, name="whoami"),
    path("calendar/events/", views.events, name="events"),
]
