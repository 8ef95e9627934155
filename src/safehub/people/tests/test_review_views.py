"""The clerical review pages (safehub.people.views), asked through Django's test client: what each
shows, that every view of a person's records is audited, and how a refusal is answered (422 on the
field, 409 above the form, 404 for another council's record).

Alice (Wirral's hub social worker) reviews; Mary (its manager) merges and undoes; Bob works in
Liverpool and finds none of it."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from safehub.audit.models import AuditEvent
from safehub.core import clock
from safehub.people.models import Merge, ReviewStatus
from safehub.people.tests.review_factory import (
    make_person,
    make_record,
    make_relationship,
    make_review,
)

T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now():
    with clock.frozen(T0):
        yield


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def amy(reference):
    person = make_person()
    make_record(person, source="LA344", source_ref="CSC-1", nhs_number="943 476 5919")
    make_record(person, source="URN900001", source_ref="ROLL-7", family_name="Smith")
    return person


@pytest.fixture
def review(amy):
    record = make_record(family_name="Exampel", postcode="CH62 3AA", source_ref="CSC-2")
    return make_review(record, amy, probability=0.83)


def views_of(user, object_type: str) -> int:
    return AuditEvent.objects.filter(user=user, object_type=object_type, action="view").count()


def test_the_queue_lists_open_reviews_and_is_audited(alice, review):
    response = client_for(alice).get(reverse("people:review_queue"))
    text = response.content.decode()
    assert response.status_code == 200
    assert "Amy Exampel" in text and "83%" in text and "Partner file LA344" in text
    event = AuditEvent.objects.get(user=alice, object_type="people.review_queue")
    assert event.detail["shown"] == [review.pk]


def test_the_review_page_shows_both_sides_and_the_evidence_and_is_audited(alice, amy, review):
    response = client_for(alice).get(reverse("people:review_detail", args=[review.pk]))
    text = response.content.decode()
    assert response.status_code == 200
    assert f"Is Amy Exampel {amy.reference}?" in text
    assert "Amy Smith" in text and "CH62 3AA" in text
    assert "ending 5919" in text and "943 476 5919" not in text and "9434765919" not in text
    assert "Family name similar" in text and "7.9 (for)" in text and "-3.0 (against)" in text
    event = AuditEvent.objects.get(user=alice, object_type="people.linkreview")
    assert len(event.detail["records"]) == 3  # the record and Amy's two


def test_a_decision_needs_a_reason_on_the_field(alice, review):
    url = reverse("people:review_detail", args=[review.pk])
    response = client_for(alice).post(url, {"decision": "link", "reason": ""})
    assert response.status_code == 422
    assert 'href="#id_reason"' in response.content.decode()
    review.refresh_from_db()
    assert review.status == ReviewStatus.OPEN


def test_linking_from_the_page_moves_the_record(alice, amy, review):
    url = reverse("people:review_detail", args=[review.pk])
    response = client_for(alice).post(url, {"decision": "link", "reason": "Same child."})
    assert response.status_code == 302 and response["Location"] == reverse("people:review_queue")
    review.record.refresh_from_db()
    assert review.record.person == amy


def test_a_decided_review_answers_409_with_the_decision(alice, review):
    url = reverse("people:review_detail", args=[review.pk])
    client = client_for(alice)
    client.post(url, {"decision": "keep_apart", "reason": "Different mother."})
    response = client.post(url, {"decision": "link", "reason": "Same after all."})
    assert response.status_code == 409
    text = response.content.decode()
    assert "This could not be done" in text and "already decided (kept apart)" in text


def test_another_council_finds_nothing(bob, amy, review):
    client = client_for(bob)
    assert client.get(reverse("people:review_detail", args=[review.pk])).status_code == 404
    assert client.get(reverse("people:person_detail", args=[amy.pk])).status_code == 404
    assert client.get(reverse("people:review_queue")).status_code == 200
    assert "Exampel" not in client.get(reverse("people:review_queue")).content.decode()


def test_the_person_page_shows_records_relationships_and_merges_and_is_audited(alice, mary, amy):
    mother = make_person()
    mum = make_record(mother, given_names="Jane", dob="1990-01-01", source_ref="M1")
    make_relationship(mother, amy, "parent", mum)
    url = reverse("people:person_detail", args=[amy.pk])
    text = client_for(alice).get(url).content.decode()
    assert "Amy Example" in text and "Child of" in text and "Jane Example" in text
    assert "Merge another person" not in text  # a social worker does not merge
    assert views_of(alice, "people.person") == 1
    assert "Merge another person into this one" in client_for(mary).get(url).content.decode()


def _section(text: str, element_id: str, end: str) -> str:
    start = text.index(f'id="{element_id}"')
    return text[start : text.index(end, start)]


def test_the_person_page_gives_addresses_over_time_and_identifiers(alice, amy):
    """Amy's two records at 1 Example Street are one address, given by both sources; a month
    later Wirral records her at a new address, which comes first. Her NHS number is shown
    masked, once, with who gave it."""
    make_record(
        amy, source="LA344", source_ref="CSC-9", line1="9 New Road", postcode="ch62 3aa",
        seen_at=T0 + dt.timedelta(days=30),
    )  # fmt: skip
    text = client_for(alice).get(reverse("people:person_detail", args=[amy.pk])).content.decode()
    addresses = _section(text, "addresses", "</table>")
    rows = addresses.split('<tr class="govuk-table__row">')[2:]
    assert len(rows) == 2
    assert "9 New Road" in rows[0] and "24 Dec 2026" in rows[0] and "Wirral" in rows[0]
    assert "1 Example Street, Birkenhead" in rows[1] and "CH41 1AA" in rows[1]
    assert rows[1].count("24 Nov 2026") == 2  # first and last given the same day
    # Both sources, by name:
    assert "Birkenhead St Mary&#x27;s Primary School, Wirral children&#x27;s services" in rows[1]
    identifiers = _section(text, "identifiers", "</dl>")
    assert "NHS number" in identifiers and "5919" in identifiers
    assert "943 476" not in identifiers and "given by Wirral" in identifiers


def test_the_person_page_reads_a_fixed_number_of_queries_however_many_relatives(alice, amy):
    """The relatives' names come in one read, not one per relationship."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def relative(n):
        other = make_person()
        record = make_record(other, given_names=f"Sib{n}", source_ref=f"S{n}")
        make_relationship(other, amy, "sibling", record)

    url = reverse("people:person_detail", args=[amy.pk])
    client = client_for(alice)
    relative(0)
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        assert "Sib0 Example" in client.get(url).content.decode()
    for n in range(1, 6):
        relative(n)
    with CaptureQueriesContext(connection) as six:
        text = client.get(url).content.decode()
    assert all(f"Sib{n} Example" in text for n in range(6))
    assert len(six) == len(one), [q["sql"] for q in six.captured_queries]


def test_a_manager_merges_by_reference_after_a_check_page(mary, amy):
    duplicate = make_person()
    make_record(duplicate, source="LA344", source_ref="DUP", given_names="Aimee")
    url = reverse("people:person_merge", args=[amy.pk])
    client = client_for(mary)
    assert client.get(url).status_code == 200
    unknown = client.post(url, {"reference": "P-00000000", "reason": "Same."})
    assert unknown.status_code == 422
    assert "No person of your council" in unknown.content.decode()
    check = client.post(url, {"reference": duplicate.reference, "reason": "Same child."})
    assert check.status_code == 200
    text = check.content.decode()
    assert f"Are {duplicate.reference} and {amy.reference} the same person?" in text
    assert "Aimee Example" in text and not Merge.objects.exists()
    done = client.post(
        url, {"reference": duplicate.reference, "reason": "Same child.", "confirm": "yes"}
    )
    assert done.status_code == 302
    merge = Merge.objects.get()
    assert (merge.kept, merge.merged) == (amy, duplicate)


def test_a_social_worker_may_not_merge(alice, amy):
    url = reverse("people:person_merge", args=[amy.pk])
    assert client_for(alice).get(url).status_code == 403


def test_undoing_a_merge_from_its_page(mary, amy):
    from safehub.people.review import person_merge

    duplicate = make_person()
    make_record(duplicate, source="LA344", source_ref="DUP")
    merge = person_merge(kept=amy, merged=duplicate, by=mary, reason="Same child.")
    client = client_for(mary)
    person = client.get(reverse("people:person_detail", args=[amy.pk])).content.decode()
    url = reverse("people:merge_undo", args=[merge.pk])
    assert url in person
    assert client.get(url).status_code == 200
    assert client.post(url, {"reason": ""}).status_code == 422
    response = client.post(url, {"reason": "Twins."})
    assert response.status_code == 302
    assert response["Location"] == reverse("people:person_detail", args=[duplicate.pk])
    again = client.post(url, {"reason": "Twins."})
    assert again.status_code == 409 and "Already undone by" in again.content.decode()
