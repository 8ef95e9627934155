import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from safehub.returns.national import DEFAULT_NOTIFICATIONS, national_forces, national_load


class Command(BaseCommand):
    help = (
        "Load a synthetic national year into the database, straight to the tables: police "
        "notifications for every force and council in England (or one force's councils with "
        "--force), one contact per child with its RAG rating and clocks, decisions and sign-offs, "
        "strategy discussions with participants, attendance and information requests, casework "
        "(episodes, assessments, section 47 enquiries, conferences, plans) and Operation "
        "Encompass notices. For measuring the dashboards and the returns at national size; "
        "never on a live hub. See safehub.returns.national."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--notifications",
            type=int,
            default=DEFAULT_NOTIFICATIONS,
            metavar="N",
            help=f"default {DEFAULT_NOTIFICATIONS:,} (a year of England)",
        )
        parser.add_argument(
            "--force",
            default=None,
            metavar="CODE",
            help="only this force's councils (e.g. MET, or KNT for Kent and Medway)",
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--days", type=int, default=365, help="the year before now")
        parser.add_argument(
            "--until",
            default=None,
            metavar="DATE",
            help="the end of the period, midnight London (YYYY-MM-DD); default: now",
        )
        parser.add_argument("--batch", type=int, default=5000, help="notifications a transaction")
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="processes that make and write rows at once (PostgreSQL; e.g. one per core)",
        )
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument(
            "--no-rollup",
            action="store_true",
            help="Leave the national dashboard's daily summary empty (the worker fills it).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        force = options["force"]
        if force is not None and force not in {f.code for f in national_forces()}:
            raise CommandError(f"--force {force!r}: not a force in the national list")
        if options["notifications"] < 0 or options["days"] < 1 or options["batch"] < 1:
            raise CommandError("--notifications must be 0 or more, --days and --batch 1 or more")
        until = None
        if options["until"]:
            from safehub.core.clock import LONDON

            try:
                day = dt.date.fromisoformat(options["until"])
            except ValueError:
                raise CommandError(f"--until {options['until']!r} is not a date") from None
            until = dt.datetime.combine(day, dt.time(), tzinfo=LONDON)
        total = options["notifications"]
        show = not options["no_progress"] and self.stdout.isatty()
        with Progress(
            TextColumn("Loading"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            disable=not show,
        ) as progress:
            bar = progress.add_task("load", total=total)
            summary = national_load(
                notifications=total,
                seed=options["seed"],
                days=options["days"],
                force=force,
                now=until,
                batch=options["batch"],
                workers=max(1, options["workers"]),
                on_progress=lambda n: progress.update(bar, completed=n),
            )
        self.stdout.write(
            f"Loaded {summary.notifications:,} notifications for {summary.councils} councils "
            f"and {summary.forces} forces in {summary.seconds:.0f} s "
            f"({summary.rows_total:,} rows):"
        )
        for label, count in summary.rows.items():
            self.stdout.write(f"  {count:>10,}  {label}")
        if options["no_rollup"]:
            return
        # The national dashboard reads each closed day's counts from its daily summary (the
        # worker keeps it; a loaded world has none yet).
        from safehub.core import clock
        from safehub.reports.rollup import rollup_months, rollup_refresh
        from safehub.timescales.calendar import london_date

        last = london_date(until or clock.now()) - dt.timedelta(days=1)
        days = rollup_refresh(start=last - dt.timedelta(days=options["days"]), end=last)
        months = rollup_months()
        self.stdout.write(
            f"Counted {days} days ({months} whole months) for the national dashboard's "
            "daily summary."
        )
