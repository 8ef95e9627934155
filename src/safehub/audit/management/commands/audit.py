"""`safehub audit seal | verify | export`: the audit log's hash chain (see safehub.audit.chain),
and its export for the information governance lead (safehub.audit.export)."""

import datetime as dt
import re
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safehub.audit.chain import Finding, audit_seal, audit_verify, max_lag, settle_delay
from safehub.audit.export import ExportFilters, audit_export
from safehub.core.errors import DomainError
from safehub.core.operator import command_line_operator


def _anchor(raw: str) -> tuple[int, str]:
    match = re.fullmatch(r"(\d+):([0-9a-f]{64})", raw.strip())
    if match is None:
        raise ValueError(raw)
    return int(match[1]), match[2]


def _day(raw: str) -> dt.date:
    return dt.date.fromisoformat(raw)


class Command(BaseCommand):
    help = (
        "seal: add the committed audit events to the hash chain (the worker does it every "
        "minute). verify: check the chain and name the first broken link; exit status 1 if it is "
        "broken or an event has waited too long to be sealed. export: the events of a period as "
        "CSV, for the information governance lead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        seal = sub.add_parser("seal", help="Chain the events not chained yet.")
        seal.add_argument(
            "--limit", type=int, default=None, help="at most this many (default: all due)"
        )
        verify = sub.add_parser("verify", help="Check the whole chain.")
        verify.add_argument(
            "--anchor",
            type=_anchor,
            metavar="SEQ:HASH",
            help="a head printed earlier, which must still be in the chain as it was",
        )
        export = sub.add_parser(
            "export",
            help="Write the events of a period to a CSV file, one row per event with its seal.",
        )
        export.add_argument(
            "--from",
            dest="start",
            type=_day,
            required=True,
            metavar="YYYY-MM-DD",
            help="the first day (London time)",
        )
        export.add_argument(
            "--to",
            dest="end",
            type=_day,
            required=True,
            metavar="YYYY-MM-DD",
            help="the last day, included (London time)",
        )
        export.add_argument("--object-type", default="", metavar="T", help="e.g. referrals.contact")
        export.add_argument("--object-id", default="", metavar="ID", help="one record's id")
        export.add_argument(
            "--user", default="", metavar="USERNAME", help="only what this person did"
        )
        export.add_argument(
            "-o",
            "--output",
            type=Path,
            required=True,
            metavar="FILE.csv",
            help="the file to write (replaced if it exists; readable by its owner only)",
        )
        export.add_argument(
            "--purpose", default="", help="why, for the export's own audit event (e.g. a ticket)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "seal":
            sealed = audit_seal(limit=options["limit"])
            self.stdout.write(f"Sealed {sealed} audit events.")
            return
        if options["action"] == "export":
            self._export(options)
            return
        result = audit_verify(anchor=options["anchor"])
        out = self.stdout.write
        if result.head is None:
            out("Checked 0 events: the audit chain is empty.")
        else:
            seq, digest = result.head
            out(f"Checked {result.checked} events in the audit chain (seals 1 to {seq}).")
            out(f"Head: {seq}:{digest}")
        if result.waiting_count:
            out(
                f"Warning: {result.waiting_count} events older than "
                f"{settle_delay().total_seconds():.0f} seconds are not sealed yet "
                f"(the sealer runs every minute): "
                + ", ".join(str(f.event_id) for f in result.waiting)
                + ("…" if result.waiting_count > len(result.waiting) else "")
            )
        if result.ok:
            out("OK: the audit chain is intact.")
            return
        if result.first_break is not None:
            first = result.first_break
            where = f" at seal {first.seq}" if first.seq is not None else ""
            out(f"BROKEN{where}: {first.problem}")
            self._describe(first)
            if result.break_count > 1:
                out(f"{result.break_count} broken links in all; the next ones:")
                for finding in result.breaks[1:]:
                    out(f"  seal {finding.seq}: {finding.problem}")
        if result.overdue_count:
            count = result.overdue_count
            out(
                f"NOT SEALED: {count} {'event is' if count == 1 else 'events are'} not in the "
                f"chain {max_lag().total_seconds() / 60:.0f} minutes after their time:"
            )
            for finding in result.overdue:
                out(f"  {finding.problem}")
                self._describe(finding)
        raise CommandError("the audit log failed verification", returncode=1)

    def _describe(self, finding: Finding) -> None:
        if finding.event_id is not None:
            self.stdout.write(f"  {finding.describe_event()}")

    def _export(self, options: dict[str, Any]) -> None:
        filters = ExportFilters(
            start=options["start"],
            end=options["end"],
            object_type=options["object_type"],
            object_id=options["object_id"],
            username=options["user"],
        )
        try:
            result = audit_export(
                filters=filters,
                path=options["output"],
                exported_by=command_line_operator(),
                purpose=options["purpose"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        except OSError as exc:
            raise CommandError(f"Could not write {options['output']}: {exc.strerror}") from exc
        self.stdout.write(
            f"Exported {result.rows} audit events to {options['output']} "
            f"(SHA-256 {result.sha256}); the export is recorded as audit event {result.event.pk}."
        )
