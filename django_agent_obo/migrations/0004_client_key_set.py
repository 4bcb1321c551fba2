"""ClientKeySet: the JWK Set a plain client registers for private_key_jwt (RFC 7523 §2.2)."""

import django.db.models.deletion
from django.db import migrations, models
from oauth2_provider.settings import oauth2_settings


class Migration(migrations.Migration):
    dependencies = [
        ("django_agent_obo", "0003_pending_consent"),
        migrations.swappable_dependency(oauth2_settings.APPLICATION_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ClientKeySet",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "jwks",
                    models.JSONField(
                        help_text='Public keys (RFC 7517 JWK Set): {"keys": [...]}, each with a kid.'
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "application",
                    models.OneToOneField(
                        help_text="The client that signs its assertions with these keys.",
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="agent_obo_key_set",
                        to=oauth2_settings.APPLICATION_MODEL,
                    ),
                ),
            ],
            options={"verbose_name": "client key set"},
        ),
    ]
