"""``rotate_signing_key [--alg RS256|ES256|EdDSA]``: new active key; old ones stay published."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import keys


class Command(BaseCommand):
    help = "Create a new signing key; the previous one stays in the JWKS until its tokens have expired."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--alg", choices=keys.SIGNING_ALGORITHMS)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key, removed = keys.rotate(options["alg"])
        except keys.KeyConfigurationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Active signing key: {key.kid} ({key.alg})"))
        for kid in removed:
            self.stdout.write(f"Removed expired key {kid}")
