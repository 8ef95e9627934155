"""Clerical review, merge and unmerge (safehub.people.review): what each stores, what it refuses
(naming the field, writing nothing), and that a merge undone leaves the index exactly as it was.

Alice is a social worker in Wirral's hub, Mary its manager; Percy a police officer in the hub,
who decides nothing in the person index."""

import datetime as dt

import pytest

from safehub.audit.models import AuditEvent
from safehub.core import clock
from safehub.core.errors import Conflict, DomainError, PermissionDenied
from safehub.people.models import LinkMethod, LinkReview, Merge, Person, ReviewStatus, SourceRecord
from safehub.people.review import person_merge, person_unmerge, review_keep_apart, review_link
from safehub.people.selectors import kept_apart, kept_apart_people
from safehub.people.tests.review_factory import (
    EVIDENCE,
    make_person,
    make_record,
    make_relationship,
    make_review,
    snapshot,
)

T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now():
    with clock.frozen(T0):
        yield


def _refused(exc: type[Exception], field: str, act) -> str:
    """Run `act`, which must raise `exc` naming `field`, and leave the index untouched."""
    before = snapshot()
    events = AuditEvent.objects.count()
    with pytest.raises(exc) as raised:
        act()
    assert raised.value.message.startswith(f"{field}: "), raised.value.message
    assert snapshot() == before
    assert AuditEvent.objects.count() == events
    return raised.value.message


@pytest.fixture
def amy():
    """Amy as the index knows her: two records (a police notice's child, the school's roll)."""
    person = make_person()
    make_record(person, source="LA344", source_ref="CSC-1")
    make_record(person, source="URN900001", source_ref="ROLL-7", family_name="Smith")
    return person


# --- Link -------------------------------------------------------------------------------------


def test_linking_moves_the_record_to_the_candidate_with_the_reviews_evidence(alice, amy):
    record = make_record(family_name="Exampel", postcode="CH62 3AA")
    old = record.person
    review = make_review(record, amy, probability=0.83)
    other_candidate = make_person()
    other = make_review(record, other_candidate, probability=0.71)

    review_link(review=review, by=alice, reason="Same date of birth and school; typo in surname.")

    record.refresh_from_db()
    assert record.person == amy
    assert record.link_method == LinkMethod.REVIEW
    assert record.match_probability == 0.83
    assert record.match_evidence == EVIDENCE
    assert record.model_version == 3
    assert (record.linked_by, record.linked_at) == (alice, T0)
    review.refresh_from_db()
    assert (review.status, review.decided_by, review.decided_at) == (ReviewStatus.LINKED, alice, T0)
    assert review.reason == "Same date of birth and school; typo in surname."
    other.refresh_from_db()
    assert other.status == ReviewStatus.SUPERSEDED
    # The person intake made for the record is left with none: merged into Amy, undoably.
    old.refresh_from_db()
    assert old.merged_into == amy
    merge = Merge.objects.get(merged=old)
    assert merge.kept == amy and [m["id"] for m in merge.records] == [str(record.pk)]
    event = AuditEvent.objects.get(object_type="people.linkreview", object_id=str(review.pk))
    assert event.detail["decision"] == "linked"
    assert event.detail["to_person"] == str(amy.pk)
    assert event.detail["superseded"] == [other.pk]


def test_a_link_that_emptied_a_person_is_undone_like_a_merge(alice, mary, amy):
    record = make_record(family_name="Exampel")
    old = record.person
    review = make_review(record, amy)
    before = snapshot()
    review_link(review=review, by=alice, reason="Same child.")
    person_unmerge(merge=Merge.objects.get(merged=old), by=mary, reason="Twins, it turns out.")
    after = snapshot()
    assert after["records"] == before["records"]
    assert after["people"] == before["people"]


def test_linking_one_of_several_records_moves_it_and_what_its_source_said(alice, amy):
    """The old person keeps their other records; the relationships the moved record's source
    stated go with it, the others stay."""
    old = make_person()
    record = make_record(old, source="LA344", source_ref="CSC-9")
    kept_record = make_record(old, source="URN900001", source_ref="ROLL-9")
    mother = make_person()
    make_record(mother, given_names="Jane", dob="1990-01-01")
    said_by_it = make_relationship(mother, old, "parent", record)
    said_by_other = make_relationship(mother, old, "parent", kept_record)
    review = make_review(record, amy)

    review_link(review=review, by=alice, reason="The council's record is Amy's.")

    record.refresh_from_db()
    assert record.person == amy
    old.refresh_from_db()
    assert old.merged_into is None
    assert list(old.records.all()) == [kept_record]
    said_by_it.refresh_from_db()
    said_by_other.refresh_from_db()
    assert said_by_it.to_person == amy
    assert said_by_other.to_person == old
    assert not Merge.objects.exists()


def test_linking_follows_a_candidate_merged_since_the_review_opened(alice, mary, amy):
    record = make_record()
    duplicate = make_person()
    make_record(duplicate, source_ref="DUP")
    review = make_review(record, duplicate)
    person_merge(kept=amy, merged=duplicate, by=mary, reason="The same child twice.")

    review_link(review=review, by=alice, reason="Same child.")

    record.refresh_from_db()
    assert record.person == amy


def test_linking_a_record_already_the_candidates_changes_no_record(alice, amy):
    record = make_record(amy, source_ref="AGAIN")
    review = make_review(record, amy)
    before = snapshot()["records"]
    review_link(review=review, by=alice, reason="Already hers.")
    assert snapshot()["records"] == before
    review.refresh_from_db()
    assert review.status == ReviewStatus.LINKED


def test_a_link_needs_a_reason(alice, amy):
    review = make_review(make_record(), amy)
    _refused(DomainError, "reason", lambda: review_link(review=review, by=alice, reason="  "))


def test_a_link_needs_person_review(percy, amy):
    review = make_review(make_record(), amy)
    before = snapshot()
    with pytest.raises(PermissionDenied):
        review_link(review=review, by=percy, reason="Same child.")
    assert snapshot() == before


def test_a_decided_review_cannot_be_decided_the_other_way(alice, amy):
    review = make_review(make_record(), amy)
    review_keep_apart(review=review, by=alice, reason="Different school, different mother.")
    message = _refused(
        Conflict, "status", lambda: review_link(review=review, by=alice, reason="Same.")
    )
    assert "kept apart" in message and alice.display_name in message
    # The same decision again is a no-op.
    before = snapshot()
    review_keep_apart(review=review, by=alice, reason="Again.")
    assert snapshot() == before


def test_a_superseded_review_cannot_be_linked(alice, amy):
    record = make_record()
    first, second = make_review(record, amy), make_review(record, make_person())
    review_link(review=first, by=alice, reason="Amy.")
    _refused(Conflict, "status", lambda: review_link(review=second, by=alice, reason="Other."))


def test_a_link_is_refused_when_the_records_source_says_they_are_two_people(alice, amy):
    """The notice that named the record says its person is Amy's sibling: not Amy."""
    record = make_record(given_names="Leo")
    make_relationship(record.person, amy, "sibling", record)
    review = make_review(record, amy)
    message = _refused(
        DomainError, "record", lambda: review_link(review=review, by=alice, reason="Same.")
    )
    assert "sibling" in message


# --- Keep apart -------------------------------------------------------------------------------


def test_keeping_apart_records_the_decision_and_the_pair_is_not_proposed_again(alice, amy):
    record = make_record(given_names="Aimee")
    review = make_review(record, amy)
    assert not kept_apart(record.pk, amy.pk)

    review_keep_apart(review=review, by=alice, reason="Different mother and school.")

    review.refresh_from_db()
    assert (review.status, review.decided_by, review.reason) == (
        ReviewStatus.KEPT_APART,
        alice,
        "Different mother and school.",
    )
    assert record.person_id != amy.pk  # nothing moved
    assert kept_apart(record.pk, amy.pk)
    assert not kept_apart(record.pk, make_person().pk)
    assert kept_apart_people(record.pk) == {amy.pk}
    event = AuditEvent.objects.get(object_type="people.linkreview", object_id=str(review.pk))
    assert event.detail["decision"] == "kept_apart"


def test_what_is_kept_apart_from_a_person_is_kept_apart_from_who_they_are_merged_into(
    alice, mary, amy
):
    record = make_record(given_names="Aimee")
    duplicate = make_person()
    make_record(duplicate, source_ref="DUP")
    review_keep_apart(review=make_review(record, duplicate), by=alice, reason="Not her.")
    merge = person_merge(kept=amy, merged=duplicate, by=mary, reason="One child.")
    assert kept_apart(record.pk, amy.pk)
    assert kept_apart_people(record.pk) == {duplicate.pk, amy.pk}
    person_unmerge(merge=merge, by=mary, reason="Two children after all.")
    assert not kept_apart(record.pk, amy.pk)


def test_keeping_apart_needs_a_reason_and_the_permission(alice, percy, amy):
    review = make_review(make_record(), amy)
    _refused(DomainError, "reason", lambda: review_keep_apart(review=review, by=alice, reason=""))
    with pytest.raises(PermissionDenied):
        review_keep_apart(review=review, by=percy, reason="Not her.")
    review.refresh_from_db()
    assert review.status == ReviewStatus.OPEN


# --- Merge ------------------------------------------------------------------------------------


def test_a_merge_moves_every_record_and_relationship_and_says_what_moved(mary, amy):
    duplicate = make_person()
    moved = [make_record(duplicate, source_ref=f"D{n}", probability=0.97) for n in range(2)]
    mother = make_person()
    make_record(mother, given_names="Jane", dob="1990-01-01", source_ref="MUM")
    parent = make_relationship(mother, duplicate, "parent", moved[0])
    untouched = make_relationship(mother, amy, "parent", amy.records.first())

    merge = person_merge(kept=amy, merged=duplicate, by=mary, reason="The same child twice.")

    for record in moved:
        record.refresh_from_db()
        assert record.person == amy
        assert record.link_method == LinkMethod.MERGE
        assert (record.linked_by, record.linked_at) == (mary, T0)
        assert record.match_probability is None
    duplicate.refresh_from_db()
    assert duplicate.merged_into == amy
    parent.refresh_from_db()
    assert parent.to_person == amy
    assert {m["id"] for m in merge.records} == {str(r.pk) for r in moved}
    assert merge.relationships == [{"id": parent.pk, "from": False, "to": True}]
    assert all(m["before"]["match_probability"] == 0.97 for m in merge.records)
    assert untouched.pk not in [r["id"] for r in merge.relationships]
    event = AuditEvent.objects.get(object_type="people.merge", object_id=str(merge.pk))
    assert event.detail["act"] == "merge" and event.action == "create"


def test_a_person_cannot_be_merged_into_themselves(mary, amy):
    _refused(DomainError, "merged", lambda: person_merge(kept=amy, merged=amy, by=mary, reason="x"))


def test_a_person_already_merged_cannot_be_merged_again(mary, amy):
    duplicate, third = make_person(), make_person()
    person_merge(kept=amy, merged=duplicate, by=mary, reason="One child.")
    message = _refused(
        Conflict, "merged", lambda: person_merge(kept=third, merged=duplicate, by=mary, reason="x")
    )
    assert amy.reference in message


def test_nobody_is_merged_into_a_merged_person(mary, amy):
    duplicate, third = make_person(), make_person()
    person_merge(kept=amy, merged=duplicate, by=mary, reason="One child.")
    message = _refused(
        Conflict, "kept", lambda: person_merge(kept=duplicate, merged=third, by=mary, reason="x")
    )
    assert amy.reference in message


def test_merges_do_not_chain(mary, amy):
    """Amy holds a merged duplicate; when Amy is merged into another person, the duplicate is
    merged into that person directly. Undoing Amy's merge gives the duplicate back to her; the
    duplicate's own merge can be undone only after that."""
    duplicate, other = make_person(), make_person()
    make_record(duplicate, source_ref="DUP")
    first = person_merge(kept=amy, merged=duplicate, by=mary, reason="One child.")
    second = person_merge(kept=other, merged=amy, by=mary, reason="One child again.")
    duplicate.refresh_from_db()
    assert duplicate.merged_into == other
    message = _refused(
        Conflict, "kept", lambda: person_unmerge(merge=first, by=mary, reason="Undo.")
    )
    assert other.reference in message
    person_unmerge(merge=second, by=mary, reason="Two children.")
    duplicate.refresh_from_db()
    assert duplicate.merged_into == amy
    person_unmerge(merge=first, by=mary, reason="Three children.")
    duplicate.refresh_from_db()
    assert duplicate.merged_into is None
    assert duplicate.records.get().source_ref == "DUP"


def test_two_people_a_source_relates_are_not_merged(mary, amy):
    leo = make_person()
    record = make_record(leo, given_names="Leo", source_ref="LEO")
    make_relationship(leo, amy, "sibling", record)
    _refused(DomainError, "merged", lambda: person_merge(kept=amy, merged=leo, by=mary, reason="x"))


def test_a_merge_needs_a_reason_and_a_manager(alice, mary, amy):
    duplicate = make_person()
    make_record(duplicate, source_ref="DUP")
    _refused(
        DomainError, "reason", lambda: person_merge(kept=amy, merged=duplicate, by=mary, reason="")
    )
    before = snapshot()
    with pytest.raises(PermissionDenied):
        person_merge(kept=amy, merged=duplicate, by=alice, reason="One child.")
    assert snapshot() == before


# --- Unmerge ----------------------------------------------------------------------------------


def test_merge_then_unmerge_restores_exactly_the_records_and_links_there_were(alice, mary, amy):
    """The issue's "done when": a full snapshot of the index (every record's person and link
    fields, every relationship, every person's merge) before the merge equals the one after the
    unmerge; the merge and the unmerge are both in the audit log."""
    # Amy's duplicate: an auto-linked police record with its evidence, a reviewed one, and a
    # household: her mother (a parent of the duplicate, stated by the notice) and her brother.
    duplicate = make_person()
    auto = make_record(
        duplicate,
        source_ref="N1",
        link_method=LinkMethod.AUTO,
        probability=0.991,
        evidence=EVIDENCE,
    )
    reviewed = make_record(make_person(), source_ref="N2")
    review_link(review=make_review(reviewed, duplicate), by=alice, reason="Same child.")
    mother, brother = make_person(), make_person()
    mum = make_record(mother, given_names="Jane", dob="1990-01-01", source_ref="M1")
    leo = make_record(brother, given_names="Leo", dob="2019-02-02", source_ref="L1")
    make_relationship(mother, duplicate, "parent", mum)
    make_relationship(duplicate, brother, "sibling", leo)
    make_relationship(mother, amy, "parent", amy.records.first())
    before = snapshot()

    with clock.frozen(T0 + dt.timedelta(hours=1)):
        merge = person_merge(kept=amy, merged=duplicate, by=mary, reason="One child.")
    middle = snapshot()
    assert middle != before
    assert all(middle["records"][str(r.pk)]["person_id"] == amy.pk for r in (auto, reviewed))
    with clock.frozen(T0 + dt.timedelta(hours=2)):
        person_unmerge(merge=merge, by=mary, reason="Two children: twins.")

    after = snapshot()
    assert after["records"] == before["records"]
    assert after["relationships"] == before["relationships"]
    assert after["people"] == before["people"]
    merge.refresh_from_db()
    assert (merge.undone_by, merge.undo_reason) == (mary, "Two children: twins.")
    assert merge.undone_at == T0 + dt.timedelta(hours=2)
    events = list(
        AuditEvent.objects.filter(object_type="people.merge", object_id=str(merge.pk))
        .order_by("at")
        .values_list("action", "user__username", "detail__act")
    )
    assert events == [("create", "mary", "merge"), ("update", "mary", "unmerge")]


def test_an_unmerge_is_refused_when_a_record_moved_since_and_says_which(alice, mary, amy):
    duplicate = make_person()
    record = make_record(duplicate, source_ref="N1")
    make_record(duplicate, source_ref="N2")
    merge = person_merge(kept=amy, merged=duplicate, by=mary, reason="One child.")
    elsewhere = make_person()
    make_record(elsewhere, source_ref="E1")
    # A later review moves one of the merged records on.
    review_link(review=make_review(record, elsewhere), by=alice, reason="It is the other child.")
    message = _refused(
        Conflict, "records", lambda: person_unmerge(merge=merge, by=mary, reason="Undo.")
    )
    assert str(record) in message and elsewhere.reference in message
    merge.refresh_from_db()
    assert merge.undone_at is None


def test_an_unmerge_is_refused_when_a_relationship_changed_since(mary, amy):
    duplicate, mother = make_person(), make_person()
    record = make_record(duplicate, source_ref="N1")
    rel = make_relationship(mother, duplicate, "parent", record)
    merge = person_merge(kept=amy, merged=duplicate, by=mary, reason="One child.")
    gone = rel.pk
    rel.delete()
    message = _refused(
        Conflict, "records", lambda: person_unmerge(merge=merge, by=mary, reason="Undo.")
    )
    assert f"relationship {gone} no longer exists" in message


def test_a_merge_is_undone_once(alice, mary, amy):
    duplicate = make_person()
    make_record(duplicate, source_ref="N1")
    merge = person_merge(kept=amy, merged=duplicate, by=mary, reason="One child.")
    with pytest.raises(PermissionDenied):
        person_unmerge(merge=merge, by=alice, reason="Undo.")
    _refused(DomainError, "reason", lambda: person_unmerge(merge=merge, by=mary, reason=""))
    person_unmerge(merge=merge, by=mary, reason="Two children.")
    message = _refused(
        Conflict, "merge", lambda: person_unmerge(merge=merge, by=mary, reason="Again.")
    )
    assert "already undone" in message


def test_nothing_is_half_written_when_a_refusal_comes_late(mary, amy):
    """A merge whose relationships would clash is refused after the records were read: no record
    has moved, no person is marked merged, no Merge row is left."""
    duplicate = make_person()
    record = make_record(duplicate, source_ref="N1")
    make_record(duplicate, source_ref="N2")
    mother = make_person()
    make_relationship(mother, duplicate, "parent", record)
    make_relationship(mother, amy, "parent", record)  # the same statement, about Amy
    _refused(
        DomainError, "merged", lambda: person_merge(kept=amy, merged=duplicate, by=mary, reason="x")
    )
    assert not Merge.objects.exists()
    assert Person.objects.get(pk=duplicate.pk).merged_into is None
    assert set(SourceRecord.objects.filter(person=duplicate).values_list("source_ref", flat=True))
    assert LinkReview.objects.count() == 0
