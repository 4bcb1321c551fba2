from django.apps import AppConfig


class CalendarApiConfig(AppConfig):
    """The example protected API: whoami and a per-user calendar (SPEC §5)."""

    name = "example_project.calendar_api"
    label = "calendar_api"
    default_auto_field = "django.db.models.BigAutoField"
