import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safehub.accounts.models import ApiClient
from safehub.accounts.services import apiclient_create, apiclient_revoke, apiclient_rotate
from safehub.core import clock
from safehub.core.errors import DomainError
from safehub.core.operator import command_line_operator


def _when(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


class Command(BaseCommand):
    help = "Manage a police force's integration clients (the systems that send notifications)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a client and print its token once.")
        create.add_argument("--force", required=True, help="The police force's code, e.g. MSP.")
        create.add_argument("--name", required=True, help="What the client is, e.g. 'Niche RMS'.")
        sub.add_parser("list", help="List clients and their tokens' prefixes (never the tokens).")
        rotate = sub.add_parser(
            "rotate",
            help="Give a client a new token (printed once); the old one keeps working for the "
            "overlap, then is refused.",
        )
        rotate.add_argument("prefix", help="The current token's prefix, as `list` shows it.")
        rotate.add_argument(
            "--overlap-hours",
            type=int,
            default=24,
            help="How long the old token keeps working, for the sender to switch (default 24; "
            "0: refused at once, for a leaked token; at most 168).",
        )
        revoke = sub.add_parser(
            "revoke",
            help="Refuse a token at once: a client's current token revokes the client; the "
            "token before, during a rotation's overlap, ends the overlap only.",
        )
        revoke.add_argument("prefix", help="The token's prefix, as `list` shows it.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    def _create(self, options: dict[str, Any]) -> None:
        client, token = apiclient_create(force_code=options["force"], name=options["name"])
        self.stdout.write(f"Created client {client.name} for {client.force.code}.")
        self.stdout.write("Its token, shown once only (keep it in the sender's secret store):")
        self.stdout.write(token)

    def _list(self, options: dict[str, Any]) -> None:
        now = clock.now()
        for c in ApiClient.objects.select_related("force"):
            state = f"revoked {_when(c.revoked_at)}" if c.revoked_at else "active"
            self.stdout.write(f"{c.token_prefix}…  {c.force.code}  {c.name}  {state}")
            until = c.previous_token_until
            if until is not None and c.revoked_at is None:
                ends = "until" if until > now else "refused since"
                self.stdout.write(
                    f"  {c.previous_token_prefix}…  (the token before) {ends} {_when(until)}"
                )

    def _rotate(self, options: dict[str, Any]) -> None:
        client, token = apiclient_rotate(
            prefix=options["prefix"],
            overlap=dt.timedelta(hours=options["overlap_hours"]),
            rotated_by=command_line_operator(),
        )
        assert client.previous_token_until is not None
        self.stdout.write(f"New token for {client.name} ({client.force.code}).")
        self.stdout.write("Shown once only (keep it in the sender's secret store):")
        self.stdout.write(token)
        if client.previous_token_until > clock.now():
            self.stdout.write(
                f"The old token ({client.previous_token_prefix}…) works until "
                f"{_when(client.previous_token_until)}, then is refused."
            )
        else:
            self.stdout.write(f"The old token ({client.previous_token_prefix}…) is refused now.")

    def _revoke(self, options: dict[str, Any]) -> None:
        client, change = apiclient_revoke(
            prefix=options["prefix"], revoked_by=command_line_operator()
        )
        if change == "revoked":
            self.stdout.write(f"Revoked {client.name} ({client.force.code}): every token refused.")
        else:
            self.stdout.write(
                f"Ended the old token of {client.name} ({client.force.code}); its current "
                f"token ({client.token_prefix}…) still works."
            )
