from django.apps import AppConfig


class AgentOBOConfig(AppConfig):
    """Registers the system checks and keeps our token records in step with DOT's rows."""

    name = "django_agent_obo"
    verbose_name = "Agent delegation (on-behalf-of)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import pre_delete
        from oauth2_provider.models import get_access_token_model

        from . import checks, delegation

        checks.register()
        _validate_client_secrets()

        def on_access_token_delete(sender: object, instance: object, **kwargs: object) -> None:
            delegation.mark_dot_token_deleted(getattr(instance, "pk", None))

        pre_delete.connect(
            on_access_token_delete,
            sender=get_access_token_model(),
            dispatch_uid="agent_obo_access_token_deleted",
            weak=False,
        )


def _validate_client_secrets() -> None:
    """A weak secret typed into a client form is refused there (``client_secrets.py``)."""
    from oauth2_provider.models import get_application_model

    from .client_secrets import validate_client_secret

    field = get_application_model()._meta.get_field("client_secret")
    if validate_client_secret not in field.validators:
        field.validators.append(validate_client_secret)
