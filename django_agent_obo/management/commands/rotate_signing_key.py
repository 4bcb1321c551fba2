"""``rotate_signing_key [--alg RS256|ES256|EdDSA] [--publish-ahead SECONDS | --now | --compromised]``.

A scheduled rotation publishes the new key at once and signs with it ``--publish-ahead``
seconds later (default: the JWKS's ``max-age``, so every resource server and HTTP cache holding
the JWK Set has the new key before the first token it signs); ``--now`` signs with it at once;
``--compromised`` also removes every other key from the JWK Set at once: the tokens they signed
stop verifying, whoever signed them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import keys

MAX_PUBLISH_AHEAD_SECONDS = 7 * 24 * 3600


class Command(BaseCommand):
    help = (
        "Create a new signing key, published at once and signing after --publish-ahead seconds; "
        "the previous one stays in the JWKS until its tokens have expired."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--alg", choices=keys.SIGNING_ALGORITHMS)
        when = parser.add_mutually_exclusive_group()
        when.add_argument(
            "--publish-ahead",
            type=int,
            metavar="SECONDS",
            help=f"how long the new key is published before it signs (default {keys.JWKS_MAX_AGE_SECONDS}: "
            "the JWKS's max-age)",
        )
        when.add_argument("--now", action="store_true", help="sign with the new key at once")
        when.add_argument(
            "--compromised",
            action="store_true",
            help="the current key leaked: remove every other key from the JWKS at once and sign "
            "with the new one (tokens they signed stop verifying)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        ahead = options["publish_ahead"]
        if ahead is not None and not 0 <= ahead <= MAX_PUBLISH_AHEAD_SECONDS:
            raise CommandError(f"--publish-ahead must be from 0 to {MAX_PUBLISH_AHEAD_SECONDS} seconds.")
        if options["now"] or options["compromised"]:
            ahead = 0
        elif ahead is None:
            ahead = keys.JWKS_MAX_AGE_SECONDS
        try:
            compromised = options["compromised"]
            key, removed = keys.rotate(options["alg"], publish_ahead=ahead, compromised=compromised)
        except keys.KeyConfigurationError as exc:
            raise CommandError(str(exc)) from exc
        if keys.signing_key().kid == key.kid:
            self.stdout.write(self.style.SUCCESS(f"Active signing key: {key.kid} ({key.alg})"))
        else:
            starts = datetime.fromtimestamp(key.sign_from, tz=UTC).isoformat(timespec="seconds")
            published = f"New signing key: {key.kid} ({key.alg}), published now; signs from {starts}"
            self.stdout.write(self.style.SUCCESS(published))
        for kid in removed:
            self.stdout.write(f"Removed {kid} ({'compromised' if options['compromised'] else 'expired'})")
