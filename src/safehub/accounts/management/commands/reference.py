from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safehub.accounts.services import DATA_DIR, ReferenceDataError, reference_load


class Command(BaseCommand):
    help = "Load agencies (forces, councils, schools, health, DA services) and postcode routing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["load"])
        parser.add_argument("--agencies", type=Path, default=DATA_DIR / "agencies.csv")
        parser.add_argument("--districts", type=Path, default=DATA_DIR / "postcode_districts.csv")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            summary = reference_load(
                agencies_csv=options["agencies"], districts_csv=options["districts"]
            )
        except (ReferenceDataError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Agencies: {summary.agencies_created} created, {summary.agencies_updated} updated. "
            f"Postcode districts routed: {summary.routes}."
        )
