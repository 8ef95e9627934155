from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from safehub.accounts.models import ApiClient
from safehub.accounts.services import apiclient_create
from safehub.core import clock
from safehub.core.errors import DomainError


class Command(BaseCommand):
    help = "Manage a police force's integration clients (the systems that send notifications)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a client and print its token once.")
        create.add_argument("--force", required=True, help="The police force's code, e.g. MSP.")
        create.add_argument("--name", required=True, help="What the client is, e.g. 'Niche RMS'.")
        sub.add_parser("list", help="List clients (never their tokens).")
        revoke = sub.add_parser("revoke", help="Revoke a client's token at once.")
        revoke.add_argument("prefix", help="The token's prefix, as `list` shows it.")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            try:
                client, token = apiclient_create(force_code=options["force"], name=options["name"])
            except DomainError as exc:
                raise CommandError(exc.message) from exc
            self.stdout.write(f"Created client {client.name} for {client.force.code}.")
            self.stdout.write("Its token, shown once only (keep it in the sender's secret store):")
            self.stdout.write(token)
        elif action == "list":
            for c in ApiClient.objects.select_related("force"):
                state = f"revoked {c.revoked_at:%Y-%m-%d %H:%M}" if c.revoked_at else "active"
                self.stdout.write(f"{c.token_prefix}…  {c.force.code}  {c.name}  {state}")
        elif action == "revoke":
            with transaction.atomic():
                updated = ApiClient.objects.filter(
                    token_prefix=options["prefix"], revoked_at__isnull=True
                ).update(revoked_at=clock.now())
            if not updated:
                raise CommandError(f"No active client has a token starting {options['prefix']}")
            self.stdout.write(f"Revoked {updated} client(s).")
