from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the background worker: delivers the outbox and runs scheduled work."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between polls when idle."
        )
        parser.add_argument(
            "--batch", action="store_true", help="Run what is due, then stop (for cron or tests)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from safehub.core.outbox import outbox_deliver_due, sweep

        # Anything left pending by a worker that died mid-delivery is picked up first; then the
        # sweeps every minute: a message whose delivery task failed, Encompass notices, clocks.
        outbox_deliver_due()
        if not options["batch"]:
            sweep.enqueue()
        worker_args = ["--interval", str(options["interval"]), "--queue-name", "default"]
        if options["batch"]:
            worker_args.append("--batch")
        call_command("db_worker", *worker_args)
