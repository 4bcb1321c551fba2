"""The device authorization grant with an actor (RFC 8628, #16): a row beside DOT's DeviceGrant."""

import django.db.models.deletion
from django.db import migrations, models
from oauth2_provider.settings import oauth2_settings


class Migration(migrations.Migration):
    dependencies = [
        ("django_agent_obo", "0009_self_registered_clients"),
        ("oauth2_provider", "0013_alter_application_authorization_grant_type_device"),
        migrations.swappable_dependency(oauth2_settings.APPLICATION_MODEL),
        migrations.swappable_dependency(oauth2_settings.DEVICE_GRANT_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="DeviceAuthorization",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("authorization_details", models.JSONField(blank=True, null=True)),
                ("dpop_jkt", models.CharField(blank=True, max_length=43)),
                ("interval", models.PositiveIntegerField()),
                ("next_poll_at", models.DateTimeField(blank=True, null=True)),
                ("expires_at", models.DateTimeField(db_index=True)),
                ("redeemed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "agent",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="django_agent_obo.agent",
                    ),
                ),
                (
                    "agent_grant",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="django_agent_obo.agentgrant",
                    ),
                ),
                (
                    "application",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=oauth2_settings.APPLICATION_MODEL,
                    ),
                ),
                (
                    "device_grant",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="agent_obo",
                        to=oauth2_settings.DEVICE_GRANT_MODEL,
                    ),
                ),
            ],
            options={"verbose_name": "device authorization"},
        ),
    ]
