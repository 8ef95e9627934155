from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from safehub.intake.imports import notifications_import


class Command(BaseCommand):
    help = (
        "Import notifications from FILE.jsonl (one per line) or FILE.json (an array), through the "
        "same validation as the API. Rejected records go to FILE.rejects.jsonl with every reason."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        show = not options["no_progress"] and self.stdout.isatty()
        with Progress(
            TextColumn("Importing"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            disable=not show,
            transient=True,
        ) as progress:
            bar = progress.add_task("import", total=path.stat().st_size)
            try:
                summary = notifications_import(
                    path=path, on_progress=lambda n: progress.advance(bar, n)
                )
            except (ValueError, UnicodeDecodeError) as exc:
                raise CommandError(f"{path}: {exc}") from exc
        self.stdout.write(
            f"Read {summary.read}: {summary.created} new, {summary.already_present} already "
            f"received, {summary.rejected} rejected. Contacts opened: {summary.contacts} "
            f"({summary.unrouted} to be routed by a person)."
        )
        if summary.rejects_path:
            self.stdout.write(f"Rejected records and their reasons: {summary.rejects_path}")
            for reason, count in sorted(summary.reasons.items(), key=lambda kv: -kv[1])[:10]:
                self.stdout.write(f"  {count:>7}  {reason}")
