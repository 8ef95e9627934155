"""The statutory clocks on a child's contact, as intake, the decisions and Operation Encompass move
them: screening from receipt; referral decision, strategy discussion and assessment from a
decision (Working Together T1-T3, statutory.md §1, working days per §8); the Encompass notice;
the breach sweep; and `Contact.next_due_at`, the soonest open deadline the queue orders by."""

import copy
import datetime as dt
import json

import pytest
from django.db import transaction

from safehub.core import clock
from safehub.core.outbox import outbox_deliver_due
from safehub.core.testing import example, example_bytes
from safehub.encompass.models import EncompassNotice
from safehub.encompass.services import encompass_sweep
from safehub.intake.models import Channel, Notification
from safehub.intake.services import notification_receive, notifications_receive_batch
from safehub.referrals.decisions import (
    contact_decide,
    contact_transition,
    decision_return,
    decision_sign_off,
)
from safehub.referrals.models import Contact, ContactStatus, Decision, Outcome
from safehub.timescales.clocks import clocks_sweep
from safehub.timescales.models import Clock, ClockKind, ClockState

UTC = dt.UTC
K = ClockKind
# Sunday 22 Nov 2026, 21:00 GMT: after the two-authorities example was recorded (20:10).
SUNDAY_NIGHT = dt.datetime(2026, 11, 22, 21, 0, tzinfo=UTC)
# Saturday 21 Nov 2026, 00:10 GMT: after the high-risk example was recorded (Friday 23:40).
SATURDAY_NIGHT = dt.datetime(2026, 11, 21, 0, 10, tzinfo=UTC)
MONDAY_0830 = dt.datetime(2026, 11, 23, 8, 30, tzinfo=UTC)


def end_of_day_london(day: dt.date) -> dt.datetime:
    """23:59:59 Europe/London on `day`, in UTC, written out independently of the calendar."""
    summer = dt.date(day.year, 3, 29) <= day < dt.date(day.year, 10, 25)  # BST in 2026
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=UTC) - dt.timedelta(
        hours=1 if summer else 0
    )


def high_risk(occurred: dt.datetime, recorded: dt.datetime, reference_no: str) -> bytes:
    doc = copy.deepcopy(example("notification-high-risk.json"))
    doc["incident_reference"] = reference_no
    doc["occurred_at"] = occurred.isoformat()
    doc["recorded_at"] = recorded.isoformat()
    return json.dumps(doc).encode()


def receive(raw: bytes, at: dt.datetime) -> Notification:
    receipt = notification_receive(raw=raw, channel=Channel.IMPORT, now=at)
    assert receipt.created
    return receipt.notification


def clocks(contact: Contact, kind: str | None = None) -> list[Clock]:
    found = Clock.objects.filter(contact=contact).order_by("started_at", "id")
    return list(found.filter(kind=kind) if kind else found)


def assert_next_due(contact: Contact) -> None:
    """Contact.next_due_at is the soonest open clock that is the hub's to meet (not Encompass),
    worked out here from the clocks themselves."""
    contact.refresh_from_db()
    open_due = [
        c.due_at
        for c in clocks(contact)
        if c.kind != K.ENCOMPASS
        and c.met_at is None
        and c.state in (ClockState.RUNNING, ClockState.BREACHED)
    ]
    assert contact.next_due_at == (min(open_due) if open_due else None)


def screen(contact: Contact, user, at: dt.datetime) -> Contact:
    Contact.objects.filter(pk=contact.pk).update(assigned_to=user)
    contact.refresh_from_db()
    with clock.frozen(at):
        contact_transition(contact=contact, to=ContactStatus.SCREENING, by=user, note="Mine.")
    contact.refresh_from_db()
    return contact


def decide(contact: Contact, user, outcome: str, at: dt.datetime) -> Decision:
    with clock.frozen(at):
        decision = contact_decide(
            contact=contact, decided_by=user, outcome=outcome, rationale="As discussed."
        )
    assert decision.decided_at == at
    return decision


# --- Intake -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["api", "batch"])
def test_intake_starts_a_screening_clock_per_contact_and_an_encompass_clock_per_notice(
    client, msp_token, path
):
    raw = example_bytes("notification-two-authorities.json")
    if path == "api":
        with clock.frozen(SUNDAY_NIGHT):
            response = client.post(
                "/api/v1/notifications",
                data=raw,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {msp_token}",
            )
        assert response.status_code == 201, response.content
    else:
        with transaction.atomic():
            [receipt] = notifications_receive_batch([raw], channel=Channel.IMPORT, now=SUNDAY_NIGHT)
        assert receipt.created
    recorded = dt.datetime(2026, 11, 22, 20, 10, tzinfo=UTC)
    contacts = {c.child_ref: c for c in Contact.objects.all()}
    assert sorted(contacts) == ["C1", "C2", "U1"]
    # Amber (Ravi, Maya) by the end of the first working day after Sunday; red (unborn) in 4 h.
    expected_due = {
        "C1": end_of_day_london(dt.date(2026, 11, 23)),
        "C2": end_of_day_london(dt.date(2026, 11, 23)),
        "U1": SUNDAY_NIGHT + dt.timedelta(hours=4),
    }
    for ref, contact in contacts.items():
        [screening] = clocks(contact, K.SCREENING)
        assert (screening.state, screening.started_at, screening.due_at, screening.met_at) == (
            ClockState.RUNNING,
            SUNDAY_NIGHT,
            expected_due[ref],
            None,
        )
        assert screening.due_at == contact.due_at
        assert screening.rule
        # Ravi's and Maya's Encompass notices are due at 08:30 on Monday, sooner than their
        # screening: the queue still orders by screening.
        assert contact.next_due_at == expected_due[ref]
        assert_next_due(contact)
    for ref in ("C1", "C2"):
        notice = EncompassNotice.objects.get(contact=contacts[ref])
        [encompass] = clocks(contacts[ref], K.ENCOMPASS)
        assert (encompass.state, encompass.started_at, encompass.due_at) == (
            ClockState.RUNNING,
            recorded,
            notice.due_at,
        )
        assert notice.due_at == MONDAY_0830
    assert not clocks(contacts["U1"], K.ENCOMPASS)  # unborn: no notice, no clock
    assert Clock.objects.count() == 5


# --- Decisions --------------------------------------------------------------------------------

# Thu 30 Apr 2026 incident; received Fri 1 May 08:00 (BST 09:00): red, due 12:00 UTC.
MAY_RECEIVED = dt.datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
MAY_RED_DUE = MAY_RECEIVED + dt.timedelta(hours=4)
MAY_DECIDED = dt.datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
# Mon 4 May 2026 is a bank holiday: the 1st working day after Fri 1 May is Tue 5 May; the 45th
# is Tue 7 Jul 2026 (statutory.md §8's test vector). Both in summer time: 22:59:59 UTC.
MAY_FIRST_WD = dt.datetime(2026, 5, 5, 22, 59, 59, tzinfo=UTC)
MAY_45TH_WD = dt.datetime(2026, 7, 7, 22, 59, 59, tzinfo=UTC)


@pytest.fixture
def may(reference):
    """Amy's and Leo's contacts, received on Friday 1 May 2026."""
    raw = high_risk(
        dt.datetime(2026, 4, 30, 20, 0, tzinfo=UTC),
        dt.datetime(2026, 4, 30, 21, 0, tzinfo=UTC),
        "MSP-26-500001",
    )
    notification = receive(raw, MAY_RECEIVED)
    return {c.child_ref: c for c in notification.contacts.all()}


def test_deciding_on_time_meets_the_screening_clock(may, alice):
    amy = screen(may["C1"], alice, MAY_RECEIVED + dt.timedelta(minutes=5))
    decide(amy, alice, Outcome.EARLY_HELP, MAY_DECIDED)
    [screening] = clocks(amy, K.SCREENING)
    assert (screening.state, screening.met_at) == (ClockState.MET, MAY_DECIDED)
    assert screening.state_text(MAY_DECIDED) == "Met"
    assert_next_due(amy)


def test_deciding_after_the_due_time_is_a_breach_met_late(may, alice):
    amy = screen(may["C1"], alice, MAY_RECEIVED + dt.timedelta(minutes=5))
    late = MAY_RED_DUE + dt.timedelta(minutes=1)
    decide(amy, alice, Outcome.EARLY_HELP, late)
    [screening] = clocks(amy, K.SCREENING)
    assert (screening.state, screening.met_at, screening.due_at) == (
        ClockState.BREACHED,
        late,
        MAY_RED_DUE,
    )
    assert screening.state_text(late) == "Met late"
    assert_next_due(amy)


@pytest.mark.parametrize(
    "outcome",
    [Outcome.EARLY_HELP, Outcome.NO_FURTHER_ACTION, Outcome.INFORMATION_AND_ADVICE],
)
def test_an_outcome_that_is_not_a_referral_starts_no_clock(may, alice, outcome):
    leo = screen(may["C2"], alice, MAY_DECIDED)
    decide(leo, alice, outcome, MAY_DECIDED)
    assert [c.kind for c in clocks(leo)] == [K.SCREENING]
    leo.refresh_from_db()
    assert leo.next_due_at is None  # nothing left for the hub to meet
    assert_next_due(leo)


# The end of Fri 1 May 2026 in London (summer time).
MAY_SAME_DAY = dt.datetime(2026, 5, 1, 22, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("rag", "discussion_due", "discussion_rule"),
    [
        # A red contact's discussion is held the same day; any other by the end of the first
        # working day after the decision (the policy's defaults).
        ("red", MAY_SAME_DAY, "End of the same day (a red contact) as the decision to hold one"),
        ("amber", MAY_FIRST_WD, "End of the 1st working day after the decision to hold one"),
    ],
)
def test_a_strategy_discussion_starts_the_referral_strategy_and_assessment_clocks(
    may, alice, rag, discussion_due, discussion_rule
):
    Contact.objects.filter(pk=may["C1"].pk).update(rag=rag)
    may["C1"].refresh_from_db()
    amy = screen(may["C1"], alice, MAY_DECIDED)
    decide(amy, alice, Outcome.STRATEGY_DISCUSSION_S47, MAY_DECIDED)
    started = {c.kind: c for c in clocks(amy) if c.kind not in (K.SCREENING, K.ENCOMPASS)}
    assert set(started) == {K.REFERRAL_DECISION, K.STRATEGY_DISCUSSION, K.ASSESSMENT}
    expected = {
        K.REFERRAL_DECISION: (MAY_FIRST_WD, "End of the 1st working day after the referral"),
        K.STRATEGY_DISCUSSION: (discussion_due, discussion_rule),
        K.ASSESSMENT: (MAY_45TH_WD, "End of the 45th working day after the referral"),
    }
    for kind, (due, rule) in expected.items():
        c = started[kind]
        assert (c.state, c.started_at, c.due_at, c.rule, c.met_at) == (
            ClockState.RUNNING,
            MAY_DECIDED,
            due,
            rule,
            None,
        )
    amy.refresh_from_db()
    assert amy.next_due_at == min(MAY_FIRST_WD, discussion_due)
    assert_next_due(amy)


def test_an_assessment_starts_the_referral_and_assessment_clocks_over_christmas(reference, alice):
    # Thu 24 Dec 2026: 25 Dec (Fri) and 28 Dec (Mon, Boxing Day substitute) are bank holidays,
    # so the 1st working day after is Tue 29 Dec; the 45th is Tue 2 Mar 2027 (1 Jan is one too).
    received = dt.datetime(2026, 12, 24, 8, 0, tzinfo=UTC)
    notification = receive(
        high_risk(
            dt.datetime(2026, 12, 23, 22, 0, tzinfo=UTC),
            dt.datetime(2026, 12, 23, 23, 0, tzinfo=UTC),
            "MSP-26-500002",
        ),
        received,
    )
    amy = screen(notification.contacts.get(child_ref="C1"), alice, received)
    decided_at = received + dt.timedelta(hours=1)
    decide(amy, alice, Outcome.ASSESSMENT_S17, decided_at)
    started = {c.kind: c for c in clocks(amy) if c.kind not in (K.SCREENING, K.ENCOMPASS)}
    assert {k: (c.due_at, c.started_at) for k, c in started.items()} == {
        K.REFERRAL_DECISION: (dt.datetime(2026, 12, 29, 23, 59, 59, tzinfo=UTC), decided_at),
        K.ASSESSMENT: (dt.datetime(2027, 3, 2, 23, 59, 59, tzinfo=UTC), decided_at),
    }
    assert_next_due(amy)


def test_signing_off_meets_the_referral_decision_clock(may, alice, mary):
    amy = screen(may["C1"], alice, MAY_DECIDED)
    decision = decide(amy, alice, Outcome.ASSESSMENT_S17, MAY_DECIDED)
    signed = dt.datetime(2026, 5, 5, 10, 0, tzinfo=UTC)
    with clock.frozen(signed):
        decision_sign_off(decision=decision, signed_off_by=mary, note="Agreed.")
    [referral] = clocks(amy, K.REFERRAL_DECISION)
    assert (referral.state, referral.met_at) == (ClockState.MET, signed)
    [assessment] = clocks(amy, K.ASSESSMENT)
    assert (assessment.state, assessment.met_at) == (ClockState.RUNNING, None)
    amy.refresh_from_db()
    assert amy.next_due_at == MAY_45TH_WD
    assert_next_due(amy)


def test_signing_off_late_is_a_breach_met_late(may, alice, mary):
    amy = screen(may["C1"], alice, MAY_DECIDED)
    decision = decide(amy, alice, Outcome.ASSESSMENT_S17, MAY_DECIDED)
    late = MAY_FIRST_WD + dt.timedelta(seconds=1)
    with clock.frozen(late):
        decision_sign_off(decision=decision, signed_off_by=mary, note="Agreed, late.")
    [referral] = clocks(amy, K.REFERRAL_DECISION)
    assert (referral.state, referral.met_at) == (ClockState.BREACHED, late)
    assert_next_due(amy)


def test_returning_a_decision_reopens_screening_and_stops_what_it_started(may, alice, mary):
    amy = screen(may["C1"], alice, MAY_DECIDED)
    decision = decide(amy, alice, Outcome.STRATEGY_DISCUSSION_S47, MAY_DECIDED)
    returned = MAY_DECIDED + dt.timedelta(hours=1)  # before the screening due time (12:00)
    with clock.frozen(returned):
        decision_return(decision=decision, returned_by=mary, note="Check the school first.")
    [screening] = clocks(amy, K.SCREENING)
    assert (screening.state, screening.met_at, screening.due_at) == (
        ClockState.RUNNING,
        None,
        MAY_RED_DUE,
    )
    for kind in (K.REFERRAL_DECISION, K.STRATEGY_DISCUSSION, K.ASSESSMENT):
        [stopped] = clocks(amy, kind)
        assert (stopped.state, stopped.stopped_at, stopped.met_at) == (
            ClockState.STOPPED,
            returned,
            None,
        )
        assert "returned" in stopped.stop_reason
        assert "Check the school first." in stopped.stop_reason
    amy.refresh_from_db()
    assert amy.status == ContactStatus.SCREENING
    assert amy.next_due_at == MAY_RED_DUE
    assert_next_due(amy)

    # Decided again: screening met again, new clocks from the new decision.
    again = returned + dt.timedelta(minutes=30)
    decide(amy, alice, Outcome.ASSESSMENT_S17, again)
    [screening] = clocks(amy, K.SCREENING)
    assert (screening.state, screening.met_at) == (ClockState.MET, again)
    referral = [c for c in clocks(amy, K.REFERRAL_DECISION) if c.state == ClockState.RUNNING]
    assert [c.started_at for c in referral] == [again]
    assert [c.state for c in clocks(amy, K.STRATEGY_DISCUSSION)] == [ClockState.STOPPED]
    assert_next_due(amy)


def test_a_decision_returned_after_the_screening_due_time_leaves_screening_overdue(
    may, alice, mary
):
    amy = screen(may["C1"], alice, MAY_DECIDED)
    decision = decide(amy, alice, Outcome.ASSESSMENT_S17, MAY_DECIDED)
    returned = MAY_RED_DUE + dt.timedelta(hours=1)
    with clock.frozen(returned):
        decision_return(decision=decision, returned_by=mary, note="Look again.")
    [screening] = clocks(amy, K.SCREENING)
    assert (screening.state, screening.met_at) == (ClockState.BREACHED, None)
    assert screening.state_text(returned) == "Overdue"
    assert_next_due(amy)


# --- The breach sweep -------------------------------------------------------------------------


def test_the_sweep_records_running_clocks_past_due_as_breached_and_is_idempotent(may, alice):
    amy, leo = may["C1"], may["C2"]
    amy = screen(amy, alice, MAY_DECIDED)
    decide(amy, alice, Outcome.ASSESSMENT_S17, MAY_DECIDED)  # screening met on time
    # Recorded Thursday 22:00 BST: the Encompass notice was due at 08:30 BST on Friday, before
    # the notification was received; nothing has delivered it.
    [encompass] = clocks(amy, K.ENCOMPASS)
    assert encompass.due_at == dt.datetime(2026, 5, 1, 7, 30, tzinfo=UTC)

    # At 12:00 exactly, the screening clocks are due, not past: only the Encompass one is late.
    assert clocks_sweep(now=MAY_RED_DUE) == 1
    # A second later Leo's screening is past; Amy's referral decision (Tue 5 May) is not.
    assert clocks_sweep(now=MAY_RED_DUE + dt.timedelta(seconds=1)) == 1
    [leo_screening] = clocks(leo, K.SCREENING)
    assert (leo_screening.state, leo_screening.met_at) == (ClockState.BREACHED, None)
    assert clocks_sweep(now=MAY_RED_DUE + dt.timedelta(hours=1)) == 0  # once only

    after_all = MAY_45TH_WD + dt.timedelta(days=1)
    # Amy's referral decision and assessment clocks.
    assert clocks_sweep(now=after_all) == 2
    assert clocks_sweep(now=after_all) == 0
    states = {c.kind: c.state for c in clocks(amy)}
    assert states == {
        K.SCREENING: ClockState.MET,  # met stays met
        K.ENCOMPASS: ClockState.BREACHED,
        K.REFERRAL_DECISION: ClockState.BREACHED,
        K.ASSESSMENT: ClockState.BREACHED,
    }
    # Breached but not met: still the deadlines the queue orders by.
    assert_next_due(amy)
    assert_next_due(leo)
    leo.refresh_from_db()
    assert leo.next_due_at == MAY_RED_DUE


def test_the_sweep_leaves_stopped_clocks_alone(may, alice, mary):
    amy = screen(may["C1"], alice, MAY_DECIDED)
    decision = decide(amy, alice, Outcome.STRATEGY_DISCUSSION_S47, MAY_DECIDED)
    with clock.frozen(MAY_DECIDED + dt.timedelta(minutes=30)):
        decision_return(decision=decision, returned_by=mary, note="Not yet.")
    clocks_sweep(now=MAY_45TH_WD + dt.timedelta(days=1))
    for kind in (K.REFERRAL_DECISION, K.STRATEGY_DISCUSSION, K.ASSESSMENT):
        assert [c.state for c in clocks(amy, kind)] == [ClockState.STOPPED]
    assert_next_due(amy)


# --- next_due_at through a whole journey ------------------------------------------------------


def test_next_due_at_follows_the_soonest_open_clock_at_every_step(may, alice, mary):
    amy = may["C1"]
    assert_next_due(amy)
    amy = screen(amy, alice, MAY_DECIDED)
    assert_next_due(amy)
    first = decide(amy, alice, Outcome.STRATEGY_DISCUSSION_S47, MAY_DECIDED)
    assert_next_due(amy)
    with clock.frozen(MAY_DECIDED + dt.timedelta(minutes=20)):
        decision_return(decision=first, returned_by=mary, note="Speak to the school.")
    assert_next_due(amy)
    clocks_sweep(now=MAY_RED_DUE + dt.timedelta(minutes=1))  # screening now overdue
    assert_next_due(amy)
    second = decide(amy, alice, Outcome.ASSESSMENT_S17, MAY_RED_DUE + dt.timedelta(minutes=2))
    assert_next_due(amy)
    with clock.frozen(MAY_RED_DUE + dt.timedelta(hours=1)):
        decision_sign_off(decision=second, signed_off_by=mary, note="Agreed.")
    assert_next_due(amy)
    amy.refresh_from_db()
    assert amy.next_due_at == dt.datetime(2026, 7, 7, 22, 59, 59, tzinfo=UTC)
    clocks_sweep(now=MAY_45TH_WD + dt.timedelta(days=1))
    assert_next_due(amy)


# --- Operation Encompass ----------------------------------------------------------------------


def test_the_encompass_clock_is_met_when_the_sweep_records_the_email_delivered(reference, smtp):
    with clock.frozen(SATURDAY_NIGHT):
        notification = receive(example_bytes("notification-high-risk.json"), SATURDAY_NIGHT)
    amy = notification.contacts.get(child_ref="C1")
    screening_before = amy.next_due_at
    sent_at = SATURDAY_NIGHT + dt.timedelta(minutes=1)
    with clock.frozen(sent_at):
        assert outbox_deliver_due() == 1
        [encompass] = clocks(amy, K.ENCOMPASS)
        assert encompass.state == ClockState.RUNNING  # delivered, not yet recorded
        assert encompass_sweep().delivered == 1
    [encompass] = clocks(amy, K.ENCOMPASS)
    assert (encompass.state, encompass.met_at, encompass.due_at) == (
        ClockState.MET,
        sent_at,
        MONDAY_0830,
    )
    assert len(smtp.messages) == 1
    amy.refresh_from_db()
    assert amy.next_due_at == screening_before  # not the hub's clock
    assert_next_due(amy)


def test_an_encompass_email_delivered_after_its_due_time_is_met_late(reference, smtp):
    smtp.stop()
    with clock.frozen(SATURDAY_NIGHT):
        notification = receive(example_bytes("notification-high-risk.json"), SATURDAY_NIGHT)
        assert outbox_deliver_due() == 0
    smtp.start()
    late = MONDAY_0830 + dt.timedelta(minutes=5)
    with clock.frozen(late):
        assert outbox_deliver_due() == 1
        encompass_sweep()
    [encompass] = clocks(notification.contacts.get(child_ref="C1"), K.ENCOMPASS)
    assert (encompass.state, encompass.met_at) == (ClockState.BREACHED, late)
