"""`safehub audit seal | verify`: the audit log's hash chain (see safehub.audit.chain)."""

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safehub.audit.chain import Finding, audit_seal, audit_verify, max_lag, settle_delay


def _anchor(raw: str) -> tuple[int, str]:
    match = re.fullmatch(r"(\d+):([0-9a-f]{64})", raw.strip())
    if match is None:
        raise ValueError(raw)
    return int(match[1]), match[2]


class Command(BaseCommand):
    help = (
        "seal: add the committed audit events to the hash chain (the worker does it every "
        "minute). verify: check the chain and name the first broken link; exit status 1 if it is "
        "broken or an event has waited too long to be sealed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["seal", "verify"])
        parser.add_argument(
            "--limit", type=int, default=None, help="seal: at most this many (default: all due)"
        )
        parser.add_argument(
            "--anchor",
            type=_anchor,
            metavar="SEQ:HASH",
            help="verify: a head printed earlier, which must still be in the chain as it was",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "seal":
            sealed = audit_seal(limit=options["limit"])
            self.stdout.write(f"Sealed {sealed} audit events.")
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
