import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from safehub.intake.generator import write_notifications


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--start {value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = (
        "Write realistic synthetic police notifications that follow the contract: households "
        "that come back, names written differently between notices, DASH answers consistent "
        "with the grade, children of every age. The same --seed gives the same file. With "
        "--people N instead: person records for linkage (person-records.md) and their truth."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        what = parser.add_mutually_exclusive_group(required=True)
        what.add_argument("--notifications", type=int, metavar="N")
        what.add_argument(
            "--people",
            type=int,
            metavar="N",
            help="Person records for linkage, with the same noise as the notifications.",
        )
        parser.add_argument(
            "--truth", type=Path, metavar="TRUTH.csv", help="With --people: record_id,person_id."
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--start",
            type=_date,
            default=None,
            help="First day (YYYY-MM-DD); default: --days before today.",
        )
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--force", default="MSP", help="The police force's code.")
        parser.add_argument(
            "-o", "--output", type=Path, required=True, metavar="FILE.jsonl|people.csv"
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["people"] is not None:
            self._people(options)
            return
        if options["truth"] is not None:
            raise CommandError("--truth goes with --people")
        count, days = options["notifications"], options["days"]
        if count < 0 or days < 1:
            raise CommandError("--notifications must be 0 or more and --days 1 or more")
        start = options["start"] or dt.date.today() - dt.timedelta(days=days)
        show = not options["no_progress"] and self.stdout.isatty()
        with Progress(
            TextColumn("Generating"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            disable=not show,
            transient=True,
        ) as progress:
            bar = progress.add_task("generate", total=count)
            written = write_notifications(
                options["output"],
                count=count,
                seed=options["seed"],
                start=start,
                days=days,
                force_code=options["force"],
                progress=lambda n: progress.update(bar, completed=n),
            )
        self.stdout.write(
            f"Wrote {written} notifications ({start} to {start + dt.timedelta(days=days - 1)}) "
            f"to {options['output']}."
        )

    def _people(self, options: dict[str, Any]) -> None:
        from safehub.people.generator import people_generate

        if options["people"] < 1:
            raise CommandError("--people must be 1 or more")
        if options["truth"] is None:
            raise CommandError("--people needs --truth TRUTH.csv for the ground truth")
        written = people_generate(
            options["people"], options["seed"], options["output"], options["truth"]
        )
        self.stdout.write(
            f"Wrote {written} person records to {options['output']} "
            f"and their truth to {options['truth']}."
        )
