"""`safehub triage explain FILE.json [--received-at ISO]`: what a notification would become."""

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safehub.core import clock
from safehub.referrals.triage import triage_explain


def _aware(value: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--received-at: {value!r} is not an ISO 8601 date-time, e.g. 2026-11-20T23:40:00+00:00"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise CommandError(
            f"--received-at: {value!r} has no UTC offset: add one, e.g. 2026-11-20T23:40:00+00:00"
        )
    return parsed


class Command(BaseCommand):
    # It reads and prints, for one file: the project's checks (which import every URL and the
    # API) are for the server, and would triple the time it takes.
    requires_system_checks: list[str] = []
    help = "Triage tools. `explain`: what a notification would become, storing nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        explain = sub.add_parser(
            "explain",
            help="Print as JSON what a notification would become if received at a time, "
            "without storing anything.",
        )
        explain.add_argument("file", help="The notification body, a JSON file.")
        explain.add_argument(
            "--received-at",
            dest="received_at",
            default=None,
            help="When it is received, ISO 8601 with an offset (default: now).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] != "explain":  # pragma: no cover - argparse refuses others
            raise CommandError(f"unknown action {options['action']!r}")
        received_at = (
            _aware(options["received_at"]) if options["received_at"] is not None else clock.now()
        )
        path = Path(options["file"])
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None
        result = triage_explain(raw=raw, received_at=received_at)
        self.stdout.write(json.dumps(result, indent=2, ensure_ascii=False))
        if "errors" in result:
            n = len(result["errors"])
            raise CommandError(
                f"{path}: the notification does not meet the contract "
                f"({n} problem{'s' if n != 1 else ''}, listed above)."
            )
