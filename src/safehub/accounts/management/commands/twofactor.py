import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safehub.accounts.models import User
from safehub.accounts.twofactor import twofactor_reset


def _operator() -> str:
    """Who ran the command, as the audit log names them."""
    try:
        return f"command line ({getpass.getuser()})"
    except (KeyError, OSError):
        return "command line"


class Command(BaseCommand):
    help = "Support for two-factor sign-in."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        reset = sub.add_parser(
            "reset",
            help="Delete a person's authenticator app and recovery codes: they set up a new "
            "one at their next sign-in.",
        )
        reset.add_argument("username")
        reset.add_argument(
            "--reason", default="", help="Why, for the audit log (e.g. 'lost phone, ticket 123')."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user is called {username!r}")
        removed = twofactor_reset(user=user, actor=_operator(), reason=options["reason"])
        if removed:
            self.stdout.write(
                f"Reset two-factor sign-in for {username}: they will set up an authenticator "
                "app at their next sign-in."
            )
        else:
            self.stdout.write(
                f"{username} had no authenticator app or recovery codes: nothing to reset "
                "(recorded all the same)."
            )
