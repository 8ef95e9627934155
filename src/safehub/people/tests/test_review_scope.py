"""Who sees which part of the person index (safehub.people.selectors): a council's hub staff see
the records their council has heard of, the people holding them, and the reviews and merges of
those; nobody else sees any.

The spec's examples: the high-risk notice (Amy and Leo, Wirral) and the two-authorities notice
(Ravi in Wirral, Maya in Liverpool, from one incident). Alice works in Wirral's hub, Bob in
Liverpool's; Percy is a police officer in the hub and Harriet a health practitioner."""

import pytest

from safehub.core.errors import NotFound
from safehub.core.testing import example_bytes
from safehub.people.models import SourceKind
from safehub.people.review import person_merge
from safehub.people.selectors import (
    merges_in_scope,
    person_find,
    person_get,
    persons_in_scope,
    records_in_scope,
    review_get,
    review_queue,
    reviews_in_scope,
)
from safehub.people.tests.review_factory import make_person, make_record, make_review

pytestmark = pytest.mark.django_db


@pytest.fixture
def notices(reference):
    from safehub.intake.models import Channel
    from safehub.intake.services import notification_receive

    return {
        name: notification_receive(
            raw=example_bytes(f"notification-{name}.json"), channel=Channel.IMPORT
        ).notification
        for name in ("high-risk", "two-authorities")
    }


def _from(notification, child_ref: str = "", **fields):
    contact = notification.contacts.get(child_ref=child_ref) if child_ref else None
    return make_record(
        source_kind=SourceKind.NOTIFICATION,
        source=notification.force_code,
        notification=notification,
        contact=contact,
        **fields,
    )


def test_a_notifications_records_are_seen_by_the_councils_its_children_are_routed_to(
    alice, bob, notices
):
    amy = _from(notices["high-risk"], "C1")
    jane = _from(notices["high-risk"], given_names="Jane", role="victim")  # an adult: no contact
    ravi = _from(notices["two-authorities"], "C1", given_names="Ravi")
    mine = [amy.pk, jane.pk, ravi.pk]  # (intake makes records of its own: not these tests')
    assert set(records_in_scope(user=alice).filter(pk__in=mine)) == {amy, jane, ravi}
    # The two-authorities incident also has a child in Liverpool: Bob sees its records too.
    assert set(records_in_scope(user=bob).filter(pk__in=mine)) == {ravi}


def test_a_manual_contacts_record_is_its_councils(alice, bob, notices):
    contact = notices["high-risk"].contacts.get(child_ref="C2")
    record = make_record(source_kind=SourceKind.CONTACT, source="manual", contact=contact)
    assert record in records_in_scope(user=alice)
    assert record not in records_in_scope(user=bob)


def test_a_partner_files_records_belong_to_its_source_agencys_council(alice, bob, reference):
    council = make_record(source="LA344")
    school = make_record(source="URN900001")  # Birkenhead St Mary's, in Wirral
    liverpool_school = make_record(source="URN900017")
    assert set(records_in_scope(user=alice)) == {council, school}
    assert set(records_in_scope(user=bob)) == {liverpool_school}


def test_a_review_of_a_file_from_an_agency_of_no_council_goes_to_the_council_of_the_candidate(
    alice, bob, reference
):
    amy = make_person()
    make_record(amy, source="LA344")
    health = make_record(source="RY7")  # a health trust serves several councils
    review = make_review(health, amy)
    assert list(reviews_in_scope(user=alice)) == [review]
    assert not reviews_in_scope(user=bob).exists()
    # A Liverpool school's record proposed as Amy is Liverpool's to decide, not Wirral's.
    liverpool = make_review(make_record(source="URN900017"), amy)
    assert liverpool not in reviews_in_scope(user=alice)
    assert liverpool in reviews_in_scope(user=bob)


def test_another_councils_review_and_person_are_not_found(alice, bob, reference):
    amy = make_person()
    make_record(amy, source="LA344")
    review = make_review(make_record(source="LA344"), amy)
    assert review_get(user=alice, review_id=review.pk) == review
    assert person_get(user=alice, person_id=amy.pk) == amy
    with pytest.raises(NotFound):
        review_get(user=bob, review_id=review.pk)
    with pytest.raises(NotFound):
        person_get(user=bob, person_id=amy.pk)
    with pytest.raises(NotFound):
        person_find(user=bob, reference=amy.reference)
    assert person_find(user=alice, reference=amy.reference.lower()) == amy
    assert person_find(user=alice, reference=amy.reference[2:]) == amy


def test_roles_without_person_review_see_nothing(percy, harriet, make_user, reference):
    head = make_user("hos", "LA344", "head_of_service")
    amy = make_person()
    make_record(amy, source="LA344")
    make_review(make_record(source="LA344"), amy)
    for who in (percy, harriet, head):
        assert not records_in_scope(user=who).exists()
        assert not persons_in_scope(user=who).exists()
        assert not reviews_in_scope(user=who).exists()
        assert review_queue(user=who) == []


def test_a_merged_person_is_seen_through_the_person_they_are_merged_into(alice, bob, mary):
    amy = make_person()
    make_record(amy, source="LA344")
    duplicate = make_person()
    make_record(duplicate, source="LA344", source_ref="DUP")
    merge = person_merge(kept=amy, merged=duplicate, by=mary, reason="One child.")
    assert person_get(user=alice, person_id=duplicate.pk) == duplicate
    assert list(merges_in_scope(user=alice)) == [merge]
    assert not merges_in_scope(user=bob).exists()


def test_the_queue_is_open_reviews_most_probable_first(alice, reference):
    amy = make_person()
    make_record(amy, source="LA344")
    low = make_review(make_record(source="LA344"), amy, probability=0.61)
    high = make_review(make_record(source="LA344"), amy, probability=0.93)
    make_review(make_record(source="LA344"), amy, probability=0.99, status="kept_apart")
    assert [row.review for row in review_queue(user=alice)] == [high, low]


def test_a_person_page_shows_only_the_records_the_council_holds(alice, bob, reference):
    """A person in Wirral's scope may also hold a record from Liverpool's files: Wirral's page of
    them lists Wirral's record only, and Liverpool's page Liverpool's."""
    from safehub.people.selectors import person_page

    wirrals = make_record(source="LA344", source_ref="W1")
    liverpools = make_record(wirrals.person, source="LA341", source_ref="L1")
    wirral = {view.record.pk for view in person_page(user=alice, person=wirrals.person).records}
    liverpool = {view.record.pk for view in person_page(user=bob, person=wirrals.person).records}
    assert wirral == {wirrals.pk}
    assert liverpool == {liverpools.pk}
