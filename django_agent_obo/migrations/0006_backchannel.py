"""Asynchronous approval (CIBA): backchannel requests and clients' delivery modes (#17)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from oauth2_provider.settings import oauth2_settings


class Migration(migrations.Migration):
    dependencies = [
        ("django_agent_obo", "0005_dpop"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        migrations.swappable_dependency(oauth2_settings.APPLICATION_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="BackchannelClient",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "token_delivery_mode",
                    models.CharField(
                        choices=[("poll", "poll"), ("ping", "ping")], default="poll", max_length=8
                    ),
                ),
                ("client_notification_endpoint", models.URLField(blank=True, max_length=500)),
                (
                    "application",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="backchannel",
                        to=oauth2_settings.APPLICATION_MODEL,
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="BackchannelRequest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("handle", models.CharField(max_length=64, unique=True)),
                ("scope", models.TextField()),
                ("binding_message", models.CharField(blank=True, max_length=200)),
                ("authorization_details", models.JSONField(blank=True, null=True)),
                (
                    "delivery_mode",
                    models.CharField(choices=[("poll", "poll"), ("ping", "ping")], max_length=8),
                ),
                ("client_notification_token", models.CharField(blank=True, max_length=1024)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "pending"),
                            ("approved", "approved"),
                            ("denied", "denied"),
                            ("issued", "issued"),
                        ],
                        default="pending",
                        max_length=16,
                    ),
                ),
                ("duration_seconds", models.PositiveIntegerField(blank=True, null=True)),
                ("interval", models.PositiveIntegerField()),
                ("next_poll_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("expires_at", models.DateTimeField(db_index=True)),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
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
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="backchannel_requests",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["user", "status", "expires_at"], name="django_agen_user_id_e8a36e_idx"
                    )
                ],
            },
        ),
    ]
