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
        "with the grade, children of every age. The same --seed gives the same file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--notifications", type=int, required=True, metavar="N")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--start",
            type=_date,
            default=None,
            help="First day (YYYY-MM-DD); default: --days before today.",
        )
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--force", default="MSP", help="The police force's code.")
        parser.add_argument("-o", "--output", type=Path, required=True, metavar="FILE.jsonl")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
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
