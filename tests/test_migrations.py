"""Migrations are complete, named for what they do, and reversible."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

MIGRATIONS = Path(__file__).resolve().parent.parent / "django_agent_obo" / "migrations"


def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


def test_migrations_are_named_not_auto():
    names = [p.stem for p in MIGRATIONS.glob("0*.py")]
    assert names and not [n for n in names if "_auto_" in n]


@pytest.mark.django_db(transaction=True)
def test_migrations_reverse_to_zero_and_forward_again():
    call_command("migrate", "django_agent_obo", "zero", verbosity=0)
    call_command("migrate", verbosity=0)
