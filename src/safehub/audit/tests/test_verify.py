"""`audit_verify` walks the chain and names the first broken link, whatever was done to the log
by hand: an event edited or deleted, one inserted with an old time, a seal edited or deleted."""

import datetime as dt

import pytest

from safehub.audit.chain import audit_seal, audit_verify
from safehub.audit.models import AuditEvent, AuditSeal
from safehub.audit.tests.helpers import MINUTE, T0, by_hand, make_events

pytestmark = pytest.mark.django_db

NOW = T0 + 10 * MINUTE


@pytest.fixture
def sealed() -> list[AuditEvent]:
    """Ten events, sealed in three runs; the sixth is seal 6."""
    events = make_events(10)
    audit_seal(now=T0 + MINUTE, limit=4)
    audit_seal(now=T0 + 2 * MINUTE, limit=3)
    audit_seal(now=T0 + 3 * MINUTE)
    assert audit_verify(now=NOW).ok
    return events


def _first_break(**kwargs):
    result = audit_verify(now=NOW, chunk_size=3, **kwargs)
    assert not result.ok
    return result, result.first_break


def test_an_empty_log_passes():
    result = audit_verify(now=NOW)
    assert result.ok and result.checked == 0 and result.head is None


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("detail", '{"child": "Zoe", "fields": ["name", "dob"], "n": 5}'),
        ("actor", "Mallory"),
        ("object_id", "9999"),
        ("purpose", ""),
        ("at", None),  # a microsecond earlier: set below
    ],
)
def test_an_edited_event_is_named(sealed, column, value):
    event = sealed[5]
    if column == "at":
        value = event.at - dt.timedelta(microseconds=1)
    by_hand(f"UPDATE audit_auditevent SET {column} = %s WHERE id = %s", [value, event.pk])
    result, first = _first_break()
    assert first.problem == f"event {event.pk} was altered (its hash does not match)"
    assert (first.seq, first.event_id) == (6, event.pk)
    assert first.event["id"] == event.pk
    assert result.break_count == 1  # the links after it still hold


def test_a_deleted_event_is_named_with_the_seal_that_points_to_it(sealed, restore_deleted):
    event = sealed[5]
    restore_deleted(event.pk)
    assert by_hand("DELETE FROM audit_auditevent WHERE id = %s", [event.pk]) == 1
    _, first = _first_break()
    assert first.problem == f"event {event.pk} is missing (seal 6 points to it)"
    assert first.describe_event() == f"event {event.pk}: not in the database"


def test_an_event_inserted_afterwards_with_an_old_time_is_named(sealed):
    (forged,) = make_events(1, at=T0 - dt.timedelta(days=2))
    # Until the sealer runs, it is an event far past the time it should have been sealed by.
    result = audit_verify(now=NOW)
    assert not result.ok and result.break_count == 0
    assert [f.event_id for f in result.overdue] == [forged.pk]
    # Once sealed, it is an event sealed long after events much newer than it.
    audit_seal(now=NOW)
    _, first = _first_break()
    assert (first.seq, first.event_id) == (11, forged.pk)
    assert first.problem.startswith(f"event {forged.pk} was sealed late: it is dated 2026-11-22")


def test_events_sealed_later_than_their_neighbours_within_the_max_lag_pass(sealed):
    make_events(1, at=T0 - 30 * MINUTE)  # a long transaction, committed half an hour late
    audit_seal(now=NOW)
    assert audit_verify(now=NOW).ok


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("hash", "f" * 64, "seal 6 was altered (its hash does not match)"),
        ("sealed_at", T0, "seal 6 was altered (its hash does not match)"),
        ("prev_hash", "f" * 64, "seal 6 does not follow seal 5 (prev_hash mismatch)"),
    ],
)
def test_an_edited_seal_is_named(sealed, column, value, problem):
    by_hand(f"UPDATE audit_auditseal SET {column} = %s WHERE seq = 6", [value])
    _, first = _first_break()
    assert (first.seq, first.event_id, first.problem) == (6, sealed[5].pk, problem)


def test_an_event_edited_with_its_event_hash_recomputed_is_named_by_its_seal(sealed):
    from safehub.audit.chain import EVENT_FIELDS, event_hash

    event = sealed[5]
    by_hand("UPDATE audit_auditevent SET actor = 'Mallory' WHERE id = %s", [event.pk])
    row = AuditEvent.objects.filter(pk=event.pk).values(*EVENT_FIELDS).get()
    by_hand("UPDATE audit_auditseal SET event_hash = %s WHERE seq = 6", [event_hash(row)])
    _, first = _first_break()
    assert first.problem == "seal 6 was altered (its hash does not match)"


def test_a_deleted_seal_is_a_gap(sealed):
    by_hand("DELETE FROM audit_auditseal WHERE seq = 6")
    result, first = _first_break()
    assert first.problem == "seq gap after 5 (the next seal is 7)"
    assert first.seq == 7
    # Its event is unsealed now (a warning, as it is less than an hour old): the sealer chains
    # it again, and the gap stays.
    assert [f.event_id for f in result.waiting] == [sealed[5].pk]
    audit_seal(now=NOW)
    _, first = _first_break()
    assert first.problem == "seq gap after 5 (the next seal is 7)"


def test_a_chain_not_starting_at_the_genesis_is_named(sealed):
    by_hand("UPDATE audit_auditseal SET prev_hash = %s WHERE seq = 1", ["1" * 64])
    _, first = _first_break()
    assert first.problem == "seal 1 does not start the chain (prev_hash is not the genesis hash)"


def test_a_chain_recomputed_after_an_edit_is_caught_by_a_head_recorded_before(sealed):
    head = audit_verify(now=NOW).head
    assert head is not None and head[0] == 10
    # Someone alters event 3 and recomputes every seal from there on.
    by_hand("UPDATE audit_auditevent SET actor = 'Mallory' WHERE id = %s", [sealed[2].pk])
    by_hand("DELETE FROM audit_auditseal WHERE seq >= 3")
    audit_seal(now=NOW)
    assert audit_verify(now=NOW).ok  # the chain alone cannot tell
    _, first = _first_break(anchor=head)
    assert first.problem == "seal 10 is not the head recorded earlier (its hash differs)"


def test_seals_removed_from_the_end_are_caught_by_a_head_recorded_before(sealed):
    head = audit_verify(now=NOW).head
    by_hand("DELETE FROM audit_auditseal WHERE seq >= 9")
    _, first = _first_break(anchor=head)
    assert first.problem == (
        "the chain ends at seal 8, before seal 10 recorded earlier (seals were removed)"
    )


def test_every_broken_link_is_counted_and_the_first_few_kept(sealed):
    for event in sealed[2:9]:
        by_hand("UPDATE audit_auditevent SET actor = 'Mallory' WHERE id = %s", [event.pk])
    result, first = _first_break()
    assert result.break_count == 7 and first.seq == 3
    assert [f.seq for f in result.breaks] == [3, 4, 5, 6, 7]
    assert result.checked == 10


def test_unsealed_events_are_a_warning_until_the_max_lag(sealed):
    late = make_events(2, at=NOW - 5 * MINUTE)
    result = audit_verify(now=NOW)
    assert result.ok and result.waiting_count == 2
    assert [f.event_id for f in result.waiting] == [e.pk for e in late]
    result = audit_verify(now=NOW + dt.timedelta(hours=1))
    assert not result.ok and result.overdue_count == 2 and result.waiting_count == 0
    assert AuditSeal.objects.count() == 10
