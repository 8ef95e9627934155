"""`safehub escalate --once`: make every escalation step whose time has come, and say how many.
The worker does the same every minute."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safehub.referrals.escalation import escalations_sweep


class Command(BaseCommand):
    help = (
        "Warn the allocated worker, the team manager and the head of service as deadlines run "
        "down (each step once). The worker runs this every minute."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="Run one sweep now and stop (the only mode)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["once"]:
            raise CommandError("Say --once: the worker (`safehub worker`) runs it every minute.")
        result = escalations_sweep()
        self.stdout.write(
            "Escalations made: "
            f"{result.made['worker']} to workers, {result.made['manager']} to managers, "
            f"{result.made['head_of_service']} to heads of service."
        )
