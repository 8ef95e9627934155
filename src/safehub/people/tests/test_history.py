"""History on the contact (issue 4 item 4), with the person index's rows built by hand: the
chronology is newest first and names each entry's holder; what another council holds shows only
that it exists; the household comes from the relationships; the contact page shows and audits
it; triage's "earlier notification" and "child protection plan" rules read the index, so a child
with an open plan under another spelling is rated red.

Amy Example (born 11 June 2017) lives in Wirral. Liverpool knows her as "Amy Smith": she has an
open child protection plan there from 3 March 2026. Police notified Wirral about "Aimee Exampel"
in September. The index links all three records to one person."""

import copy
import datetime as dt
import json
import uuid

import pytest
from django.urls import reverse

from safehub.accounts.models import Agency
from safehub.audit.models import Action, AuditEvent
from safehub.casework.models import CaseEpisode, ChildProtectionPlan
from safehub.core.testing import example
from safehub.intake.models import Channel, Notification, PersonKey
from safehub.intake.services import notification_receive
from safehub.intake.validation import validate_notification
from safehub.people.history import contact_history, household_of, matched_from_body, record_ref
from safehub.people.models import (
    LinkMethod,
    Person,
    Relationship,
    SourceKind,
    SourceRecord,
)
from safehub.referrals.models import Contact, Routing
from safehub.referrals.triage import TriageContext, triage_assess, triage_explain, triage_keys

UTC = dt.UTC
RECEIVED = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SEPTEMBER = dt.datetime(2026, 9, 14, 20, 0, tzinfo=UTC)
PLAN_START = dt.date(2026, 3, 3)
PLAN_REASON = "The child is already subject of a child protection plan"


@pytest.fixture(autouse=True)
def index_by_hand(monkeypatch):
    """These tests build the index's rows themselves: intake's own indexing is switched off."""
    import safehub.intake.services as intake

    monkeypatch.setattr(intake, "notifications_people_index", lambda **kwargs: [])
    monkeypatch.setattr(intake, "notification_people_reindex", lambda **kwargs: None)


# --- A small factory for the index's rows ---------------------------------------------------


def person() -> Person:
    return Person.objects.create(created_at=RECEIVED)


def record(
    who: Person,
    *,
    kind: str = SourceKind.NOTIFICATION,
    source: str = "MSP",
    source_ref: str = "",
    notification: Notification | None = None,
    contact: Contact | None = None,
    role: str = "child",
    values: dict | None = None,
    seen_at: dt.datetime = RECEIVED,
) -> SourceRecord:
    return SourceRecord.objects.create(
        person=who,
        source_kind=kind,
        source=source,
        source_ref=source_ref or uuid.uuid4().hex,
        notification=notification,
        contact=contact,
        role=role,
        values=values or {},
        seen_at=seen_at,
        link_method=LinkMethod.AUTO,
        linked_at=seen_at,
    )


def index_notification(
    notification: Notification, people: dict[str, Person] | None = None
) -> dict[str, Person]:
    """What the intake hook would do, by hand: a record for every person the notification names
    (source_ref "<incident>/<ref>"), each linked to `people[ref]` or a new person, and the
    relationships it states."""
    body = json.loads(bytes(notification.versions.get(number=1).body))
    people = dict(people or {})
    records = {}
    for named in body["people"]:
        if named["ref"] not in people:
            people[named["ref"]] = person()
        records[named["ref"]] = record(
            people[named["ref"]],
            source=notification.force_code,
            source_ref=f"{notification.incident_reference}/{named['ref']}",
            notification=notification,
            role=named["role"],
            values=named,
            seen_at=notification.occurred_at,
        )
    for rel in body.get("relationships", []):
        Relationship.objects.create(
            from_person=people[rel["from"]],
            to_person=people[rel["to"]],
            kind=rel["type"],
            record=records[rel["from"]],
            seen_at=notification.occurred_at,
        )
    return people


def body(reference: str, occurred_at: dt.datetime, **child: str) -> dict:
    doc = copy.deepcopy(example("notification-high-risk.json"))
    doc["incident_reference"] = reference
    doc["occurred_at"] = occurred_at.isoformat()
    doc["recorded_at"] = (occurred_at + dt.timedelta(hours=1)).isoformat()
    # A medium-risk incident, so that what the index knows decides the rating.
    doc["risk"]["officer_grade"] = "medium"
    doc["risk"]["officer_rationale"] = None
    doc["risk"]["answers"] = {str(n): "no" for n in range(1, 28)}
    for named in doc["people"]:
        if named["ref"] == "C1":
            named.update(child)
    return doc


def receive(doc: dict, at: dt.datetime) -> Notification:
    receipt = notification_receive(raw=json.dumps(doc).encode(), channel=Channel.IMPORT, now=at)
    assert receipt.created
    return receipt.notification


@pytest.fixture
def liverpool_plan(reference, bob):
    """Liverpool's contact about "Amy Smith" (a school's), its open referral and the plan."""
    liverpool = Agency.objects.get(code="LA341")
    received = dt.datetime(2026, 2, 10, 10, 0, tzinfo=UTC)
    contact = Contact.objects.create(
        routing=Routing.ROUTED,
        local_authority=liverpool,
        received_at=received,
        referral_source="2A",
        given_names="Amy",
        family_name="Smith",
        date_of_birth=dt.date(2017, 6, 11),
        status="decided",
    )
    episode = CaseEpisode.objects.create(
        contact=contact,
        local_authority=liverpool,
        referral_date=received.date(),
        referral_source="2A",
        opened_at=received,
        opened_by=bob,
    )
    plan = ChildProtectionPlan.objects.create(
        episode=episode, started_on=PLAN_START, initial_category="EMO", latest_category="EMO"
    )
    return contact, episode, plan


@pytest.fixture
def amy(reference, liverpool_plan):
    """Amy's September notification (spelled "Aimee Exampel") and this week's, each with Wirral
    contacts, and Liverpool's record of her, all one person in the index."""
    september = receive(
        body("MSP-26-003100", SEPTEMBER, given_names="Aimee", family_name="Exampel"),
        SEPTEMBER + dt.timedelta(hours=2),
    )
    earlier = index_notification(september)
    now = receive(body("MSP-26-004900", dt.datetime(2026, 11, 20, 22, 15, tzinfo=UTC)), RECEIVED)
    index_notification(now, earlier)  # the same four people, linked
    child = earlier["C1"]
    liverpool_contact = liverpool_plan[0]
    record(
        child,
        kind=SourceKind.CONTACT,
        source="LA341",
        contact=liverpool_contact,
        values={"given_names": "Amy", "family_name": "Smith", "date_of_birth": "2017-06-11"},
        seen_at=liverpool_contact.received_at,
    )
    return {
        "september": september,
        "now": now,
        "person": child,
        "people": earlier,
        "contact": Contact.objects.get(notification=now, child_ref="C1"),
    }


# --- The lookups -------------------------------------------------------------------------------


def test_record_ref_reads_the_values_first_then_the_source_ref():
    assert record_ref(source_ref="MSP-26-1/C1") == "C1"
    assert record_ref(source_ref="C1") == "C1"
    assert record_ref(source_ref="MSP/MSP-26-1/C1", values={"ref": "C1"}) == "C1"
    assert record_ref(source_ref="x:y", values={"ref": "V/2"}) == "V/2"


def test_household_has_parents_step_parents_siblings_and_partners(amy):
    people = amy["people"]
    household = household_of([people["C1"].pk])
    assert household[people["C1"].pk] == "This child"
    assert household[people["V1"].pk] == "Parent"
    assert household[people["S1"].pk] == "Step-parent"
    # Leo is the child of the same mother: a sibling, though no record says "sibling".
    assert household[people["C2"].pk] == "Sibling"


# --- The chronology ----------------------------------------------------------------------------


def test_chronology_is_newest_first_and_names_each_holder(amy, alice):
    history = contact_history(contact=amy["contact"], fetched_by=alice)
    assert history.person_ids == {amy["person"].pk}
    days = [e.on for e in history.entries]
    assert days == sorted(days, reverse=True)
    kinds = {e.kind for e in history.entries}
    assert {"Police notification", "Contact", "Child protection plan"} <= kinds
    assert all(e.holder for e in history.entries)
    september = [e for e in history.entries if e.kind == "Police notification"]
    assert len(september) == 1  # this week's own notification is the page itself
    assert september[0].full
    assert september[0].holder == "Merseyside Police"
    assert "MSP-26-003100" in september[0].summary
    assert any("as the victim" in d for d in september[0].details)


def test_another_councils_plan_shows_only_that_it_exists_and_who_holds_it(amy, alice):
    history = contact_history(contact=amy["contact"], fetched_by=alice)
    plan = next(e for e in history.entries if e.kind == "Child protection plan")
    assert not plan.full
    assert "Liverpool" in plan.holder
    assert plan.summary.startswith("Known to ")
    assert "child protection plan from 3 March 2026, open" in plan.summary
    assert "Contact them" in plan.summary
    # No category, no link, no details.
    assert "Emotional" not in plan.summary and not plan.details and not plan.url
    assert plan.status == "Open"
    contact = next(e for e in history.entries if e.kind == "Contact" and "Liverpool" in e.holder)
    assert not contact.full and "School" not in contact.summary


def test_the_holding_council_sees_its_plan_in_full(amy, bob):
    history = contact_history(contact=amy["contact"], fetched_by=bob)
    plan = next(e for e in history.entries if e.kind == "Child protection plan")
    assert plan.full
    assert "Category: Emotional abuse" in plan.details
    # Wirral's September notification, routed to Wirral alone, is Merseyside's and Wirral's.
    notice = next(e for e in history.entries if e.kind == "Police notification")
    assert not notice.full
    assert "Merseyside Police" in notice.holder and "Known to" in notice.summary


def test_counts_follow_the_person_whatever_the_spelling(amy, alice):
    history = contact_history(contact=amy["contact"], fetched_by=alice)
    counts = {c.label: c.value for c in history.counts}
    child = next(v for k, v in counts.items() if k.startswith("Earlier police notifications"))
    assert child == "1"  # September's "Aimee Exampel"
    victim = next(v for k, v in counts.items() if "as victim" in k)
    assert victim == "2"


def test_a_child_the_index_does_not_hold_has_an_empty_history(reference, alice):
    notification = receive(body("MSP-26-004901", dt.datetime(2026, 11, 20, tzinfo=UTC)), RECEIVED)
    contact = Contact.objects.get(notification=notification, child_ref="C1")
    history = contact_history(contact=contact, fetched_by=alice)
    assert not history.in_index and history.entries == [] and history.members == []
    assert history.counts[0].value == "0"


def test_the_contact_page_shows_the_history_and_audits_it(client, amy, alice):
    client.force_login(alice)
    response = client.get(reverse("referrals:contact_detail", args=[amy["contact"].pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="history"' in page and 'id="chronology"' in page
    assert "Known to " in page and "child protection plan from 3 March 2026" in page
    assert "Emotional abuse" not in page
    event = AuditEvent.objects.filter(action=Action.VIEW, object_id=str(amy["contact"].pk)).latest(
        "at"
    )
    shown = event.detail["history"]
    assert shown["persons"] == [amy["person"].reference]
    plan = ChildProtectionPlan.objects.get()
    assert f"casework.childprotectionplan:{plan.pk}" in shown["existence_only"]
    assert f"intake.notification:{amy['september'].pk}" in shown["shown"]


# --- Triage reads the index --------------------------------------------------------------------


def _assess(doc: dict, matched_people: dict | None = None):
    raw = json.dumps(doc).encode()
    parsed, errors = validate_notification(raw, now=RECEIVED)
    assert parsed is not None, errors
    notification = Notification()
    keys = triage_keys(notification=notification, body=parsed)
    matched = []
    if matched_people is not None:
        matched = [
            matched_from_body(notification_id=notification.pk, body=parsed, people=matched_people)
        ]
    context = TriageContext.load(items=[(parsed, keys)], received_at=RECEIVED, matched=matched)
    return triage_assess(
        body=parsed,
        notification_id=notification.pk,
        keys=keys,
        received_at=RECEIVED,
        context=context,
    )


def test_a_child_with_an_open_plan_under_another_spelling_is_red(amy):
    doc = body(
        "MSP-26-005000",
        dt.datetime(2026, 11, 22, 21, 0, tzinfo=UTC),
        given_names="Amey",
        family_name="Exampl",
    )
    # The hook matched "Amey Exampl" to Amy: the plan Liverpool holds under "Amy Smith" counts.
    people = amy["people"]
    matched = {ref: people[ref].pk for ref in ("C1", "V1", "S1", "C2")}
    assessed = _assess(doc, matched)
    rating = assessed.children["C1"].rating
    assert rating.rag == "red"
    assert PLAN_REASON in rating.reasons
    # Her brother has no plan: amber for the earlier notification and being present.
    assert assessed.children["C2"].rating.rag == "amber"
    # Without the index the same body knows nothing of the plan.
    assert PLAN_REASON not in _assess(doc).children["C1"].rating.reasons


def test_an_ended_plan_does_not_rate_red_but_an_open_case_rates_amber(amy, liverpool_plan):
    _, _, plan = liverpool_plan
    plan.ended_on = dt.date(2026, 10, 1)
    plan.save()
    doc = body("MSP-26-005001", dt.datetime(2026, 11, 22, 21, 0, tzinfo=UTC), given_names="Amey")
    rating = _assess(doc, {"C1": amy["person"].pk}).children["C1"].rating
    assert rating.rag == "amber"
    assert "The child has an open children's social care case" in rating.reasons


def test_earlier_notifications_count_the_persons_spelling_variants(amy):
    doc = body("MSP-26-005002", dt.datetime(2026, 11, 22, 21, 0, tzinfo=UTC), given_names="Amey")
    people = amy["people"]
    assessed = _assess(doc, {ref: people[ref].pk for ref in ("C1", "V1", "S1")})
    # September (Aimee Exampel) and this week: both name her, and her mother as victim.
    assert assessed.children["C1"].earlier == 2
    assert assessed.victims[0].same_victim == 3
    assert [c.code for c in assessed.victims[0].criteria] == ["potential_escalation"]


def test_the_exact_key_finds_the_index_person_before_the_hook_runs(amy):
    """No hook: a notification naming Amy exactly as this week's did is received by intake;
    the key finds her index person, and her plan under "Amy Smith" rates her red, as explain
    says."""
    doc = body("MSP-26-005003", dt.datetime(2026, 11, 22, 21, 0, tzinfo=UTC))
    explained = triage_explain(raw=json.dumps(doc).encode(), received_at=RECEIVED)
    item = next(c for c in explained["contacts"] if c["child_ref"] == "C1")
    assert item["rag"] == "red" and PLAN_REASON in item["reasons"]
    stored = receive(doc, RECEIVED)
    contact = Contact.objects.get(notification=stored, child_ref="C1")
    assert contact.rag == "red" and contact.rag_reasons == item["reasons"]
    assert PersonKey.objects.filter(notification=stored).exists()
