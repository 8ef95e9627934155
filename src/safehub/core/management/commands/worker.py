import logging
import threading
import time
from typing import Any

from django.conf import settings
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
        from safehub.people.services import people_index_sweep

        # Anything left pending by a worker that died mid-delivery is picked up first; then the
        # sweeps every minute: a message whose delivery task failed, Encompass notices, clocks.
        outbox_deliver_due()
        if options["batch"]:
            people_index_sweep()
        else:
            sweep.enqueue()
            # The person index's sweep runs every few seconds, not every minute: a contact's
            # rating may rise with what the index finds (docs/linkage.md, "At intake").
            threading.Thread(target=_index_sweeps, name="people-index-sweep", daemon=True).start()
        worker_args = ["--interval", str(options["interval"]), "--queue-name", "default"]
        if options["batch"]:
            worker_args.append("--batch")
        call_command("db_worker", *worker_args)


log = logging.getLogger(__name__)


def _index_sweeps() -> None:
    """`people_index_sweep` every SAFEHUB_LINKAGE_SWEEP_SECONDS, for as long as the worker runs.
    A failing sweep is logged and the next one tries again; the thread's database connection is
    closed after each (the task worker keeps its own)."""
    from django.db import connections

    from safehub.people.services import PeopleIndexSweeper

    sweeper = PeopleIndexSweeper()
    while True:
        try:
            sweeper.run()
        except Exception:
            log.exception("person index sweep failed")
        finally:
            connections.close_all()
        time.sleep(settings.SAFEHUB_LINKAGE_SWEEP_SECONDS)
