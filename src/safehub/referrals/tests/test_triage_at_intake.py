"""Triage as intake stores it (issue 3): what `triage explain` says a notification becomes is what
the API and the bulk import store, for every example of the spec; a new policy version rates new
contacts only; MARAC referrals are proposed with their criteria; earlier notifications about the
same child or victim make a child amber; an amendment rates again what is still waiting."""

import copy
import datetime as dt
import json

import pytest
from django.db import transaction

from safehub.core import clock
from safehub.core.testing import example, example_bytes
from safehub.encompass.models import EncompassNotice, RecipientReason
from safehub.intake.imports import notifications_import
from safehub.intake.keys import person_key
from safehub.intake.models import Channel, Notification, PersonKey
from safehub.intake.services import (
    notification_amend,
    notification_receive,
    notifications_receive_batch,
)
from safehub.referrals.decisions import contact_decide, contact_transition
from safehub.referrals.models import Contact, ContactStatus, Outcome
from safehub.referrals.triage import triage_explain
from safehub.risk.models import MaracReferral, MaracStatus
from safehub.risk.policy import DEFAULT_RULES
from safehub.risk.selectors import policy_get
from safehub.risk.services import policy_publish
from safehub.timescales.calendar import encompass_due
from safehub.timescales.models import Clock, ClockKind, ClockState

UTC = dt.UTC
URL = "/api/v1/notifications"
VALID = [
    "notification-high-risk.json",
    "notification-no-children.json",
    "notification-two-authorities.json",
]
# Monday 23 Nov 2026, 09:00 (GMT): after every example was recorded.
RECEIVED = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
# Saturday 21 Nov 2026, 00:10: the high-risk example, received half an hour after it was recorded.
SATURDAY_NIGHT = dt.datetime(2026, 11, 21, 0, 10, tzinfo=UTC)

HIGH_RISK_REASONS = [
    "Officer graded the risk high",
    "DASH: 16 yes answers (14 or more is high risk)",
]
HIGH_RISK_MARAC = [
    {
        "code": "visible_high_risk",
        "evidence": "DASH: 16 yes answers (14 or more is visible high risk)",
    },
    {
        "code": "professional_judgement",
        "evidence": "Officer graded the risk high. Officer's rationale: "
        "Strangulation, escalating frequency, threats to kill.",
    },
]


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _raw(doc: dict) -> bytes:
    return json.dumps(doc).encode()


def _post(client, raw: bytes, token: str):
    return client.post(
        URL, data=raw, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def _put(client, doc: dict, token: str):
    return client.put(
        f"{URL}/{doc['force_code']}/{doc['incident_reference']}",
        data=_raw(doc),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def _receive(doc: dict, at: dt.datetime) -> Notification:
    receipt = notification_receive(raw=_raw(doc), channel=Channel.IMPORT, now=at)
    assert receipt.created
    return receipt.notification


def _contacts(notification: Notification) -> dict[str, Contact]:
    return {c.child_ref: c for c in Contact.objects.filter(notification=notification)}


def _readable(reasons: list[str]) -> None:
    """Sentences for a social worker: no rule codes, no empty reasons."""
    assert reasons
    for reason in reasons:
        assert reason.strip() and reason[0].isupper(), reason
        assert "_" not in reason, reason


def assert_stored_as_explained(notification: Notification, explained: dict) -> None:
    """Every contact, screening clock and Encompass notice of `notification` is what `explained`
    (triage_explain's output for the same body and received time) says."""
    assert "errors" not in explained
    received_at = _time(explained["received_at"])
    contacts = _contacts(notification)
    assert sorted(contacts) == sorted(c["child_ref"] for c in explained["contacts"])
    for item in explained["contacts"]:
        contact = contacts[item["child_ref"]]
        due = _time(item["clocks"]["screening"])
        assert contact.received_at == received_at
        la = contact.local_authority.la_code if contact.local_authority else None
        assert la == item["local_authority"]
        assert contact.rag == item["rag"]
        assert contact.rag_reasons == item["reasons"]
        _readable(contact.rag_reasons)
        assert str(contact.policy_version) == item["policy_version"]
        assert contact.due_at == due
        assert contact.next_due_at == due
        [screening] = Clock.objects.filter(contact=contact, kind=ClockKind.SCREENING)
        assert (screening.state, screening.due_at, screening.started_at, screening.met_at) == (
            ClockState.RUNNING,
            due,
            received_at,
            None,
        )
    notices = EncompassNotice.objects.filter(contact__notification=notification).select_related(
        "contact", "recipient"
    )
    stored = sorted(
        (
            n.contact.child_ref,
            n.recipient.urn if n.reason_for_recipient == RecipientReason.SCHOOL_DSL else None,
            n.due_at,
        )
        for n in notices
    )
    assert stored == sorted(
        (e["child_ref"], e["school_urn"], _time(e["due_at"])) for e in explained["encompass"]
    )
    for notice in notices:
        [encompass] = Clock.objects.filter(contact=notice.contact, kind=ClockKind.ENCOMPASS)
        assert (encompass.state, encompass.due_at) == (ClockState.RUNNING, notice.due_at)


# --- Every example: explain, the API and the bulk import agree --------------------------------


@pytest.mark.parametrize("name", VALID)
def test_the_api_stores_what_explain_says(client, msp_token, name):
    explained = triage_explain(raw=example_bytes(name), received_at=RECEIVED)
    with clock.frozen(RECEIVED):
        response = _post(client, example_bytes(name), msp_token)
    assert response.status_code == 201, response.content
    answer = response.json()
    # The sender's receipt: each contact's rating and deadline, each Encompass notice.
    assert sorted(
        (c["child_ref"], c["local_authority"], c["rag"], _time(c["due_at"]))
        for c in answer["contacts"]
    ) == sorted(
        (c["child_ref"], c["local_authority"], c["rag"], _time(c["clocks"]["screening"]))
        for c in explained["contacts"]
    )
    assert sorted(
        (e["child_ref"], e["school_urn"], _time(e["due_at"])) for e in answer["encompass"]
    ) == sorted(
        (e["child_ref"], e["school_urn"], _time(e["due_at"])) for e in explained["encompass"]
    )
    notification = Notification.objects.get(pk=answer["id"])
    assert notification.received_at == RECEIVED
    assert_stored_as_explained(notification, explained)
    # Explained again now that it is stored: the stored notification is its own, not history.
    assert triage_explain(raw=example_bytes(name), received_at=RECEIVED) == explained


def test_the_bulk_import_stores_what_explain_says(reference, tmp_path):
    explained = {
        name: triage_explain(raw=example_bytes(name), received_at=RECEIVED) for name in VALID
    }
    path = tmp_path / "notices.jsonl"
    lines = [json.dumps(example(name)) for name in VALID]
    lines.insert(1, json.dumps(example("invalid-several-errors.json")))
    path.write_text("\n".join(lines) + "\n")
    with clock.frozen(RECEIVED):
        summary = notifications_import(path=path, workers=1)
    assert (summary.created, summary.rejected) == (3, 1)
    for name in VALID:
        doc = example(name)
        notification = Notification.objects.get(incident_reference=doc["incident_reference"])
        assert notification.received_at == RECEIVED
        assert_stored_as_explained(notification, explained[name])


@pytest.mark.parametrize("path", ["api", "batch"])
def test_the_high_risk_example_is_red_due_four_hours_after_receipt(
    client, msp_token, path, reference
):
    raw = example_bytes("notification-high-risk.json")
    if path == "api":
        with clock.frozen(SATURDAY_NIGHT):
            assert _post(client, raw, msp_token).status_code == 201
    else:
        with transaction.atomic():
            [receipt] = notifications_receive_batch(
                [raw], channel=Channel.IMPORT, now=SATURDAY_NIGHT
            )
        assert receipt.created
    notification = Notification.objects.get()
    contacts = _contacts(notification)
    assert sorted(contacts) == ["C1", "C2"]
    due = dt.datetime(2026, 11, 21, 4, 10, tzinfo=UTC)  # received + 4 h, by the clock
    for contact in contacts.values():
        assert (contact.rag, contact.rag_reasons, contact.policy_version) == (
            "red",
            HIGH_RISK_REASONS,
            1,
        )
        assert contact.due_at == contact.next_due_at == due
        screening = Clock.objects.get(contact=contact, kind=ClockKind.SCREENING)
        assert (screening.state, screening.due_at) == (ClockState.RUNNING, due)
        assert screening.rule == "Red: within 4 hours of receipt"
    # Amy (9) goes to Birkenhead St Mary's; recorded on a Friday night, due Monday 08:30. Leo (2)
    # is not of school age.
    [notice] = EncompassNotice.objects.select_related("contact", "recipient")
    assert (notice.contact.child_ref, notice.recipient.urn, notice.due_at) == (
        "C1",
        "900001",
        dt.datetime(2026, 11, 23, 8, 30, tzinfo=UTC),
    )
    explained = triage_explain(raw=raw, received_at=SATURDAY_NIGHT)
    assert_stored_as_explained(notification, explained)


# --- A new policy version rates new contacts only --------------------------------------------


def _renamed(doc: dict, *, reference_no: str, family: str, occurred: str) -> dict:
    """The same incident shape about another family, under another reference."""
    doc = copy.deepcopy(doc)
    doc["incident_reference"] = reference_no
    doc["occurred_at"] = doc["recorded_at"] = occurred
    for person in doc["people"]:
        person["family_name"] = family
    return doc


def test_a_new_policy_version_rates_new_contacts_only(reference, mary):
    old = _receive(example("notification-two-authorities.json"), RECEIVED)
    before = {
        ref: (c.rag, c.rag_reasons, c.policy_version, c.due_at, c.next_due_at)
        for ref, c in _contacts(old).items()
    }
    assert before["C1"][:3] == (
        "amber",
        ["Officer graded the risk medium", "The child was present at or witnessed the incident"],
        1,
    )
    assert before["U1"][3] == RECEIVED + dt.timedelta(hours=4)

    rules = copy.deepcopy(DEFAULT_RULES)
    rules["rag"]["amber"] = [
        r for r in rules["rag"]["amber"] if r["code"] != "child_present_or_witnessed"
    ]
    rules["screening"]["red_hours"] = 2
    v2 = policy_publish(
        rules=rules, note="No amber for presence alone; red in 2 h.", published_by=mary
    )
    assert v2.version == 2

    later = RECEIVED + dt.timedelta(hours=1)
    doc = _renamed(
        example("notification-two-authorities.json"),
        reference_no="MSP-26-009001",
        family="Newfamily",
        occurred="2026-11-23T08:00:00+00:00",
    )
    explained = triage_explain(raw=_raw(doc), received_at=later)
    new = _receive(doc, later)
    assert_stored_as_explained(new, explained)
    fresh = _contacts(new)
    assert {c.policy_version for c in fresh.values()} == {2}
    assert fresh["C1"].rag_reasons == ["Officer graded the risk medium"]
    assert fresh["U1"].rag == "red"
    assert fresh["U1"].due_at == later + dt.timedelta(hours=2)

    # The old contacts keep the rating, the reasons and the deadline version 1 gave them, and
    # version 1 is still there to explain them.
    after = {
        ref: (c.rag, c.rag_reasons, c.policy_version, c.due_at, c.next_due_at)
        for ref, c in _contacts(old).items()
    }
    assert after == before
    assert Clock.objects.get(contact__notification=old, contact__child_ref="U1").due_at == (
        RECEIVED + dt.timedelta(hours=4)
    )
    assert policy_get(version=1).rules == DEFAULT_RULES


# --- MARAC ------------------------------------------------------------------------------------


def _key(given: str, family: str, born: str) -> str:
    return person_key(
        given_names=given, family_name=family, date_of_birth=dt.date.fromisoformat(born)
    )


def test_the_high_risk_example_proposes_a_marac_referral_to_confirm(reference):
    notification = _receive(example("notification-high-risk.json"), SATURDAY_NIGHT)
    [referral] = MaracReferral.objects.all()
    assert referral.notification == notification
    assert referral.status == MaracStatus.TO_CONFIRM
    assert (referral.victim_ref, referral.victim_name) == ("V1", "Jane Example")
    assert referral.victim_date_of_birth == dt.date(1992, 4, 2)
    assert referral.victim_key == _key("Jane", "Example", "1992-04-02")
    assert referral.suspect_keys == [_key("John", "Example", "1989-09-30")]
    assert referral.criteria == HIGH_RISK_MARAC
    assert referral.criteria_codes == ["visible_high_risk", "professional_judgement"]
    assert referral.policy_version == 1


@pytest.mark.parametrize(
    "name", ["notification-no-children.json", "notification-two-authorities.json"]
)
def test_an_example_meeting_no_criterion_proposes_no_referral(reference, name):
    _receive(example(name), RECEIVED)
    assert not MaracReferral.objects.exists()


def _sam(reference_no: str, occurred: str) -> dict:
    """The no-children example (Sam Sample, standard, 3 DASH yes) at another time."""
    doc = example("notification-no-children.json")
    doc["incident_reference"] = reference_no
    doc["occurred_at"] = doc["recorded_at"] = occurred
    return doc


ESCALATION = (
    "3 police notifications for the same victim in the last 12 months, this one included "
    "(3 or more suggests escalation)"
)


def test_a_third_notification_about_the_same_victim_in_12_months_is_potential_escalation(
    reference,
):
    _receive(_sam("MSP-26-100001", "2026-01-10T10:00:00+00:00"), RECEIVED)
    assert not MaracReferral.objects.exists()
    _receive(_sam("MSP-26-100002", "2026-06-10T10:00:00+00:00"), RECEIVED)
    assert not MaracReferral.objects.exists()
    third = _receive(_sam("MSP-26-100003", "2026-11-20T10:00:00+00:00"), RECEIVED)
    [referral] = MaracReferral.objects.all()
    assert referral.notification == third
    assert referral.criteria == [{"code": "potential_escalation", "evidence": ESCALATION}]


def test_notifications_more_than_12_months_before_do_not_escalate(reference):
    _receive(_sam("MSP-25-100001", "2025-11-19T10:00:00+00:00"), RECEIVED)  # 12 months + a day
    _receive(_sam("MSP-26-100002", "2026-06-10T10:00:00+00:00"), RECEIVED)
    _receive(_sam("MSP-26-100003", "2026-11-20T10:00:00+00:00"), RECEIVED)
    assert not MaracReferral.objects.exists()


def test_one_import_batch_counts_its_own_earlier_records(reference):
    # In one batch, newest incident first: each record counts the incidents before its own.
    docs = [
        _sam("MSP-26-100003", "2026-11-20T10:00:00+00:00"),
        _sam("MSP-26-100001", "2026-01-10T10:00:00+00:00"),
        _sam("MSP-26-100002", "2026-06-10T10:00:00+00:00"),
    ]
    with transaction.atomic():
        receipts = notifications_receive_batch(
            [_raw(d) for d in docs], channel=Channel.IMPORT, now=RECEIVED
        )
    assert all(r.created for r in receipts)
    [referral] = MaracReferral.objects.select_related("notification")
    assert referral.notification.incident_reference == "MSP-26-100003"
    assert referral.criteria == [{"code": "potential_escalation", "evidence": ESCALATION}]
    # The same answer the single path gives, record by record: explain agrees for the third.
    explained = triage_explain(raw=_raw(docs[0]), received_at=RECEIVED)
    assert explained["marac"]["criteria"] == ["potential_escalation"]


def _low_risk_high_risk_example(reference_no: str, occurred: str) -> dict:
    """The high-risk example's people, graded standard with one DASH yes: no criterion but repeat
    can apply."""
    doc = example("notification-high-risk.json")
    doc["incident_reference"] = reference_no
    doc["occurred_at"] = doc["recorded_at"] = occurred
    doc["risk"]["officer_grade"] = "standard"
    doc["risk"].pop("officer_rationale")
    doc["risk"]["answers"] = {k: ("yes" if k == "1" else "no") for k in doc["risk"]["answers"]}
    return doc


def _confirm_the_high_risk_referral(mary, at: dt.datetime) -> MaracReferral:
    _receive(example("notification-high-risk.json"), SATURDAY_NIGHT)
    referral = MaracReferral.objects.get()
    referral.status = MaracStatus.CONFIRMED
    referral.decided_at = at
    referral.decided_by = mary
    referral.save()
    return referral


def test_after_a_confirmed_referral_the_same_victim_and_suspect_again_is_a_repeat(reference, mary):
    _confirm_the_high_risk_referral(mary, dt.datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    later = dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    doc = _low_risk_high_risk_example("MSP-26-200001", "2026-11-30T20:00:00+00:00")
    notification = _receive(doc, later)
    [referral] = MaracReferral.objects.filter(notification=notification)
    assert referral.status == MaracStatus.TO_CONFIRM
    assert referral.criteria == [
        {
            "code": "repeat",
            "evidence": "1 police notification for the same victim and suspect since their last "
            "MARAC referral on 23 November 2026, this one included (within 12 months of it is a "
            "repeat)",
        }
    ]
    assert triage_explain(raw=_raw(doc), received_at=later)["marac"]["criteria"] == ["repeat"]


def test_the_same_victim_with_another_suspect_is_not_a_repeat(reference, mary):
    _confirm_the_high_risk_referral(mary, dt.datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    doc = _low_risk_high_risk_example("MSP-26-200002", "2026-11-30T20:00:00+00:00")
    suspect = next(p for p in doc["people"] if p["role"] == "suspect")
    suspect["given_names"] = "Jack"
    notification = _receive(doc, dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    assert not MaracReferral.objects.filter(notification=notification).exists()


def test_a_referral_still_to_confirm_makes_no_repeat(reference):
    _receive(example("notification-high-risk.json"), SATURDAY_NIGHT)
    doc = _low_risk_high_risk_example("MSP-26-200003", "2026-11-30T20:00:00+00:00")
    notification = _receive(doc, dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    assert not MaracReferral.objects.filter(notification=notification).exists()


# --- Earlier notifications about the same child or victim -------------------------------------


def _demo(reference_no: str, occurred: str) -> dict:
    """The two-authorities example graded standard, Ravi not present, no unborn child: both
    children green unless history says otherwise."""
    doc = example("notification-two-authorities.json")
    doc["incident_reference"] = reference_no
    doc["occurred_at"] = doc["recorded_at"] = occurred
    doc["risk"]["officer_grade"] = "standard"
    doc["people"] = [p for p in doc["people"] if p["ref"] != "U1"]
    next(p for p in doc["people"] if p["ref"] == "C1")["present_at_incident"] = False
    return doc


def _adults_only(doc: dict) -> dict:
    doc = copy.deepcopy(doc)
    doc["people"] = [p for p in doc["people"] if p["role"] != "child"]
    doc["relationships"] = [r for r in doc["relationships"] if r["type"] != "parent"]
    return doc


THIS_ONE = "2026-11-22T18:40:00+00:00"


def _earlier(n: int) -> str:
    return (
        "Police notified us about this child or the same victim "
        f"{n} {'time' if n == 1 else 'times'} in the last 12 months"
    )


def _rate_this_one() -> dict[str, Contact]:
    doc = _demo("MSP-26-300000", THIS_ONE)
    explained = triage_explain(raw=_raw(doc), received_at=RECEIVED)
    notification = _receive(doc, RECEIVED)
    assert_stored_as_explained(notification, explained)
    return _contacts(notification)


def test_with_no_history_both_children_are_green(reference):
    contacts = _rate_this_one()
    assert {ref: c.rag for ref, c in contacts.items()} == {"C1": "green", "C2": "green"}
    assert contacts["C1"].rag_reasons == ["None of the red or amber rules applies"]


def test_an_earlier_notification_about_the_same_victim_makes_the_children_amber(reference):
    _receive(_adults_only(_demo("MSP-26-300001", "2026-03-01T10:00:00+00:00")), RECEIVED)
    _receive(_adults_only(_demo("MSP-26-300002", "2026-09-01T10:00:00+00:00")), RECEIVED)
    contacts = _rate_this_one()
    for ref in ("C1", "C2"):
        assert (contacts[ref].rag, contacts[ref].rag_reasons) == ("amber", [_earlier(2)])


def test_an_earlier_notification_about_the_same_child_makes_that_child_amber(reference):
    doc = _demo("MSP-26-300003", "2026-09-01T10:00:00+00:00")
    victim = next(p for p in doc["people"] if p["role"] == "victim")
    victim["given_names"] = "Anita"  # another victim: only Ravi, by name and birth, is the same
    _receive(doc, RECEIVED)
    contacts = _rate_this_one()
    assert (contacts["C1"].rag, contacts["C1"].rag_reasons) == ("amber", [_earlier(1)])
    assert contacts["C2"].rag == "green"  # Maya has no date of birth: never matched


def test_the_same_name_with_another_date_of_birth_is_another_child(reference):
    doc = _demo("MSP-26-300004", "2026-09-01T10:00:00+00:00")
    next(p for p in doc["people"] if p["role"] == "victim")["given_names"] = "Anita"
    next(p for p in doc["people"] if p["ref"] == "C1")["date_of_birth"] = "2015-03-04"
    _receive(doc, RECEIVED)
    assert {c.rag for c in _rate_this_one().values()} == {"green"}


def test_an_earlier_notification_more_than_12_months_before_does_not_count(reference):
    # 12 months before this incident is 22 Nov 2025, 18:40: a day earlier is out, a day later in.
    _receive(_adults_only(_demo("MSP-25-300005", "2025-11-21T18:40:00+00:00")), RECEIVED)
    assert {c.rag for c in _rate_this_one().values()} == {"green"}


def test_an_earlier_notification_just_inside_12_months_counts(reference):
    _receive(_adults_only(_demo("MSP-25-300006", "2025-11-23T18:40:00+00:00")), RECEIVED)
    assert _rate_this_one()["C1"].rag_reasons == [_earlier(1)]


def test_an_incident_after_this_one_does_not_count(reference):
    # Received first, about a later incident: not an earlier notification for this one.
    _receive(_demo("MSP-26-300007", "2026-11-22T19:30:00+00:00"), RECEIVED)
    assert {c.rag for c in _rate_this_one().values()} == {"green"}


def test_one_import_batch_rates_a_child_on_its_own_earlier_records(reference):
    later = _demo("MSP-26-300009", THIS_ONE)
    earlier = _demo("MSP-26-300008", "2026-10-01T10:00:00+00:00")
    with transaction.atomic():
        receipts = notifications_receive_batch(
            [_raw(later), _raw(earlier)], channel=Channel.IMPORT, now=RECEIVED
        )
    first, second = (_contacts(r.notification) for r in receipts)
    assert {ref: (c.rag, c.rag_reasons) for ref, c in first.items()} == {
        "C1": ("amber", [_earlier(1)]),
        "C2": ("amber", [_earlier(1)]),
    }
    assert {c.rag for c in second.values()} == {"green"}  # the later incident does not count


# --- Amendments -------------------------------------------------------------------------------


def _standard(doc: dict) -> dict:
    """The same notification graded standard, with 2 DASH yes answers."""
    doc = copy.deepcopy(doc)
    doc["risk"]["officer_grade"] = "standard"
    doc["risk"].pop("officer_rationale")
    doc["risk"]["answers"] = {
        k: ("yes" if k in ("1", "2") else "no") for k in doc["risk"]["answers"]
    }
    return doc


AMENDED_AT = RECEIVED + dt.timedelta(hours=1)
PRESENT = ["The child was present at or witnessed the incident"]
# Received Monday 23 Nov: amber by the end of Tuesday (GMT).
AMBER_DUE = dt.datetime(2026, 11, 24, 23, 59, 59, tzinfo=UTC)


def test_an_amendment_rates_a_waiting_contact_again_from_its_first_receipt(client, msp_token):
    original = example("notification-high-risk.json")
    with clock.frozen(RECEIVED):
        assert _post(client, _raw(original), msp_token).status_code == 201
    before = _contacts(Notification.objects.get())
    assert {c.rag for c in before.values()} == {"red"}

    amended = _standard(original)
    with clock.frozen(AMENDED_AT):
        response = _put(client, amended, msp_token)
    assert response.status_code == 201, response.content
    assert {
        c["child_ref"]: (c["rag"], _time(c["due_at"])) for c in response.json()["contacts"]
    } == {
        "C1": ("amber", AMBER_DUE),
        "C2": ("amber", AMBER_DUE),
    }
    for ref, contact in _contacts(Notification.objects.get()).items():
        assert contact.received_at == RECEIVED  # still counted from the first receipt
        assert (contact.rag, contact.rag_reasons, contact.policy_version) == ("amber", PRESENT, 1)
        assert contact.due_at == contact.next_due_at == AMBER_DUE
        [screening] = Clock.objects.filter(contact=contact, kind=ClockKind.SCREENING)
        assert (screening.state, screening.due_at) == (ClockState.RUNNING, AMBER_DUE)
        assert screening.rule.startswith("Amber")
        assert contact.pk == before[ref].pk
    # Explaining version 2 at the first receipt gives the same.
    explained = triage_explain(raw=_raw(amended), received_at=RECEIVED)
    assert_stored_as_explained(Notification.objects.get(), explained)


def test_an_amendment_rates_again_a_contact_in_screening_but_not_a_decided_one(reference, alice):
    original = example("notification-high-risk.json")
    notification = _receive(original, RECEIVED)
    contacts = _contacts(notification)
    Contact.objects.filter(pk__in=[c.pk for c in contacts.values()]).update(assigned_to=alice)
    with clock.frozen(RECEIVED + dt.timedelta(minutes=10)):
        for contact in contacts.values():
            contact.refresh_from_db()
            contact_transition(contact=contact, to=ContactStatus.SCREENING, by=alice, note="Mine")
        contact_decide(
            contact=contacts["C1"],
            decided_by=alice,
            outcome=Outcome.STRATEGY_DISCUSSION_S47,
            rationale="High risk; strangulation.",
        )
    with clock.frozen(AMENDED_AT):
        notification_amend(
            force_code="MSP",
            incident_reference=original["incident_reference"],
            raw=_raw(_standard(original)),
            channel=Channel.API,
        )
    after = _contacts(notification)
    amy, leo = after["C1"], after["C2"]
    assert (amy.status, amy.rag, amy.rag_reasons, amy.due_at) == (
        ContactStatus.DECIDED,
        "red",
        HIGH_RISK_REASONS,
        RECEIVED + dt.timedelta(hours=4),
    )
    assert Clock.objects.get(contact=amy, kind=ClockKind.SCREENING).due_at == (
        RECEIVED + dt.timedelta(hours=4)
    )
    assert (leo.status, leo.rag, leo.rag_reasons, leo.due_at) == (
        ContactStatus.SCREENING,
        "amber",
        PRESENT,
        AMBER_DUE,
    )
    assert Clock.objects.get(contact=leo, kind=ClockKind.SCREENING).due_at == AMBER_DUE


def test_a_child_first_named_in_an_amendment_is_rated_with_clocks_and_a_notice(client, msp_token):
    original = example("notification-high-risk.json")
    with clock.frozen(RECEIVED):
        _post(client, _raw(original), msp_token)
    amended = copy.deepcopy(original)
    amended["recorded_at"] = "2026-11-23T09:30:00+00:00"
    amended["people"].append(
        {
            "ref": "C3",
            "role": "child",
            "given_names": "Ivy",
            "family_name": "Example",
            "date_of_birth": "2018-02-02",
            "sex": "F",
            "lives_at_incident_address": True,
            "present_at_incident": False,
            "school_urn": "900001",
        }
    )
    with clock.frozen(AMENDED_AT):
        response = _put(client, amended, msp_token)
    assert response.status_code == 201, response.content
    ivy = Contact.objects.get(child_ref="C3")
    assert ivy.received_at == AMENDED_AT
    assert (ivy.rag, ivy.rag_reasons, ivy.policy_version) == ("red", HIGH_RISK_REASONS, 1)
    assert ivy.due_at == ivy.next_due_at == AMENDED_AT + dt.timedelta(hours=4)
    screening = Clock.objects.get(contact=ivy, kind=ClockKind.SCREENING)
    assert (screening.state, screening.due_at) == (ClockState.RUNNING, ivy.due_at)
    notice = EncompassNotice.objects.select_related("recipient").get(contact=ivy)
    # Recorded Monday 09:30, after the school day started: due Tuesday 08:30.
    assert notice.due_at == dt.datetime(2026, 11, 24, 8, 30, tzinfo=UTC)
    assert notice.due_at == encompass_due(_time(amended["recorded_at"]), notice.recipient)
    assert Clock.objects.get(contact=ivy, kind=ClockKind.ENCOMPASS).due_at == notice.due_at
    assert {e["child_ref"] for e in response.json()["encompass"]} == {"C1", "C3"}
    assert EncompassNotice.objects.count() == 2  # Amy's is not made twice


def test_an_amendment_replaces_the_person_keys_with_its_own_people(reference):
    original = example("notification-high-risk.json")
    notification = _receive(original, RECEIVED)
    amended = copy.deepcopy(original)
    victim = next(p for p in amended["people"] if p["role"] == "victim")
    victim["family_name"] = "Sample"
    amended["people"] = [p for p in amended["people"] if p["ref"] != "C2"]
    amended["relationships"] = [
        r for r in amended["relationships"] if "C2" not in (r["from"], r["to"])
    ]
    with clock.frozen(AMENDED_AT):
        notification_amend(
            force_code="MSP",
            incident_reference=original["incident_reference"],
            raw=_raw(amended),
            channel=Channel.IMPORT,
        )
    keys = set(
        PersonKey.objects.filter(notification=notification).values_list("role", "person_ref", "key")
    )
    assert keys == {
        ("victim", "V1", _key("Jane", "Sample", "1992-04-02")),
        ("suspect", "S1", _key("John", "Example", "1989-09-30")),
        ("child", "C1", _key("Amy", "Example", "2017-06-11")),
    }


def test_an_amendment_moves_a_screening_clock_the_sweep_marked_breached(reference):
    from safehub.timescales.clocks import clocks_sweep

    original = example("notification-high-risk.json")
    notification = _receive(original, RECEIVED)  # red: due 13:00
    # Both screening clocks (due 13:00) and the Encompass clock (due 08:30).
    assert clocks_sweep(now=RECEIVED + dt.timedelta(hours=5)) == 3
    with clock.frozen(RECEIVED + dt.timedelta(hours=5)):
        notification_amend(
            force_code="MSP",
            incident_reference=original["incident_reference"],
            raw=_raw(_standard(original)),
            channel=Channel.IMPORT,
        )
    for contact in _contacts(notification).values():
        assert contact.due_at == AMBER_DUE
        screening = Clock.objects.get(contact=contact, kind=ClockKind.SCREENING)
        assert screening.due_at == contact.due_at
        assert contact.next_due_at == contact.due_at


def test_an_amendment_rates_a_contact_again_under_the_version_that_first_rated_it(reference, mary):
    original = example("notification-high-risk.json")
    notification = _receive(original, RECEIVED)
    rules = copy.deepcopy(DEFAULT_RULES)
    rules["rag"]["amber"] = [
        r for r in rules["rag"]["amber"] if r["code"] != "child_present_or_witnessed"
    ]
    policy_publish(rules=rules, note="No amber for presence alone.", published_by=mary)
    with clock.frozen(AMENDED_AT):
        notification_amend(
            force_code="MSP",
            incident_reference=original["incident_reference"],
            raw=_raw(_standard(original)),
            channel=Channel.IMPORT,
        )
    # Under version 2 the children would be green; version 1 rated them, and still does.
    for contact in _contacts(notification).values():
        assert (contact.rag, contact.rag_reasons, contact.policy_version) == ("amber", PRESENT, 1)
