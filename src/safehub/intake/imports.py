"""Bulk intake of notifications from a file: JSON Lines or one JSON array.

Records are read one at a time (memory stays bounded whatever the file size), go through exactly
the validation and the service the API uses, and are committed in batches. A rejected record is
written whole, with every reason, to `FILE.rejects.jsonl`. Running the same file again stores
nothing twice: the natural key `(force_code, incident_reference)` makes every record idempotent.
"""

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.db import transaction

from safehub.core import clock
from safehub.core.errors import DomainError
from safehub.intake.models import Channel
from safehub.intake.services import InvalidNotification, notification_receive

BATCH_SIZE = 200
_CHUNK = 1 << 20
_WHITESPACE = " \t\r\n"


@dataclass
class ImportSummary:
    read: int = 0
    created: int = 0
    already_present: int = 0
    rejected: int = 0
    contacts: int = 0
    unrouted: int = 0
    rejects_path: Path | None = None
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class Record:
    number: int
    raw: bytes
    size: int


def _iter_json_lines(handle: IO[bytes]) -> Iterator[Record]:
    for number, line in enumerate(handle, start=1):
        stripped = line.strip()
        if stripped:
            yield Record(number=number, raw=stripped, size=len(line))


def _iter_json_array(handle: IO[bytes]) -> Iterator[Record]:
    """Stream the elements of a top-level JSON array, each as its exact source text."""
    decoder = json.JSONDecoder()
    skip = re.compile(r"[\s,]*")
    text, pos, number, eof = "", 0, 0, False

    def fill() -> bool:
        nonlocal text, pos, eof
        chunk = handle.read(_CHUNK)
        if not chunk:
            eof = True
            return False
        text, pos = text[pos:] + chunk.decode("utf-8"), 0
        return True

    fill()
    text = text.lstrip("\ufeff" + _WHITESPACE)
    if not text.startswith("["):
        raise ValueError("a JSON file must hold one array of notifications")
    pos = 1
    while True:
        pos = skip.match(text, pos).end()  # type: ignore[union-attr]
        if pos >= len(text):
            if fill():
                continue
            raise ValueError("the JSON array is not closed")
        if text[pos] == "]":
            return
        try:
            _, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            if not eof and fill():
                continue
            raise ValueError(f"element {number + 1} of the array is not valid JSON") from None
        if end >= len(text) and not eof and fill():
            continue  # a number or literal may go on in the next chunk: decode it again whole
        number += 1
        piece = text[pos:end].encode("utf-8")
        yield Record(number=number, raw=piece, size=len(piece))
        pos = end


def iter_records(path: Path, handle: IO[bytes]) -> Iterator[Record]:
    first = handle.read(1)
    while first and first in b" \t\r\n\xef\xbb\xbf":
        first = handle.read(1)
    handle.seek(0)
    if path.suffix == ".json" and first == b"[":
        return _iter_json_array(handle)
    if path.suffix == ".json":
        raw = handle.read().strip()
        return iter([Record(number=1, raw=raw, size=len(raw))] if raw else [])
    return _iter_json_lines(handle)


def notifications_import(
    *, path: Path, on_progress: Callable[[int], None] | None = None
) -> ImportSummary:
    """Import a file of notifications. `on_progress` receives the bytes read since its last call."""
    summary = ImportSummary(rejects_path=path.with_name(path.name + ".rejects.jsonl"))
    assert summary.rejects_path is not None
    with path.open("rb") as handle, summary.rejects_path.open("w", encoding="utf-8") as rejects:
        batch: list[Record] = []
        for record in iter_records(path, handle):
            batch.append(record)
            if len(batch) >= BATCH_SIZE:
                _import_batch(batch, summary, rejects, on_progress)
                batch = []
        if batch:
            _import_batch(batch, summary, rejects, on_progress)
    if summary.rejected == 0:
        summary.rejects_path.unlink()
        summary.rejects_path = None
    return summary


def _reject(summary: ImportSummary, rejects: IO[str], record: Record, errors: list[dict]) -> None:
    summary.rejected += 1
    for error in errors:
        summary.reasons[error["msg"]] = summary.reasons.get(error["msg"], 0) + 1
    try:
        original: object = json.loads(record.raw)
    except ValueError:
        original = record.raw.decode("utf-8", errors="replace")
    rejects.write(
        json.dumps(
            {"record": record.number, "errors": errors, "notification": original},
            ensure_ascii=False,
        )
        + "\n"
    )


def _import_batch(
    batch: list[Record],
    summary: ImportSummary,
    rejects: IO[str],
    on_progress: Callable[[int], None] | None,
) -> None:
    now = clock.now()
    with transaction.atomic():
        for record in batch:
            summary.read += 1
            try:
                with transaction.atomic():
                    receipt = notification_receive(raw=record.raw, channel=Channel.IMPORT, now=now)
            except InvalidNotification as exc:
                _reject(summary, rejects, record, exc.errors)
                continue
            except DomainError as exc:
                _reject(summary, rejects, record, [{"loc": ["body"], "msg": exc.message}])
                continue
            if receipt.created:
                summary.created += 1
                summary.contacts += len(receipt.contacts)
                summary.unrouted += sum(1 for c in receipt.contacts if c.local_authority_id is None)
            else:
                summary.already_present += 1
    if on_progress is not None:
        on_progress(sum(r.size for r in batch))
