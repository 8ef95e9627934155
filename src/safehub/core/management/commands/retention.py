"""`safehub retention`: the retention rules in force, and the job that applies them.

safehub retention rules                 the rules in force, as a Markdown table
safehub retention run [--dry-run] [--limit N] [--batch-size N]
                                        delete or anonymise what has expired, and say how many

The worker runs the job once a day from its minute sweep; `run` here runs it now, whenever it last
ran. It is safe to run at any time and again: what is done is not done twice.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safehub.core.retention import BATCH_SIZE, retention_rules, retention_run, retention_table


class Command(BaseCommand):
    help = "Show the retention rules, or delete and anonymise the records that have expired."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("rules", help="Print the retention rules in force.")
        run = sub.add_parser("run", help="Delete or anonymise every record that has expired.")
        run.add_argument(
            "--dry-run",
            action="store_true",
            help="Say how many would be deleted or anonymised, and change nothing.",
        )
        run.add_argument("--limit", type=int, default=None, help="At most N records a rule.")
        run.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "rules":
            self.stdout.write(retention_table(retention_rules()), ending="")
            return
        limit, batch_size = options["limit"], options["batch_size"]
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        dry_run = options["dry_run"]
        report = retention_run(dry_run=dry_run, limit=limit, batch_size=batch_size, force=True)
        width = max(len(r.rule) for r in report.results)
        for r in report.results:
            verb = f"would be {r.verb}" if dry_run else r.verb
            also = ", ".join(f"{k.replace('_', ' ')}: {n}" for k, n in r.also.items() if n)
            self.stdout.write(
                f"{r.rule:<{width}}  {r.count:>7} {verb}" + (f" ({also})" if also else "")
            )
        total = sum(r.count for r in report.results)
        if dry_run:
            self.stdout.write(f"Dry run: {total} records would be changed; nothing was.")
        else:
            self.stdout.write(
                self.style.SUCCESS(f"{total} records deleted or anonymised, each batch audited.")
            )
