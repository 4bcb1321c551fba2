"""``create_agent ACTOR_ID --name NAME ...``: register an agent (SPEC §6). All or nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.dateparse import parse_datetime
from oauth2_provider.models import get_application_model
from oauth2_provider.scopes import get_scopes_backend

from ...agent_keys import KeySetError, validate_jwks
from ...models import Agent


class Command(BaseCommand):
    help = "Register an AI agent, the clients that may run it, its scopes and its keys or credentials."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("actor_id")
        parser.add_argument("--name", required=True)
        parser.add_argument("--publisher", default="")
        parser.add_argument("--description", default="")
        parser.add_argument("--logo-uri", default="")
        parser.add_argument("--client", action="extend", nargs="+", default=[], metavar="CLIENT_ID")
        parser.add_argument(
            "--any-client",
            action="store_true",
            help="Any client the user consents to may run it, self-registered ones included",
        )
        parser.add_argument(
            "--scopes", default="", help='Space-separated, e.g. "calendar.read calendar.write"'
        )
        parser.add_argument("--jwks", type=Path, help="A JWK Set file with the agent's public keys")
        parser.add_argument("--jwks-uri", default="")
        parser.add_argument("--valid-until", default="", help="ISO 8601 date-time")
        parser.add_argument(
            "--accepts-delegation-from",
            action="append",
            default=[],
            metavar="ACTOR_ID",
            help="An agent whose tokens this one may receive by token exchange (repeatable)",
        )
        parser.add_argument("--credentials", action="store_true", help="Create its own confidential client")
        parser.add_argument("--json", action="store_true", help="Print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        Application = get_application_model()
        actor_id = options["actor_id"]
        if Agent.objects.filter(actor_id=actor_id).exists():
            raise CommandError(f"An agent with actor id {actor_id!r} already exists.")
        scopes = options["scopes"].split()
        known = set(get_scopes_backend().get_all_scopes())
        unknown = sorted(set(scopes) - known)
        if unknown:
            raise CommandError(f"Unknown scope(s): {' '.join(unknown)}. Known: {' '.join(sorted(known))}.")
        clients = []
        for client_id in options["client"]:
            app = Application.objects.filter(client_id=client_id).first()
            if app is None:
                raise CommandError(f"No client application with client_id {client_id!r}.")
            clients.append(app)
        upstream = []
        for other in options["accepts_delegation_from"]:
            found = Agent.objects.filter(actor_id=other).first()
            if found is None:
                raise CommandError(f"No agent with actor id {other!r} (--accepts-delegation-from).")
            upstream.append(found)
        jwks = None
        if options["jwks"] is not None:
            try:
                jwks = validate_jwks(json.loads(options["jwks"].read_text()))
            except OSError as exc:
                raise CommandError(f"Cannot read {options['jwks']}: {exc.strerror}.") from exc
            except (ValueError, KeySetError, RecursionError) as exc:  # RecursionError: absurdly nested
                raise CommandError(f"{options['jwks']} is not a usable JWK Set: {exc}") from exc
        valid_until = None
        if options["valid_until"]:
            try:
                valid_until = parse_datetime(options["valid_until"])
            except ValueError:  # well formed, but no such date or time (month 13)
                valid_until = None
            if valid_until is None or valid_until.tzinfo is None:
                raise CommandError("--valid-until must be an ISO 8601 date-time with a time zone.")
        agent = Agent(
            actor_id=actor_id,
            name=options["name"],
            publisher=options["publisher"],
            description=options["description"],
            logo_uri=options["logo_uri"],
            allowed_scopes=" ".join(scopes),
            jwks=jwks,
            jwks_uri=options["jwks_uri"],
            valid_until=valid_until,
            allow_any_client=options["any_client"],
        )
        try:
            agent.full_clean()
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        secret = None
        with transaction.atomic():
            agent.save()
            if options["credentials"]:
                secret = agent.issue_credentials()
            agent.allowed_clients.set(clients)
            agent.accepts_delegation_from.set(upstream)
        result: dict[str, Any] = {"actor_id": agent.actor_id, "name": agent.name, "scopes": scopes}
        if agent.credentials is not None:
            result.update(client_id=agent.credentials.client_id, client_secret=secret)
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(self.style.SUCCESS(f"Registered agent {agent.actor_id}"))
        if secret:
            self.stdout.write(f"client_id: {result['client_id']}\nclient_secret: {secret}  (shown once)")
