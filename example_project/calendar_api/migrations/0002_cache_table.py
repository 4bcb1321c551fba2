"""The example project's shared cache (settings.CACHES: Django's database cache) needs its table;
creating it here means `migrate` is all a fresh checkout, `make demo` or a gunicorn test runs."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("calendar_api", "0001_calendar_events")]
    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
