"""The sealer chains committed events after the fact, in batches, never forking the chain and
never touching an audit row."""

import datetime as dt
import hashlib
import itertools

import pytest

from safehub.audit.chain import (
    EVENT_FIELDS,
    GENESIS,
    audit_seal,
    audit_verify,
    event_hash,
    seal_hash,
)
from safehub.audit.models import AuditEvent, AuditSeal
from safehub.audit.tests.helpers import MINUTE, T0, insert_many_events, make_events

pytestmark = pytest.mark.django_db


def test_the_hash_covers_every_stored_field_of_an_event():
    stored = [f.attname for f in AuditEvent._meta.concrete_fields]
    assert sorted(stored) == sorted(EVENT_FIELDS)


def test_the_canonical_form_does_not_change():
    # Every chain ever sealed depends on these bytes: a change here breaks them all.
    row = {
        "id": 7,
        "at": dt.datetime(2026, 11, 24, 9, 0, 0, 120000, tzinfo=dt.UTC),
        "user_id": 3,
        "api_client_id": None,
        "actor": "Zoë Ng",
        "agency_id": 12,
        "role": "hub_manager",
        "action": "disclose",
        "object_type": "encompass.encompassnotice",
        "object_id": "42",
        "purpose": "Operation Encompass",
        "request_id": "abc",
        "detail": {"b": [1, 2.5, None], "a": "ü"},
    }
    assert event_hash(row) == _sha256(
        '{"action":"disclose","actor":"Zoë Ng","agency_id":12,"api_client_id":null,'
        '"at":"2026-11-24T09:00:00.120000Z","detail":{"a":"ü","b":[1,2.5,null]},"id":7,'
        '"object_id":"42","object_type":"encompass.encompassnotice",'
        '"purpose":"Operation Encompass","request_id":"abc","role":"hub_manager","user_id":3}'
    )
    assert event_hash(row) == "69028236f917899ba7ecd4a7e18f4d41b68ed78dd2a035321fa4a5bb33786484"
    link = seal_hash(prev_hash=GENESIS, seq=1, sealed_at=row["at"], event_hash="e" * 64)
    assert link == _sha256(
        GENESIS + '{"event_hash":"' + "e" * 64 + '","sealed_at":"2026-11-24T09:00:00.120000Z",'
        '"seq":1}'
    )


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_events_sealed_in_batches_form_one_unbroken_chain():
    events = make_events(25)
    assert audit_seal(now=T0 + 10 * MINUTE, batch_size=4) == 25
    seals = list(AuditSeal.objects.order_by("seq"))
    assert [s.seq for s in seals] == list(range(1, 26))
    assert [s.event_id for s in seals] == [e.pk for e in events]
    assert seals[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(seals))
    result = audit_verify(now=T0 + 10 * MINUTE, chunk_size=7)
    assert result.ok and result.checked == 25 and result.head == (25, seals[-1].hash)


def test_runs_one_after_another_extend_the_same_chain():
    make_events(3)
    audit_seal(now=T0 + MINUTE)
    make_events(2, at=T0 + 2 * MINUTE)
    assert audit_seal(now=T0 + 3 * MINUTE) == 2
    assert list(AuditSeal.objects.values_list("seq", flat=True)) == [1, 2, 3, 4, 5]
    assert audit_verify(now=T0 + 3 * MINUTE).ok


def test_sealing_again_changes_nothing():
    make_events(5)
    audit_seal(now=T0 + MINUTE)
    before = list(AuditSeal.objects.values())
    assert audit_seal(now=T0 + MINUTE) == 0
    assert audit_seal(now=T0 + 2 * MINUTE) == 0
    assert list(AuditSeal.objects.values()) == before


def test_an_event_younger_than_the_settle_delay_waits(settings):
    settings.AUDIT_SEAL_SETTLE_SECONDS = 10
    old, _young = make_events(2, step=dt.timedelta(seconds=5))
    now = T0 + dt.timedelta(seconds=12)  # old is 12 s old, young 7 s
    assert audit_seal(now=now) == 1
    assert AuditSeal.objects.get().event_id == old.pk
    result = audit_verify(now=now)
    assert result.ok and result.waiting_count == 0  # young is not due yet: no warning either
    assert audit_seal(now=now + dt.timedelta(seconds=5)) == 1


def test_an_event_committed_after_higher_ids_were_sealed_is_sealed_when_it_appears():
    # Two requests: the one that took id 11 commits after id 12 has been sealed.
    AuditEvent.objects.bulk_create([_event(10, T0), _event(12, T0 + dt.timedelta(seconds=1))])
    audit_seal(now=T0 + MINUTE)
    AuditEvent.objects.bulk_create([_event(11, T0 + dt.timedelta(milliseconds=500))])
    assert audit_seal(now=T0 + 2 * MINUTE) == 1
    assert list(AuditSeal.objects.values_list("seq", "event_id")) == [(1, 10), (2, 12), (3, 11)]
    assert audit_verify(now=T0 + 2 * MINUTE).ok


def test_a_limit_stops_a_run_and_the_next_run_goes_on():
    make_events(10)
    assert audit_seal(now=T0 + MINUTE, limit=4, batch_size=3) == 4
    assert audit_seal(now=T0 + MINUTE) == 6
    assert audit_verify(now=T0 + MINUTE).checked == 10


def test_an_event_whose_transaction_stayed_open_past_the_max_lag_is_not_sealed_but_named():
    AuditEvent.objects.bulk_create([_event(100, T0), _event(101, T0)])
    audit_seal(now=T0 + MINUTE)
    # Id 50 was taken before 100 and 101, and its transaction committed two hours later.
    AuditEvent.objects.bulk_create([_event(50, T0 - MINUTE)])
    now = T0 + dt.timedelta(hours=2)
    assert audit_seal(now=now) == 0  # the sealer reads only the last hour or so of the log
    result = audit_verify(now=now)
    assert not result.ok and result.break_count == 0
    assert result.overdue_count == 1 and result.overdue[0].event_id == 50


def test_the_sweep_runs_the_sealer(settings):
    from safehub.core.outbox import sweep

    settings.SAFEHUB_SWEEPS = ["safehub.audit.chain.audit_seal"]
    make_events(3, at=T0 - 10 * MINUTE)
    assert sweep.call() == {"safehub.audit.chain.audit_seal": "3"}


def test_sealing_20000_events_takes_seconds_not_minutes():
    import time

    insert_many_events(20_000)
    started = time.perf_counter()
    assert audit_seal(now=T0 + 10 * MINUTE) == 20_000
    sealed = time.perf_counter()
    result = audit_verify(now=T0 + 10 * MINUTE)
    assert result.ok and result.checked == 20_000
    assert sealed - started < 5 and time.perf_counter() - sealed < 5


def _event(pk: int, at: dt.datetime) -> AuditEvent:
    return AuditEvent(
        pk=pk, at=at, actor="Bob", action="view", object_type="t", object_id=str(pk), request_id="r"
    )
