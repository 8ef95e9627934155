import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safehub.core import clock
from safehub.reports.scope import MAX_DAYS


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"not a date (YYYY-MM-DD): {text}") from None


class Command(BaseCommand):
    help = (
        "The dashboard's daily summary: `safehub reports refresh [--from DATE] [--to DATE]` "
        "counts again the national figures of each closed day (by default the last 366), then "
        "adds up the whole months whose days were counted again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["refresh"])
        parser.add_argument("--from", dest="start", type=_date, help="first day (London)")
        parser.add_argument("--to", dest="end", type=_date, help="last day (default yesterday)")

    def handle(self, *args: Any, **options: Any) -> None:
        from safehub.reports.rollup import rollup_months, rollup_refresh

        today = clock.now().astimezone(clock.LONDON).date()
        end = options["end"] or today - dt.timedelta(days=1)
        start = options["start"] or today - dt.timedelta(days=MAX_DAYS)
        if start > end:
            raise CommandError("--from is after --to")
        began = time.monotonic()

        def progress(day: dt.date) -> None:
            if day.day == 1 or day == end:
                self.stdout.write(f"  counted up to {day} ({time.monotonic() - began:.0f} s)")

        done = rollup_refresh(start=start, end=end, progress=progress)
        months = rollup_months()
        self.stdout.write(
            f"Counted {done} days ({start} to {min(end, today - dt.timedelta(days=1))}) "
            f"and added up {months} months in {time.monotonic() - began:.1f} s."
        )
