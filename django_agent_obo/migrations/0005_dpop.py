"""DPoP (RFC 9449): the key a code or token is bound to, and who must use DPoP."""

import django.db.models.deletion
from django.db import migrations, models
from oauth2_provider.settings import oauth2_settings


class Migration(migrations.Migration):
    dependencies = [
        ("django_agent_obo", "0004_client_key_set"),
        migrations.swappable_dependency(oauth2_settings.APPLICATION_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="agent",
            name="require_dpop",
            field=models.BooleanField(
                default=False, help_text="Tokens for this agent must be bound to a key with DPoP (RFC 9449)."
            ),
        ),
        migrations.AddField(
            model_name="codebinding",
            name="dpop_jkt",
            field=models.CharField(
                blank=True, help_text="RFC 9449 §10: the key the code must be redeemed with.", max_length=64
            ),
        ),
        migrations.AddField(
            model_name="issuedtoken",
            name="dpop_jkt",
            field=models.CharField(
                blank=True, help_text="RFC 9449 cnf.jkt: the key the token is bound to.", max_length=64
            ),
        ),
        migrations.CreateModel(
            name="ClientDPoPPolicy",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "require_dpop",
                    models.BooleanField(
                        default=True,
                        help_text="Every token request of this client must carry a DPoP proof (RFC 9449).",
                    ),
                ),
                (
                    "application",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="agent_obo_dpop_policy",
                        to=oauth2_settings.APPLICATION_MODEL,
                    ),
                ),
            ],
            options={"verbose_name": "client DPoP policy", "verbose_name_plural": "client DPoP policies"},
        ),
    ]
