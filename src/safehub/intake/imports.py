"""Bulk intake of notifications from a file: JSON Lines or one JSON array.

Records are read one at a time (memory stays bounded whatever the file size), go through exactly
the validation and the rules the API uses, and are stored and committed in batches:
`notifications_receive_batch` stores the same rows as `notification_receive`, with one write per
table per batch and the reference look-ups cached for the batch. A large file on PostgreSQL is
imported by several processes at once, with the same answers as one. A rejected record is
written whole, with every reason, to `FILE.rejects.jsonl`. Running the same file again stores
nothing twice: the natural key `(force_code, incident_reference)` makes every record idempotent.
"""

import codecs
import datetime as dt
import json
import multiprocessing
import os
import re
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction

from safehub.core import clock
from safehub.core.errors import DomainError
from safehub.core.request_context import get_request_id, set_request_id
from safehub.intake.models import Channel
from safehub.intake.services import InvalidNotification, notifications_receive_batch

BATCH_SIZE = 200
MAX_WORKERS = 4
# Below this (about a thousand notifications), one process is as quick.
PARALLEL_MIN_BYTES = 2 << 20
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
    # A character may straddle two reads: decode incrementally.
    utf8 = codecs.getincrementaldecoder("utf-8")()

    def fill() -> bool:
        nonlocal text, pos, eof
        chunk = handle.read(_CHUNK)
        if not chunk:
            eof = True
            utf8.decode(b"", final=True)
            return False
        text, pos = text[pos:] + utf8.decode(chunk), 0
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
    *,
    path: Path,
    on_progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> ImportSummary:
    """Import a file of notifications. `on_progress` receives the bytes read since its last call.

    A large file on PostgreSQL is imported by `workers` processes at once (default: one per CPU,
    at most 4), each committing whole batches; the answers are tallied, and the rejects written,
    in file order all the same. A batch holding a natural key that a batch still in progress also
    holds waits for it, so a key sent twice is answered exactly as one process would answer it."""
    summary = ImportSummary(rejects_path=path.with_name(path.name + ".rejects.jsonl"))
    assert summary.rejects_path is not None
    if workers is None:
        workers = min(MAX_WORKERS, os.cpu_count() or 1)
    parallel = (
        workers > 1
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block  # a caller's transaction is not visible to workers
        and path.stat().st_size >= PARALLEL_MIN_BYTES
    )
    with path.open("rb") as handle, summary.rejects_path.open("w", encoding="utf-8") as rejects:
        batches = _batches(iter_records(path, handle))
        if parallel:
            _import_parallel(batches, workers, summary, rejects, on_progress)
        else:
            for batch in batches:
                outcomes = _import_batch([r.raw for r in batch], clock.now())
                _tally(batch, outcomes, summary, rejects, on_progress)
    if summary.rejected == 0:
        summary.rejects_path.unlink()
        summary.rejects_path = None
    return summary


def _batches(records: Iterator[Record]) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


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


# What became of one record, small enough to come back from a worker process:
# ("created", contacts, unrouted contacts) | ("present",) | ("rejected", errors)
Outcome = tuple


def _import_batch(
    raws: list[bytes], now: dt.datetime, worker: tuple[dict, str] | None = None
) -> list[Outcome]:
    """Store one batch in one transaction; what became of each record, in order. In a worker
    process, `worker` is the importing process's database settings (a test database under pytest)
    and request id, so that every audit event of one import carries the same one."""
    if worker is not None:
        database, request_id = worker
        settings_dict = connections[DEFAULT_DB_ALIAS].settings_dict
        if any(settings_dict.get(k) != v for k, v in database.items()):
            connections[DEFAULT_DB_ALIAS].close()
            settings_dict.update(database)
        set_request_id(request_id)
    with transaction.atomic():
        answers = notifications_receive_batch(raws, channel=Channel.IMPORT, now=now)
    outcomes: list[Outcome] = []
    for answer in answers:
        if isinstance(answer, InvalidNotification):
            outcomes.append(("rejected", answer.errors))
        elif isinstance(answer, DomainError):
            outcomes.append(("rejected", [{"loc": ["body"], "msg": answer.message}]))
        elif answer.created:
            unrouted = sum(1 for c in answer.contacts if c.local_authority_id is None)
            outcomes.append(("created", len(answer.contacts), unrouted))
        else:
            outcomes.append(("present",))
    return outcomes


def _tally(
    batch: list[Record],
    outcomes: list[Outcome],
    summary: ImportSummary,
    rejects: IO[str],
    on_progress: Callable[[int], None] | None,
) -> None:
    for record, outcome in zip(batch, outcomes, strict=True):
        summary.read += 1
        if outcome[0] == "rejected":
            _reject(summary, rejects, record, outcome[1])
        elif outcome[0] == "created":
            summary.created += 1
            summary.contacts += outcome[1]
            summary.unrouted += outcome[2]
        else:
            summary.already_present += 1
    if on_progress is not None:
        on_progress(sum(r.size for r in batch))


def _natural_keys(batch: list[Record]) -> set[tuple[str, str]]:
    """The `(force_code, incident_reference)` of each record that has one (a record without one
    is rejected, and cannot collide)."""
    keys = set()
    for record in batch:
        try:
            body = json.loads(record.raw)
            key = (body["force_code"], body["incident_reference"])
        except (ValueError, TypeError, KeyError):
            continue
        if isinstance(key[0], str) and isinstance(key[1], str):
            keys.add(key)
    return keys


def _import_parallel(
    batches: Iterator[list[Record]],
    workers: int,
    summary: ImportSummary,
    rejects: IO[str],
    on_progress: Callable[[int], None] | None,
) -> None:
    pending: deque[tuple[list[Record], Future, set[tuple[str, str]]]] = deque()

    def finish_oldest() -> None:
        batch, future, _ = pending.popleft()
        _tally(batch, future.result(), summary, rejects, on_progress)

    worker = (dict(connection.settings_dict), get_request_id())
    # Forked, the workers start at once with Django loaded; no connection may cross the fork.
    connections.close_all()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
    try:
        for batch in batches:
            keys = _natural_keys(batch)
            # Keep a few batches queued per worker, and never two holding the same key at once.
            while pending and (
                len(pending) >= 2 * workers or any(keys & held for _, _, held in pending)
            ):
                finish_oldest()
            raws = [record.raw for record in batch]
            pending.append((batch, pool.submit(_import_batch, raws, clock.now(), worker), keys))
        while pending:
            finish_oldest()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
