"""The person index filled at intake: everyone a notification names is a record, with the
relationships it gives; a manual contact's child too; an amendment updates what it changed.
Intake links in its own transaction with SAFEHUB_LINKAGE_AT_INTAKE = "inline" (these tests,
unless they say otherwise); by default ("worker") the worker's `people_index_sweep` links what
intake stored, seconds later, and re-rates the contacts if the index shows more."""

import copy
import datetime as dt
import json

import pytest
from django.db import connection
from django.urls import reverse

from safehub.core.testing import example
from safehub.intake.models import Channel
from safehub.intake.services import notification_amend, notification_receive
from safehub.people.history import contact_history
from safehub.people.index import keyed_hash
from safehub.people.matching import evidence_words
from safehub.people.models import (
    LinkMethod,
    LinkReview,
    Relationship,
    ReviewStatus,
    SourceKind,
    SourceRecord,
)
from safehub.people.services import people_index_sweep
from safehub.referrals.models import Contact

pytestmark = pytest.mark.usefixtures("reference")


@pytest.fixture(autouse=True)
def inline(settings):
    settings.SAFEHUB_LINKAGE_AT_INTAKE = "inline"


RECEIVED = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def _receive(doc, at=RECEIVED):
    receipt = notification_receive(raw=json.dumps(doc).encode(), channel=Channel.IMPORT, now=at)
    assert receipt.created
    return receipt.notification


def _records(notification):
    return {r.values["ref"]: r for r in SourceRecord.objects.filter(notification=notification)}


def test_everyone_a_notification_names_becomes_a_record_tied_to_its_contact():
    notification = _receive(example("notification-high-risk.json"))
    records = _records(notification)
    assert {ref: r.role for ref, r in records.items()} == {
        "V1": "victim",
        "S1": "suspect",
        "C1": "child",
        "C2": "child",
    }
    contacts = {c.child_ref: c for c in Contact.objects.filter(notification=notification)}
    assert records["C1"].contact == contacts["C1"] and records["V1"].contact is None
    amy = records["C1"]
    assert amy.source_kind == SourceKind.NOTIFICATION and amy.source == "MSP"
    assert amy.source_ref == "MSP-26-004821/C1"
    # As sent (the child lives at the incident address, which she takes), and keys normalised.
    assert amy.values["given_names"] == "Amy" and amy.values["address_from"] == "incident"
    assert (amy.given_name, amy.family_name, amy.dob, amy.postcode) == (
        "AMY",
        "EXAMPLE",
        dt.date(2017, 6, 11),
        "CH416AB",
    )
    assert amy.address_key == keyed_hash("address_line1", "14 EXAMPLE ROAD")
    # Four people, four persons: nobody in one notification is anyone else in it.
    assert len({r.person_id for r in records.values()}) == 4
    assert all(r.link_method == LinkMethod.NEW for r in records.values())


def test_the_address_is_a_keyed_hash_and_the_values_are_encrypted():
    notification = _receive(example("notification-high-risk.json"))
    amy = _records(notification)["C1"]
    with connection.cursor() as cursor:
        cursor.execute(
            'SELECT "values", address_key FROM people_sourcerecord WHERE id = %s',
            [amy.pk.hex if connection.vendor == "sqlite" else amy.pk],
        )
        stored_values, address_key = cursor.fetchone()
    assert "Amy" not in str(stored_values) and "Example Road" not in str(stored_values)
    assert len(address_key) == 64 and "EXAMPLE" not in address_key


def test_the_relationships_the_notification_gives_join_the_people():
    notification = _receive(example("notification-high-risk.json"))
    person = {ref: r.person_id for ref, r in _records(notification).items()}
    name = {v: k for k, v in person.items()}
    got = {
        (name[r.from_person_id], r.kind, name[r.to_person_id]) for r in Relationship.objects.all()
    }
    assert got == {
        ("S1", "partner", "V1"),
        ("V1", "partner", "S1"),
        ("V1", "parent", "C1"),
        ("V1", "parent", "C2"),
        ("S1", "parent", "C2"),
        ("S1", "step_parent", "C1"),
        # Children who share a parent in the notification are siblings.
        ("C1", "sibling", "C2"),
        ("C2", "sibling", "C1"),
    }


def _second_notice(*, family_name="Exampel"):
    """Amy again, months later, at another address: her surname mistyped, a new postcode."""
    doc = copy.deepcopy(example("notification-high-risk.json"))
    doc["incident_reference"] = "MSP-26-009999"
    doc["incident_address"] = {"line1": "3 Park Road", "town": "Liverpool", "postcode": "L1 8JQ"}
    doc["people"] = [
        {
            "ref": "V1",
            "role": "victim",
            "given_names": "Jane",
            "family_name": "Example",
            "date_of_birth": "1992-04-02",
            "sex": "F",
        },
        {
            "ref": "C1",
            "role": "child",
            "given_names": "Amy",
            "family_name": family_name,
            "date_of_birth": "2017-06-11",
            "sex": "F",
            "lives_at_incident_address": True,
        },
    ]
    doc["relationships"] = [{"from": "V1", "to": "C1", "type": "parent"}]
    return doc


def _open_case(contact, user, *, plan=False):
    """An open referral (episode) on a contact, and a child protection plan if asked."""
    from safehub.casework.models import CaseEpisode, ChildProtectionPlan

    episode = CaseEpisode.objects.create(
        contact=contact,
        local_authority=contact.local_authority,
        referral_date=contact.received_at.date(),
        referral_source="10",
        opened_at=contact.received_at,
        opened_by=user,
    )
    if plan:
        ChildProtectionPlan.objects.create(
            episode=episode,
            started_on=contact.received_at.date(),
            initial_category="EMO",
            latest_category="EMO",
        )
    return episode


@pytest.mark.parametrize("mode", ["worker", "inline"])
def test_a_child_named_again_with_a_surname_typo_and_a_new_postcode_links_to_her(
    mode, settings, alice, bob
):
    """Issue 4, done when: a notification naming a child already in the index, with a typo in
    her surname and a new postcode, links to her (or lands in clerical review with the
    evidence), and her contact shows her earlier notices and her open case. "worker": intake
    stores the notification unlinked and the sweep links it; "inline": intake links it."""
    settings.SAFEHUB_LINKAGE_AT_INTAKE = mode
    earlier = _receive(example("notification-high-risk.json"))
    people_index_sweep(now=RECEIVED)
    first = _records(earlier)["C1"]
    episode = _open_case(first.contact, alice)  # Wirral's open referral of Amy
    notification = _receive(_second_notice(), at=RECEIVED + dt.timedelta(days=30))
    assert bool(_records(notification)) == (mode == "inline")
    swept = people_index_sweep(now=RECEIVED + dt.timedelta(days=30))
    assert swept.indexed == (1 if mode == "worker" else 0)
    second = _records(notification)["C1"]

    review = LinkReview.objects.filter(record=second, candidate_id=first.person_id).first()
    assert second.person_id == first.person_id or review is not None
    if second.person_id == first.person_id:
        assert second.link_method == LinkMethod.AUTO
        evidence, probability = second.match_evidence, second.match_probability
    else:
        assert review.status == ReviewStatus.OPEN and review.origin == "intake"
        evidence, probability = review.match_evidence, review.match_probability
    assert probability >= 0.8
    assert evidence["record"] == str(first.pk)
    words = evidence_words(evidence)
    assert "same first name" in words and "similar surname" in words
    assert "same date of birth" in words and "different address and postcode" in words
    # Her brother is not named this time; her mother is the same person as before.
    assert second.contact.child_ref == "C1"

    if review is not None:  # a person decides, as the hub would
        from safehub.people.review import review_link

        review_link(review=review, by=bob, reason="The same child: her mother is named too.")
        second.refresh_from_db()

    # Her contact (Liverpool's: the new postcode) shows her earlier notice and her open case,
    # each held by another council: that it exists, when, and whom to ask.
    history = contact_history(contact=second.contact, fetched_by=bob)
    assert history.in_index and first.person_id in history.person_ids
    records = {e.record: e for e in history.entries}
    notice = records[f"intake.notification:{earlier.pk}"]
    assert notice.kind == "Police notification" and not notice.full
    case = records[f"casework.caseepisode:{episode.pk}"]
    assert case.kind == "Referral to children's social care" and case.status == "Open"
    assert "Wirral" in case.holder


def test_intake_in_worker_mode_stores_no_records_and_the_sweep_indexes_each_once(settings):
    settings.SAFEHUB_LINKAGE_AT_INTAKE = "worker"
    notification = _receive(example("notification-high-risk.json"))
    assert not SourceRecord.objects.exists()
    result = people_index_sweep(now=RECEIVED)
    assert (result.indexed, result.batches, result.failed) == (1, 1, 0)
    records = _records(notification)
    assert set(records) == {"V1", "S1", "C1", "C2"}
    assert Relationship.objects.filter(record__notification=notification).count() == 8
    # Indexed once: the next sweep finds nothing, and changes nothing.
    again = people_index_sweep(now=RECEIVED + dt.timedelta(seconds=5))
    assert (again.indexed, again.batches) == (0, 0)
    assert {r.pk for r in _records(notification).values()} == {r.pk for r in records.values()}


def _numbered(n):
    doc = copy.deepcopy(example("notification-high-risk.json"))
    doc["incident_reference"] = f"MSP-26-{n + 1:06d}"
    doc["people"][2]["given_names"] = ["Amy", "Beth", "Cara", "Dora", "Ella"][n]
    return doc


def test_the_sweep_takes_the_oldest_first_in_bounded_batches_one_query_and_one_scoring_each(
    settings, monkeypatch
):
    import safehub.people.services as services

    settings.SAFEHUB_LINKAGE_AT_INTAKE = "worker"
    stored = [_receive(_numbered(n), at=RECEIVED + dt.timedelta(minutes=10 - n)) for n in range(5)]
    oldest_first = stored[::-1]
    calls = {"fetch": 0, "score": 0}
    fetch, model = services.candidates_fetch, services.active_model()
    score = type(model).score

    def counted_fetch(*args, **kwargs):
        calls["fetch"] += 1
        return fetch(*args, **kwargs)

    def counted_score(self, pairs):
        calls["score"] += 1
        return score(self, pairs)

    monkeypatch.setattr(services, "candidates_fetch", counted_fetch)
    monkeypatch.setattr(type(model), "score", counted_score)

    first = people_index_sweep(now=RECEIVED, batch_size=2, max_batches=1)
    assert (first.indexed, first.batches, first.more) == (2, 1, True)
    assert calls == {"fetch": 1, "score": 1}
    indexed = set(SourceRecord.objects.values_list("notification_id", flat=True))
    assert indexed == {oldest_first[0].pk, oldest_first[1].pk}

    rest = people_index_sweep(now=RECEIVED, batch_size=2, max_batches=5)
    assert (rest.indexed, rest.batches, rest.more) == (3, 2, False)
    assert calls == {"fetch": 3, "score": 3}
    indexed = set(SourceRecord.objects.values_list("notification_id", flat=True))
    assert indexed == {n.pk for n in stored}


def test_the_worker_sweeper_looks_back_a_margin_and_everywhere_once_an_hour(settings):
    from safehub.people.services import PeopleIndexSweeper

    settings.SAFEHUB_LINKAGE_AT_INTAKE = "worker"
    start = RECEIVED + dt.timedelta(days=30)
    old = _receive(_numbered(0), at=RECEIVED)
    sweeper = PeopleIndexSweeper()
    assert sweeper.run(now=start).indexed == 1  # the first sweep looks at everything
    assert sweeper.since == start - PeopleIndexSweeper.MARGIN
    fresh = _receive(_numbered(1), at=start + dt.timedelta(seconds=2))
    # Stored now, but received (its transaction begun) long before the margin.
    late = _receive(_numbered(2), at=RECEIVED + dt.timedelta(days=1))
    assert sweeper.run(now=start + dt.timedelta(seconds=5)).indexed == 1
    indexed = set(SourceRecord.objects.values_list("notification_id", flat=True))
    assert indexed == {old.pk, fresh.pk}
    assert sweeper.run(now=start + dt.timedelta(hours=1)).indexed == 1  # the hourly full sweep
    assert late.pk in set(SourceRecord.objects.values_list("notification_id", flat=True))


def test_a_different_child_is_not_linked():
    first = _records(_receive(example("notification-high-risk.json")))["C1"]
    doc = _second_notice(family_name="Example")
    doc["people"][1].update(given_names="Oscar", date_of_birth="2012-02-03", sex="M")
    other = _records(_receive(doc, at=RECEIVED + dt.timedelta(days=3)))["C1"]
    assert other.person_id != first.person_id
    assert not LinkReview.objects.filter(record=other, candidate_id=first.person_id).exists()


def test_an_amendment_links_a_newly_named_person_and_updates_a_changed_one(msp_token):
    doc = example("notification-high-risk.json")
    notification = _receive(doc)
    before = _records(notification)
    amended = copy.deepcopy(doc)
    amended["people"][3]["family_name"] = "Examples"  # Leo's surname corrected
    amended["people"].append(
        {
            "ref": "A1",
            "role": "adult_other",
            "given_names": "Rose",
            "family_name": "Example",
            "date_of_birth": "1960-01-05",
        }
    )
    amended["relationships"] = [r for r in amended["relationships"] if r["to"] != "C2"]
    notification_amend(
        force_code="MSP",
        incident_reference=doc["incident_reference"],
        raw=json.dumps(amended).encode(),
        channel=Channel.IMPORT,
    )
    after = _records(notification)
    assert set(after) == {"V1", "S1", "C1", "C2", "A1"}
    leo = after["C2"]
    assert leo.pk == before["C2"].pk and leo.person_id == before["C2"].person_id
    assert leo.values["family_name"] == "Examples" and leo.family_name == "EXAMPLES"
    assert after["A1"].role == "adult_other"
    kinds = {(r.kind, r.to_person_id) for r in Relationship.objects.all()}
    assert ("parent", leo.person_id) not in kinds  # the new version says no parent of Leo's
    assert ("parent", after["C1"].person_id) in kinds


def test_a_manual_contacts_child_is_a_record(alice):
    from safehub.referrals.models import ReferralSource
    from safehub.referrals.services import contact_create_manual

    contact = contact_create_manual(
        created_by=alice,
        referral_source=ReferralSource.SCHOOLS,
        referrer_name="Ms Head",
        referrer_organisation="Example Primary",
        referrer_contact="0151 000 0000",
        reason="Bruises",
        given_names="Amy",
        family_name="Example",
        date_of_birth=dt.date(2017, 6, 11),
        age_estimate=None,
        sex="F",
        address_line1="14 Example Road",
        town="Birkenhead",
        postcode="CH41 6AB",
        school_urn="",
    )
    [record] = SourceRecord.objects.filter(contact=contact)
    assert record.source_kind == SourceKind.CONTACT and record.role == "child"
    assert record.values["referrer_organisation"] == "Example Primary"
    assert record.dob == dt.date(2017, 6, 11)


def _quiet_notice_of_amy_misspelt():
    """Amy again at her mother's address, her surname mistyped, a standard-risk incident: intake
    finds her mother's earlier notification by the exact key, but not Amy (the key differs)."""
    doc = _second_notice()
    doc["incident_address"] = example("notification-high-risk.json")["incident_address"]
    doc["risk"]["officer_grade"] = "standard"
    doc["risk"]["answers"] = {k: "no" for k in doc["risk"]["answers"]}
    doc["occurred_at"] = doc["recorded_at"] = "2026-12-22T10:00:00+00:00"
    return doc


def _amy_with_her_plan(alice, *, plan):
    earlier = _receive(example("notification-high-risk.json"))
    people_index_sweep(now=RECEIVED)
    _open_case(_records(earlier)["C1"].contact, alice, plan=plan)
    at = RECEIVED + dt.timedelta(days=30)
    notification = _receive(_quiet_notice_of_amy_misspelt(), at=at)
    return notification, Contact.objects.get(notification=notification, child_ref="C1"), at


def test_the_sweep_raises_a_rating_when_the_index_finds_an_open_protection_plan(settings, alice):
    from safehub.audit.models import AuditEvent
    from safehub.timescales.models import Clock, ClockKind

    settings.SAFEHUB_LINKAGE_AT_INTAKE = "worker"
    _, contact, at = _amy_with_her_plan(alice, plan=True)
    assert contact.rag == "amber"  # what intake saw: her mother's earlier notification
    assert not any("protection plan" in r for r in contact.rag_reasons)

    result = people_index_sweep(now=at + dt.timedelta(seconds=5))
    assert result.rerated == 1
    contact.refresh_from_db()
    assert contact.rag == "red"
    assert any("protection plan" in r for r in contact.rag_reasons)
    # Red: screened within four hours of receipt, the screening clock moved with it.
    assert contact.due_at == at + dt.timedelta(hours=4)
    screening = Clock.objects.get(contact=contact, kind=ClockKind.SCREENING)
    assert screening.due_at == contact.due_at and screening.rule.startswith("Red")
    event = AuditEvent.objects.filter(actor="person index").get()
    assert event.detail["contacts_rerated"] == [{"child_ref": "C1", "from": "amber", "to": "red"}]
    # Indexed once, rated once.
    assert people_index_sweep(now=at + dt.timedelta(seconds=10)).indexed == 0


def test_the_sweep_never_lowers_a_rating(settings, alice):
    settings.SAFEHUB_LINKAGE_AT_INTAKE = "worker"
    _, contact, at = _amy_with_her_plan(alice, plan=False)  # an open case: amber at most
    contact.rag, contact.rag_reasons = "red", ["Officer graded the risk high"]
    contact.save(update_fields=["rag", "rag_reasons"])
    due = contact.due_at
    assert people_index_sweep(now=at + dt.timedelta(seconds=5)).rerated == 0
    contact.refresh_from_db()
    assert (contact.rag, contact.rag_reasons, contact.due_at) == (
        "red",
        ["Officer graded the risk high"],
        due,
    )


def test_a_rerate_that_fails_is_kept_said_on_the_contact_and_tried_again(
    settings, alice, monkeypatch, client
):
    """A fault in the re-rate after indexing (as in production: logged, not raised) keeps the
    links and marks the notification; the contact page warns that the rating may be too low; each
    later sweep tries again, and once it succeeds the rating rises and the mark and warning go."""
    from safehub.people.models import RerateDue
    from safehub.referrals import triage

    settings.SAFEHUB_LINKAGE_AT_INTAKE = "worker"
    notification, contact, at = _amy_with_her_plan(alice, plan=True)
    rerate = triage.triage_rerate_indexed

    def broken(**kwargs):
        raise RuntimeError("Amy Exampel, 11/06/2017")

    monkeypatch.setattr(triage, "triage_rerate_indexed", broken)
    settings.TESTING = False
    first = people_index_sweep(now=at + dt.timedelta(seconds=5))
    assert (first.indexed, first.rerated, first.rerate_due) == (1, 0, 1)
    assert _records(notification)["C1"].person_id is not None  # the links are kept
    mark = RerateDue.objects.get(notification=notification)
    assert (mark.attempts, mark.since, mark.last_error) == (
        1,
        at + dt.timedelta(seconds=5),
        "builtins.RuntimeError",  # the kind only: the message may quote the record
    )
    contact.refresh_from_db()
    assert contact.rag == "amber"
    client.force_login(alice)
    page = client.get(reverse("referrals:contact_detail", args=[contact.pk])).content.decode()
    assert 'id="rerate-due"' in page and "This rating may be too low" in page

    second = people_index_sweep(now=at + dt.timedelta(seconds=10))
    assert (second.indexed, second.rerated, second.rerate_due) == (0, 0, 1)
    mark.refresh_from_db()
    assert (mark.attempts, mark.last_tried_at) == (2, at + dt.timedelta(seconds=10))

    monkeypatch.setattr(triage, "triage_rerate_indexed", rerate)
    third = people_index_sweep(now=at + dt.timedelta(seconds=15))
    assert (third.indexed, third.rerated, third.rerate_due) == (0, 1, 0)
    assert not RerateDue.objects.exists()
    contact.refresh_from_db()
    assert contact.rag == "red" and any("protection plan" in r for r in contact.rag_reasons)
    assert (
        'id="rerate-due"'
        not in client.get(reverse("referrals:contact_detail", args=[contact.pk])).content.decode()
    )


def test_a_rerate_mark_of_an_erased_notification_is_dropped(settings, alice):
    from safehub.people.models import RerateDue

    settings.SAFEHUB_LINKAGE_AT_INTAKE = "worker"
    notification, _, at = _amy_with_her_plan(alice, plan=True)
    people_index_sweep(now=at + dt.timedelta(seconds=5))
    RerateDue.objects.create(
        notification=notification, since=at, last_tried_at=at, last_error="builtins.RuntimeError"
    )
    type(notification).objects.filter(pk=notification.pk).update(erased_at=at)
    assert people_index_sweep(now=at + dt.timedelta(seconds=10)).rerate_due == 0
    assert not RerateDue.objects.exists()
