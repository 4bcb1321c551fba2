from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("django_agent_obo", "0002_remove_codebinding_redeemed_at")]

    operations = [
        migrations.AddField(
            model_name="agent",
            name="allow_any_client",
            field=models.BooleanField(
                default=False,
                help_text="Any client the user consents to may run this agent, self-registered ones included (otherwise only the allowed clients).",
            ),
        ),
    ]
