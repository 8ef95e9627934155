"""Tamper evidence for the audit log: a hash chain over its events, built after the fact.

Writers are never serialised: each request inserts its events in its own transaction, as ever,
and no lock is held across them. The sealer (`audit_seal`, run by the worker every minute) takes
the committed events that no seal covers yet, lowest id first, and appends one `AuditSeal` for
each, in short transactions of its own:

    event_hash = sha256(canonical JSON of every stored field of the event)
    hash       = sha256(prev_hash + canonical JSON of {seq, sealed_at, event_hash})

Audit rows are never updated. The chain order (`seq`) is the order of sealing, not of ids: an
event is sealed once it is `settle` old, and one whose transaction committed late (a lower id
after higher ones were sealed) is sealed when it appears. Every event must be in the chain within
`max lag` of its time; `audit_verify` fails an event that is not, or that was sealed after events
dated more than `max lag` after it, which is how an event inserted afterwards with an old time
shows. (An event inserted with the current time cannot be told from a real one: the role that
writes audit events can write them.)

The chain proves that what it covers has not changed since it was sealed, unless the whole chain
after the change was recomputed. The sealer logs the head (seq and hash) each time it seals;
`audit_verify(anchor=...)` checks that a head recorded elsewhere is still in the chain.
"""

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, Max, OuterRef

from safehub.audit.models import AuditEvent, AuditSeal
from safehub.core import clock

log = logging.getLogger(__name__)

GENESIS = "0" * 64
# Every stored field of an event, as `values()` names it: what its hash covers. A field added to
# AuditEvent must be added here, or it goes unprotected (a test compares the two lists); events
# sealed before would then need the old list to verify, so add a version before that day.
EVENT_FIELDS = (
    "id",
    "at",
    "user_id",
    "api_client_id",
    "actor",
    "agency_id",
    "role",
    "action",
    "object_type",
    "object_id",
    "purpose",
    "request_id",
    "detail",
)
SEAL_FIELDS = ("seq", "event_id", "sealed_at", "prev_hash", "event_hash", "hash")
# pg_advisory_xact_lock key: two sealers never extend the chain at once (and never fork it).
SEAL_LOCK_KEY = 0x5AFE_A0D1
BATCH_SIZE = 5000
# What one run of the worker's sweep seals at most (well under a minute), so that a backlog (the
# first run on a large log) is worked off over a few sweeps without holding up the others.
RUN_LIMIT = 100_000
CHUNK_SIZE = 2000

Row = dict[str, Any]


def settle_delay() -> dt.timedelta:
    """How old an event must be before it is sealed: a transaction still open then, holding a
    lower id, has had time to commit, so that ids are sealed in order as a rule."""
    return dt.timedelta(seconds=getattr(settings, "AUDIT_SEAL_SETTLE_SECONDS", 10))


def max_lag() -> dt.timedelta:
    """How long after its time an event may wait to be in the chain."""
    return dt.timedelta(seconds=getattr(settings, "AUDIT_MAX_LAG_SECONDS", 3600))


# Hashing ----------------------------------------------------------------------------------------


def _canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _iso(at: dt.datetime) -> str:
    """2026-11-24T09:00:00.120000Z: UTC, always to the microsecond."""
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds").removesuffix("+00:00") + "Z"


def event_hash(row: Row) -> str:
    """The hash of an event's stored fields, as read back from the database (`EVENT_FIELDS`)."""
    return hashlib.sha256(_canonical({**row, "at": _iso(row["at"])})).hexdigest()


def seal_hash(*, prev_hash: str, seq: int, sealed_at: dt.datetime, event_hash: str) -> str:
    # The canonical JSON of {seq, sealed_at, event_hash}, written out: twice as fast.
    link = f'{{"event_hash":"{event_hash}","sealed_at":"{_iso(sealed_at)}","seq":{seq:d}}}'
    return hashlib.sha256((prev_hash + link).encode()).hexdigest()


# Sealing ----------------------------------------------------------------------------------------


def audit_seal(
    *,
    now: dt.datetime | None = None,
    limit: int | None = RUN_LIMIT,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Seal the committed events that are `settle_delay()` old and not sealed yet, lowest id
    first, `batch_size` to a transaction, until none is left or `limit` are sealed (None: no
    limit). Returns how many were sealed. Safe to run at any time, from any number of
    processes."""
    now = now or clock.now()
    sealed = 0
    after: int | None = None
    head: tuple[int, str] | None = None
    while limit is None or sealed < limit:
        size = batch_size if limit is None else min(batch_size, limit - sealed)
        count, head, after = _seal_batch(now=now, size=size, after=after)
        sealed += count
        if count < size:
            break
    if sealed and head is not None:
        # A record of the head outside the database, for `audit verify --anchor`.
        log.info("audit: sealed %d events; the head is seal %d %s", sealed, *head)
    return sealed


def _seal_batch(
    *, now: dt.datetime, size: int, after: int | None
) -> tuple[int, tuple[int, str], int]:
    """Seal up to `size` events with ids above `after` (the first batch of a run: above
    `_scan_floor`). Returns how many, the new head, and the last id sealed, which the next batch
    of the run goes on from (an event committed meanwhile below it waits for the next run)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])
        # On SQLite, the IMMEDIATE transaction holds the write lock already. Elsewhere, a second
        # sealer fails on the seq primary key and its batch rolls back: the chain never forks.
        head = AuditSeal.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev = head or (0, GENESIS)
        if after is None:
            after = _scan_floor(now)
        # "Not sealed", said of the same range of ids on both sides: else PostgreSQL's planner
        # hashes the whole seal table to find the few events above `after` without a seal.
        has_seal = AuditSeal.objects.filter(event_id=OuterRef("id"), event_id__gt=after)
        rows = (
            AuditEvent.objects.filter(~Exists(has_seal), id__gt=after, at__lt=now - settle_delay())
            .order_by("id")
            .values(*EVENT_FIELDS)[:size]
        )
        sealed_at = AuditSeal._meta.get_field("sealed_at").get_db_prep_save(now, connection)
        seals = []
        for row in rows:
            seq += 1
            digest = event_hash(row)
            link = seal_hash(prev_hash=prev, seq=seq, sealed_at=now, event_hash=digest)
            seals.append((seq, row["id"], sealed_at, prev, digest, link))
            prev = link
        if seals:
            # One prepared INSERT for the batch: a fifth of the time bulk_create takes.
            with connection.cursor() as cursor:
                cursor.executemany(_insert_sql(), seals)
            after = seals[-1][1]
    return len(seals), (seq, prev), after


def _insert_sql() -> str:
    quote = connection.ops.quote_name
    column = {f.attname: str(f.column) for f in AuditSeal._meta.concrete_fields}
    columns = ", ".join(quote(column[name]) for name in SEAL_FIELDS)
    marks = ", ".join(["%s"] * len(SEAL_FIELDS))
    return f"INSERT INTO {quote(AuditSeal._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608


def _scan_floor(now: dt.datetime) -> int:
    """The event id above which a run looks for events to seal, so that it reads the newest
    part of the log only, not all of it.

    Below the event of any seal made more than `max_lag()` ago, an event still unsealed was
    inserted before that seal was made, so it committed (or is still open) more than `max_lag()`
    after its time: verification fails it whether it is sealed or not, and the run skips it.
    Above that, a run looks for events that committed after higher ids were sealed, but only if
    there are any: when the events up to the highest id sealed are as many as their seals, every
    one of them is sealed, and two counts over index ranges are far cheaper than the search."""
    old = (
        AuditSeal.objects.filter(sealed_at__lt=now - max_lag())
        .order_by("-sealed_at", "-event_id")
        .values_list("event_id", flat=True)
        .first()
    ) or 0
    high = AuditSeal.objects.aggregate(high=Max("event_id"))["high"] or 0
    if high > old:
        events = AuditEvent.objects.filter(id__gt=old, id__lte=high).count()
        if AuditSeal.objects.filter(event_id__gt=old, event_id__lte=high).count() == events:
            return high
    return old


# Verifying --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One thing wrong: in words, with the seal and event it concerns (the event's stored fields
    when it still exists)."""

    problem: str
    seq: int | None = None
    event_id: int | None = None
    event: Row | None = None

    def describe_event(self) -> str:
        if self.event is None:
            return f"event {self.event_id}: not in the database"
        e = self.event
        return (
            f"event {e['id']} at {_iso(e['at'])} by {e['actor']}: "
            f"{e['action']} {e['object_type']} {e['object_id']}".rstrip()
        )


@dataclass
class VerifyResult:
    checked: int = 0  # seals walked, each the link of one event
    head: tuple[int, str] | None = None  # the last seal's seq and hash
    breaks: list[Finding] = field(default_factory=list)  # in chain order, the first few kept
    break_count: int = 0
    overdue: list[Finding] = field(default_factory=list)  # unsealed past max lag: the first few
    overdue_count: int = 0
    waiting: list[Finding] = field(default_factory=list)  # unsealed past the settle delay
    waiting_count: int = 0

    @property
    def ok(self) -> bool:
        return self.break_count == 0 and self.overdue_count == 0

    @property
    def first_break(self) -> Finding | None:
        return self.breaks[0] if self.breaks else None


def audit_verify(
    *,
    now: dt.datetime | None = None,
    anchor: tuple[int, str] | None = None,
    chunk_size: int = CHUNK_SIZE,
    keep: int = 5,
) -> VerifyResult:
    """Walk the chain in seq order, `chunk_size` seals at a time (flat memory on any size of
    log), recompute every hash, and find every broken link, the first named. Then find events
    that are not in the chain: those past `max_lag()` fail verification, the others (past the
    settle delay, not yet sealed) are a warning. `anchor`: a (seq, hash) recorded earlier, which
    must still be in the chain as it was."""
    now = now or clock.now()
    result = VerifyResult()
    prev_seq, prev_hash = 0, GENESIS
    newest: dt.datetime | None = None  # the latest time of the events sealed so far
    anchor_found = False
    lag = max_lag()
    for seal, event in _walk(chunk_size):
        seq, event_id = seal["seq"], seal["event_id"]
        problem = _check_link(seal, event, prev_seq, prev_hash, newest, lag)
        if anchor is not None and seq == anchor[0]:
            anchor_found = True
            if problem is None and seal["hash"] != anchor[1]:
                problem = f"seal {seq} is not the head recorded earlier (its hash differs)"
        if problem is not None:
            result.break_count += 1
            if len(result.breaks) < keep:
                result.breaks.append(Finding(problem, seq, event_id, event))
        if event is not None:
            time = min(event["at"], seal["sealed_at"])
            newest = time if newest is None else max(newest, time)
        result.checked += 1
        prev_seq, prev_hash = seq, seal["hash"]
    if prev_seq:
        result.head = (prev_seq, prev_hash)
    if anchor is not None and not anchor_found:
        result.break_count += 1
        result.breaks.append(
            Finding(
                f"the chain ends at seal {prev_seq}, before seal {anchor[0]} recorded earlier "
                "(seals were removed)",
                seq=anchor[0],
            )
        )
    unsealed = AuditEvent.objects.filter(seal__isnull=True, at__lt=now - settle_delay())
    overdue = unsealed.filter(at__lt=now - lag)
    result.overdue_count = overdue.count()
    result.overdue = [
        Finding(
            f"event {row['id']} is not sealed, {_age(now - row['at'])} after its time",
            None,
            row["id"],
            row,
        )
        for row in overdue.order_by("id").values(*EVENT_FIELDS)[:keep]
    ]
    result.waiting_count = unsealed.count() - result.overdue_count
    result.waiting = [
        Finding(f"event {row['id']} is not sealed yet", None, row["id"], row)
        for row in unsealed.filter(at__gte=now - lag).order_by("id").values(*EVENT_FIELDS)[:keep]
    ]
    return result


def _walk(chunk_size: int) -> Iterator[tuple[Row, Row | None]]:
    """Every seal in seq order, with its event (None if the event is gone), a chunk at a time."""
    last = 0
    while True:
        seals = list(
            AuditSeal.objects.filter(seq__gt=last).order_by("seq").values(*SEAL_FIELDS)[:chunk_size]
        )
        if not seals:
            return
        events = {
            row["id"]: row
            for row in AuditEvent.objects.filter(id__in=[s["event_id"] for s in seals]).values(
                *EVENT_FIELDS
            )
        }
        for seal in seals:
            yield seal, events.get(seal["event_id"])
        last = seals[-1]["seq"]


def _check_link(
    seal: Row,
    event: Row | None,
    prev_seq: int,
    prev_hash: str,
    newest: dt.datetime | None,
    lag: dt.timedelta,
) -> str | None:
    """What is wrong with this link of the chain, the first thing found, or None."""
    seq, event_id = seal["seq"], seal["event_id"]
    if seq != prev_seq + 1:
        return f"seq gap after {prev_seq} (the next seal is {seq})"
    if seal["prev_hash"] != prev_hash:
        if prev_seq == 0:
            return "seal 1 does not start the chain (prev_hash is not the genesis hash)"
        return f"seal {seq} does not follow seal {prev_seq} (prev_hash mismatch)"
    if event is None:
        return f"event {event_id} is missing (seal {seq} points to it)"
    if event_hash(event) != seal["event_hash"]:
        return f"event {event_id} was altered (its hash does not match)"
    expected = seal_hash(
        prev_hash=seal["prev_hash"],
        seq=seq,
        sealed_at=seal["sealed_at"],
        event_hash=seal["event_hash"],
    )
    if expected != seal["hash"]:
        return f"seal {seq} was altered (its hash does not match)"
    if newest is not None and event["at"] < newest - lag:
        return (
            f"event {event_id} was sealed late: it is dated {_iso(event['at'])}, after events "
            f"dated up to {_iso(newest)} were sealed (was it inserted afterwards?)"
        )
    return None


def _age(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} hours" if hours < 48 else f"{hours / 24:.0f} days"
