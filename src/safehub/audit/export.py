"""The audit log for the information governance lead: one CSV row per event of a period.

`safehub audit export --from 2026-11-01 --to 2026-11-30 -o november.csv` writes the events of
those days (London days, both included), oldest first, optionally only those about one kind of
record, one record, or done by one person. Each row carries the event's seal (its place in the
hash chain and the chain's hash there) once the sealer has reached it, so that a row can be
checked against `safehub audit verify`.

The rows are streamed from the database a chunk at a time (flat memory for any size of log), to a
file readable by its owner only, written beside the target and renamed into place when complete.
The export is itself an audit event (EXPORT): the filters, the number of rows and the file's
SHA-256, so that a copy shown later can be matched to this export.

Every cell that a spreadsheet would take for a formula (starting = + - @, a tab or a carriage
return) is prefixed with a single quote: a name or a purpose typed into safehub must never run
as a formula on the governance lead's computer.
"""

import csv
import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from django.db import connection, transaction

from safehub.audit.chain import _iso
from safehub.audit.models import Action, AuditEvent
from safehub.audit.services import audit_record
from safehub.core.clock import LONDON
from safehub.core.errors import DomainError

COLUMNS = (
    "at",
    "actor",
    "role",
    "agency",
    "action",
    "object_type",
    "object_id",
    "purpose",
    "request_id",
    "detail",
    "seal_seq",
    "seal_hash",
)
# What each column is read from (values_list), in the order of COLUMNS.
_FIELDS = (
    "at",
    "actor",
    "role",
    "agency__name",
    "action",
    "object_type",
    "object_id",
    "purpose",
    "request_id",
    "detail",
    "seal__seq",
    "seal__hash",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_SIZE = 2000


@dataclass(frozen=True)
class ExportFilters:
    """Which events: those of the London days `start` to `end` (both included), and, when
    given, about records of `object_type`, about the one record `object_id`, done by the person
    signed in as `username`, done by the people of the agency whose code is `agency`."""

    start: dt.date
    end: dt.date
    object_type: str = ""
    object_id: str = ""
    username: str = ""
    agency: str = ""  # an agency's code: only what its people did

    def as_detail(self) -> dict[str, str]:
        return {
            key: value.isoformat() if isinstance(value, dt.date) else value
            for key, value in asdict(self).items()
            if value
        }


@dataclass(frozen=True)
class ExportResult:
    rows: int
    sha256: str
    event: AuditEvent


class ExportRefused(DomainError):
    pass


def safe_cell(value: str) -> str:
    """The value, made inert for spreadsheets (CSV injection)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _check(filters: ExportFilters) -> None:
    from safehub.accounts.models import User

    if filters.end < filters.start:
        raise ExportRefused("The period ends before it starts (--to is before --from).")
    if filters.username and not User.objects.filter(username=filters.username).exists():
        raise ExportRefused(f"No user is called {filters.username!r}.")


def audit_export_queryset(*, filters: ExportFilters) -> Any:
    """The events the filters select, oldest first, as tuples in the order of `_FIELDS`."""
    start = dt.datetime.combine(filters.start, dt.time.min, tzinfo=LONDON)
    end = dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time.min, tzinfo=LONDON)
    events = AuditEvent.objects.filter(at__gte=start, at__lt=end)
    if filters.object_type:
        events = events.filter(object_type=filters.object_type)
    if filters.object_id:
        events = events.filter(object_id=filters.object_id)
    if filters.username:
        events = events.filter(user__username=filters.username)
    if filters.agency:
        events = events.filter(agency__code=filters.agency)
    return events.order_by("at", "id").values_list(*_FIELDS)


def audit_export_rows(
    *, filters: ExportFilters, chunk_size: int = CHUNK_SIZE
) -> Iterator[list[str]]:
    """The CSV rows (without the header), read `chunk_size` at a time: never the whole log in
    memory (on PostgreSQL a server-side cursor, on SQLite chunked reads)."""
    for row in audit_export_queryset(filters=filters).iterator(chunk_size=chunk_size):
        at, *text, detail, seq, seal_hash = row
        yield [
            _iso(at),
            *(safe_cell(value or "") for value in text),
            safe_cell(json.dumps(detail, ensure_ascii=False, sort_keys=True)),
            "" if seq is None else str(seq),
            seal_hash or "",
        ]


def audit_export(
    *,
    filters: ExportFilters,
    path: Path,
    exported_by: Any,
    purpose: str = "",
    chunk_size: int = CHUNK_SIZE,
) -> ExportResult:
    """Write the selected events to `path` as CSV (UTF-8 with a byte-order mark, so that Excel
    reads names right), then record the export. Nothing is left at `path`, and nothing recorded,
    if it fails part-way. The file is renamed into place once the export is recorded: a failure
    between the two leaves a record of an export and no file, never a file without a record."""
    _check(filters)
    partial = path.with_name(f".{path.name}.partial")
    rows = 0
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as handle, _reading():
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            for row in audit_export_rows(filters=filters, chunk_size=chunk_size):
                writer.writerow(row)
                rows += 1
        digest = _sha256(partial)
        with transaction.atomic():
            event = audit_record(
                actor=exported_by,
                action=Action.EXPORT,
                object_type="audit.auditevent",
                purpose=purpose,
                detail={
                    "filters": filters.as_detail(),
                    "rows": rows,
                    "file": path.name,
                    "sha256": digest,
                },
            )
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return ExportResult(rows=rows, sha256=digest, event=event)


def _reading() -> AbstractContextManager[Any]:
    """On PostgreSQL, read in a transaction (one snapshot): outside one, Django's server-side
    cursor is WITH HOLD, which has the server compute and store every row before the first is
    sent. On SQLite, no transaction: safehub's are IMMEDIATE, and would hold the write lock for the
    whole export."""
    if connection.vendor == "postgresql":
        return transaction.atomic()
    return nullcontext()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
