"""`safehub export cin-census | annex-a`: a council's statutory return and inspection lists.

    safehub export cin-census --council CODE --year 2026 -o census.xml [--check]
    safehub export annex-a --council CODE [--from DATE] [--to DATE] -o annex-a.xlsx

CODE is the council's agency code (as elsewhere: LA344) or its three-digit DfE LA number (344);
`--la` is the same option. The CIN census is checked against the DfE schema and rules before it
is written: on any error nothing is written, every problem is printed, and the command exits 1.
"""

import datetime as dt
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Q

from safehub.accounts.models import Agency, AgencyKind
from safehub.core import clock
from safehub.core.errors import DomainError
from safehub.core.operator import command_line_operator

# Problems printed in full; beyond this, a count per rule (the summary has them all).
PRINT_LIMIT = 200


def council_find(code: str) -> Agency:
    """A council's children's services by agency code (LA344) or DfE LA number (344)."""
    code = code.strip()
    council = (
        Agency.objects.filter(kind=AgencyKind.CHILDREN_SERVICES)
        .filter(Q(code__iexact=code) | Q(la_code=code))
        .first()
    )
    if council is None:
        raise CommandError(f"No council's children's services has the code or LA number {code!r}.")
    return council


def _day(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise CommandError(f"{raw!r} is not a date (YYYY-MM-DD).") from exc


class Command(BaseCommand):
    help = "Export a council's DfE CIN census (XML) or Ofsted Annex A lists (xlsx)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="return_", required=True, metavar="{cin-census,annex-a}")
        census = sub.add_parser(
            "cin-census",
            help="The DfE children in need census for a year ending 31 March, validated against "
            "the DfE schema and rules before it is written.",
        )
        census.add_argument(
            "--council", "--la", dest="council", required=True, help="LA344, or 344."
        )
        census.add_argument(
            "--year",
            type=int,
            required=True,
            help="The census year, named by its end: 2026 is 1 April 2025 to 31 March 2026.",
        )
        output = census.add_mutually_exclusive_group(required=True)
        output.add_argument("-o", "--output", type=Path, help="the XML file to write")
        output.add_argument(
            "--check", action="store_true", help="check only: list the problems, write nothing"
        )
        census.add_argument("--purpose", default="", help="why, for the export's audit event")

        annex = sub.add_parser("annex-a", help="Ofsted's Annex A lists 1, 3, 4 and 5 (xlsx).")
        annex.add_argument(
            "--council", "--la", dest="council", required=True, help="LA344, or 344."
        )
        annex.add_argument(
            "--from", "--start", dest="start", help="first day, YYYY-MM-DD (default: 6 months ago)"
        )
        annex.add_argument(
            "--to", "--end", dest="end", help="last day, YYYY-MM-DD (default: today)"
        )
        annex.add_argument(
            "-o", "--output", type=Path, required=True, help="the xlsx file to write"
        )
        annex.add_argument("--purpose", default="", help="why, for the export's audit event")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["return_"] == "cin-census":
                self._cin_census(options)
            else:
                self._annex_a(options)
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    # --- CIN census ------------------------------------------------------------------------------

    def _cin_census(self, options: dict[str, Any]) -> None:
        from safehub.returns.census import CensusInvalid, census_check, census_write

        council = council_find(options["council"])
        year = options["year"]
        path: Path | None = options["output"]
        try:
            if path is None:
                summary = census_check(council=council, year=year)
            else:
                summary = census_write(
                    council=council,
                    year=year,
                    path=path,
                    exported_by=command_line_operator(),
                    purpose=options["purpose"],
                )
        except OSError as exc:
            raise CommandError(f"Could not write {path}: {exc.strerror}") from exc
        except CensusInvalid as exc:
            self._problems(exc.summary.errors, "error")
            self._problems(exc.summary.queries, "query")
            self._counts(exc.summary)
            raise CommandError(exc.message) from exc
        self._problems(summary.queries, "query")
        self._counts(summary)
        if path is None:
            verdict = "has errors" if summary.errors else "is valid"
            self._problems(summary.errors, "error")
            self.stdout.write(f"Checked the CIN census {year} for {council.name}: it {verdict}.")
            if summary.errors:
                raise CommandError(f"{len(summary.errors)} errors: the census cannot be written.")
            return
        self.stdout.write(
            f"Wrote the CIN census {year} for {council.name} (LA {summary.la_code}) to {path}, "
            f"serial {summary.serial_no}, SHA-256 {summary.sha256}."
        )

    def _problems(self, problems: list[Any], kind: str) -> None:
        if not problems:
            return
        out = self.stderr if kind == "error" else self.stdout
        out.write(f"{len(problems)} {kind}{'s' if len(problems) != 1 else ''}:")
        for problem in problems[:PRINT_LIMIT]:
            out.write(f"  {problem}")
        if len(problems) > PRINT_LIMIT:
            by_rule: dict[str, int] = {}
            for problem in problems[PRINT_LIMIT:]:
                by_rule[problem.rule] = by_rule.get(problem.rule, 0) + 1
            more = ", ".join(f"{rule}: {n}" for rule, n in sorted(by_rule.items()))
            out.write(f"  … and {len(problems) - PRINT_LIMIT} more ({more})")

    def _counts(self, summary: Any) -> None:
        width = max(len(name) for name in summary.counts)
        for name, count in summary.counts.items():
            self.stdout.write(f"  {name.capitalize():<{width}}  {count:>7,}")

    # --- Annex A ---------------------------------------------------------------------------------

    def _annex_a(self, options: dict[str, Any]) -> None:
        # Imported here: a command must not fail to load because another return's module does.
        from safehub.audit.models import Action
        from safehub.audit.services import audit_record
        from safehub.returns.annex_a import annex_a_write
        from safehub.timescales.calendar import add_calendar_months, london_date

        council = council_find(options["council"])
        today = london_date(clock.now())
        end = _day(options["end"]) if options["end"] else today
        # By default the six months to today: 29 May to 28 November.
        six_months = add_calendar_months(end, -6) + dt.timedelta(days=1)
        start = _day(options["start"]) if options["start"] else six_months
        if end < start:
            raise CommandError("The period ends before it starts (--to is before --from).")
        path: Path = options["output"]
        summary = annex_a_write(council, start, end, path)
        detail = summary.as_detail() if hasattr(summary, "as_detail") else _plain(summary)
        with transaction.atomic():
            audit_record(
                actor=command_line_operator(),
                action=Action.EXPORT,
                object_type="returns.annex_a",
                object_id=f"{council.code}/{start}/{end}",
                purpose=options["purpose"],
                detail={**detail, "file": path.name},
            )
        rows = getattr(summary, "rows", None) or {}
        for sheet, count in rows.items():
            self.stdout.write(f"  {sheet:<8}  {count:>7,} rows")
        self.stdout.write(
            f"Wrote Annex A for {council.name}, {start:%d %B %Y} to {end:%d %B %Y}, to {path}."
        )


def _plain(summary: Any) -> dict[str, Any]:
    if is_dataclass(summary) and not isinstance(summary, type):
        return {k: str(v) for k, v in asdict(summary).items()}
    return {"summary": str(summary)}
