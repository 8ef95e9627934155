"""The front-door workflow: take next, reassign, decide, sign off or return.

Alice screens for Wirral and Mary manages her; Bob works for Liverpool and must never touch a
Wirral child.
"""

import datetime as dt
import threading

import pytest
from django.db import connection

from safehub.accounts.models import Agency
from safehub.audit.models import AuditEvent
from safehub.core import clock
from safehub.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from safehub.referrals.decisions import (
    ALLOWED_PREVIOUS,
    contact_decide,
    contact_reassign,
    contact_take_next,
    contact_transition,
    decision_return,
    decision_sign_off,
)
from safehub.referrals.models import (
    Contact,
    ContactStatus,
    ContactStatusChange,
    Decision,
    Outcome,
    ReferralSource,
    Routing,
    SignOff,
)
from safehub.referrals.selectors import contact_counts_by_status, decisions_awaiting_sign_off
from safehub.timescales.clocks import clock_start
from safehub.timescales.models import ClockKind

S = ContactStatus
T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


def make_contact(
    name: str = "Ravi",
    *,
    council: str | None = "LA344",
    status: str = S.RECEIVED,
    due_in_hours: float | None = None,
    received_minutes_ago: int = 60,
    assigned_to=None,
    referral_source: str = ReferralSource.POLICE,
) -> Contact:
    due = T0 + dt.timedelta(hours=due_in_hours) if due_in_hours is not None else None
    contact = Contact.objects.create(
        given_names=name,
        family_name="Demo",
        local_authority=Agency.objects.get(code=council) if council else None,
        routing=Routing.ROUTED if council else Routing.NO_ADDRESS,
        received_at=T0 - dt.timedelta(minutes=received_minutes_ago),
        due_at=due,
        next_due_at=due,
        referral_source=referral_source,
        status=status,
        assigned_to=assigned_to,
    )
    if due is not None:
        clock_start(
            contact=contact,
            kind=ClockKind.SCREENING,
            started_at=contact.received_at,
            due_at=due,
        )
    return contact


@pytest.fixture
def screening(alice):
    """A Wirral contact that Alice is screening."""
    return make_contact(status=S.SCREENING, assigned_to=alice)


@pytest.fixture
def decided(screening, alice):
    return contact_decide(
        contact=screening,
        decided_by=alice,
        outcome=Outcome.EARLY_HELP,
        rationale="Parents engaging; no injury; first call-out.",
    )


def history(contact: Contact) -> list[tuple[str, str]]:
    return list(
        ContactStatusChange.objects.filter(contact=contact)
        .order_by("id")
        .values_list("from_status", "to_status")
    )


# The state table ---------------------------------------------------------------------------


ALL_MOVES = [(a, b) for a in S.values for b in S.values if a != b]
LEGAL = {(prev, to) for to, prevs in ALLOWED_PREVIOUS.items() for prev in prevs}


def test_the_state_table_is_the_front_door_workflow():
    assert {
        (S.RECEIVED, S.SCREENING),
        (S.SCREENING, S.DECIDED),
        (S.DECIDED, S.CLOSED),
        (S.DECIDED, S.SCREENING),
    } == LEGAL


@pytest.mark.parametrize(("start", "to"), sorted(set(ALL_MOVES) - LEGAL))
def test_every_illegal_move_is_a_conflict_naming_both_states(alice, start, to):
    contact = make_contact(status=start)
    with pytest.raises(Conflict) as refused:
        contact_transition(contact=contact, to=to, by=alice, note="try")
    assert refused.value.status == 409
    assert start in refused.value.message and to in refused.value.message
    contact.refresh_from_db()
    assert contact.status == start
    assert history(contact) == []
    assert not AuditEvent.objects.filter(object_id=str(contact.pk)).exists()


@pytest.mark.parametrize(("start", "to"), sorted(LEGAL))
def test_every_legal_move_records_who_when_why(alice, start, to):
    contact = make_contact(status=start)
    with clock.frozen(T0):
        contact_transition(contact=contact, to=to, by=alice, note="because")
    contact.refresh_from_db()
    assert contact.status == to
    change = ContactStatusChange.objects.get(contact=contact)
    assert (change.from_status, change.to_status, change.by, change.at, change.note) == (
        start,
        to,
        alice,
        T0,
        "because",
    )
    event = AuditEvent.objects.get(object_id=str(contact.pk))
    assert event.detail["status_from"] == start and event.detail["status_to"] == to


@pytest.mark.parametrize("status", S.values)
def test_a_repeated_move_is_a_no_op_without_a_history_row(alice, status):
    contact = make_contact(status=status)
    contact_transition(contact=contact, to=status, by=alice, note="again")
    contact.refresh_from_db()
    assert contact.status == status
    assert history(contact) == []
    assert not AuditEvent.objects.filter(object_id=str(contact.pk)).exists()


def test_an_unknown_status_is_refused(alice):
    with pytest.raises(DomainError, match="to"):
        contact_transition(contact=make_contact(), to="archived", by=alice, note="")


# Take next ---------------------------------------------------------------------------------


def test_take_next_claims_the_soonest_deadline_first(alice):
    make_contact("Later", due_in_hours=8)
    make_contact("Unrated", due_in_hours=None, received_minutes_ago=600)
    soonest = make_contact("Soonest", due_in_hours=2)
    taken = contact_take_next(taken_by=alice)
    assert taken is not None and taken.pk == soonest.pk
    assert taken.status == S.SCREENING and taken.assigned_to == alice
    assert history(taken) == [(S.RECEIVED, S.SCREENING)]
    assert AuditEvent.objects.filter(object_id=str(taken.pk), action="update").count() == 1


def test_take_next_breaks_ties_by_receipt_and_puts_unrated_last(alice):
    newer = make_contact("Newer", due_in_hours=4, received_minutes_ago=10)
    older = make_contact("Older", due_in_hours=4, received_minutes_ago=50)
    unrated = make_contact("Unrated", due_in_hours=None, received_minutes_ago=900)
    order = [contact_take_next(taken_by=alice) for _ in range(3)]
    assert [c.pk for c in order if c] == [older.pk, newer.pk, unrated.pk]


def test_a_second_take_next_gets_a_different_contact(alice, mary):
    make_contact("One", due_in_hours=1)
    make_contact("Two", due_in_hours=2)
    first = contact_take_next(taken_by=alice)
    second = contact_take_next(taken_by=mary)
    assert first is not None and second is not None
    assert first.pk != second.pk
    assert second.assigned_to == mary


def test_take_next_skips_claimed_other_councils_and_unrouted_contacts(alice, mary, bob):
    make_contact("Claimed", due_in_hours=1, assigned_to=mary)
    make_contact("Liverpool", council="LA341", due_in_hours=1)
    make_contact("Unrouted", council=None, due_in_hours=1)
    make_contact("Screening", status=S.SCREENING, due_in_hours=1)
    assert contact_take_next(taken_by=alice) is None
    assert contact_take_next(taken_by=mary) is None


def test_take_next_on_an_empty_queue_is_none(alice):
    assert contact_take_next(taken_by=alice) is None


def test_police_cannot_take_contacts(percy):
    make_contact()
    with pytest.raises(PermissionDenied):
        contact_take_next(taken_by=percy)


@pytest.mark.django_db(transaction=True)
def test_two_workers_taking_next_at_once_get_two_different_contacts(alice, mary):
    if connection.vendor != "postgresql":
        pytest.skip("Row locks with skip_locked need PostgreSQL")
    make_contact("One", due_in_hours=1)
    make_contact("Two", due_in_hours=2)
    barrier = threading.Barrier(2)
    taken: dict[str, object] = {}
    errors: list[BaseException] = []

    def take(worker):
        from django.db import connection as thread_connection

        try:
            barrier.wait(timeout=10)
            contact = contact_take_next(taken_by=worker)
            taken[worker.username] = contact.pk if contact else None
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=take, args=(user,)) for user in (alice, mary)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert None not in taken.values() and len(set(taken.values())) == 2
    assert set(
        Contact.objects.filter(status=S.SCREENING).values_list("assigned_to__username", flat=True)
    ) == {"alice", "mary"}


# Reassignment -----------------------------------------------------------------------------


def test_manager_reassigns_to_a_worker_of_the_council(make_user, mary, screening):
    carol = make_user("carol", "LA344", "hub_social_worker")
    contact_reassign(contact=screening, to_user=carol, by=mary, reason="Alice is on leave")
    screening.refresh_from_db()
    assert screening.assigned_to == carol
    event = AuditEvent.objects.get(object_id=str(screening.pk))
    assert event.detail == {
        "assigned_from": "alice",
        "assigned_to": "carol",
        "reason": "Alice is on leave",
    }


def test_reassigning_a_received_contact_starts_its_screening(alice, mary):
    contact = make_contact()
    contact_reassign(contact=contact, to_user=alice, by=mary, reason="Knows the family")
    contact.refresh_from_db()
    assert (contact.status, contact.assigned_to) == (S.SCREENING, alice)
    assert history(contact) == [(S.RECEIVED, S.SCREENING)]


def test_reassigning_to_the_same_worker_is_a_no_op(alice, mary, screening):
    contact_reassign(contact=screening, to_user=alice, by=mary, reason="again")
    assert not AuditEvent.objects.filter(object_id=str(screening.pk)).exists()


def test_worker_cannot_reassign(make_user, alice, screening):
    carol = make_user("carol", "LA344", "hub_social_worker")
    with pytest.raises(PermissionDenied):
        contact_reassign(contact=screening, to_user=carol, by=alice, reason="swap")
    screening.refresh_from_db()
    assert screening.assigned_to == alice


def test_cannot_reassign_to_another_councils_worker(bob, mary, screening, alice):
    with pytest.raises(DomainError, match="to_user"):
        contact_reassign(contact=screening, to_user=bob, by=mary, reason="wrong council")
    screening.refresh_from_db()
    assert screening.assigned_to == alice


def test_cannot_reassign_to_someone_who_does_not_screen(make_user, mary, screening):
    clerk = make_user("clerk", "LA344", "analyst")
    with pytest.raises(DomainError, match="to_user"):
        contact_reassign(contact=screening, to_user=clerk, by=mary, reason="help")


def test_reassignment_needs_a_reason(make_user, mary, screening):
    carol = make_user("carol", "LA344", "hub_social_worker")
    with pytest.raises(DomainError, match="reason"):
        contact_reassign(contact=screening, to_user=carol, by=mary, reason="  ")


def test_another_councils_manager_cannot_reassign(make_user, screening, alice):
    other = make_user("olive", "LA341", "hub_manager")
    with pytest.raises(NotFound):
        contact_reassign(contact=screening, to_user=alice, by=other, reason="mine now")


def test_a_closed_contact_cannot_be_reassigned(make_user, mary, alice):
    carol = make_user("carol", "LA344", "hub_social_worker")
    contact = make_contact(status=S.CLOSED, assigned_to=alice)
    with pytest.raises(Conflict):
        contact_reassign(contact=contact, to_user=carol, by=mary, reason="late")


# Deciding ---------------------------------------------------------------------------------


def test_the_screening_worker_decides_and_it_awaits_sign_off(alice, screening):
    with clock.frozen(T0):
        decision = contact_decide(
            contact=screening,
            decided_by=alice,
            outcome=Outcome.STRATEGY_DISCUSSION_S47,
            rationale="Child injured; father's threats escalating.",
        )
    decision.refresh_from_db()
    assert decision.sign_off == SignOff.AWAITING_SIGN_OFF
    assert (decision.decided_by, decision.decided_at) == (alice, T0)
    assert decision.referral_source == "6"
    screening.refresh_from_db()
    assert screening.status == S.DECIDED
    assert history(screening) == [(S.SCREENING, S.DECIDED)]
    assert AuditEvent.objects.filter(
        object_type="referrals.decision", object_id=str(decision.pk), action="create"
    ).exists()


@pytest.mark.parametrize(
    ("outcome", "became_referral"),
    [
        (Outcome.NO_FURTHER_ACTION, False),
        (Outcome.INFORMATION_AND_ADVICE, False),
        (Outcome.EARLY_HELP, False),
        (Outcome.ASSESSMENT_S17, True),
        (Outcome.STRATEGY_DISCUSSION_S47, True),
        (Outcome.ALREADY_OPEN, True),
    ],
)
def test_whether_the_contact_became_a_referral_follows_the_outcome(
    alice, screening, outcome, became_referral
):
    decision = contact_decide(
        contact=screening, decided_by=alice, outcome=outcome, rationale="Reasons."
    )
    assert decision.became_referral is became_referral


def test_the_referral_source_comes_from_the_contact(alice):
    contact = make_contact(
        status=S.SCREENING, assigned_to=alice, referral_source=ReferralSource.SCHOOLS
    )
    decision = contact_decide(
        contact=contact, decided_by=alice, outcome=Outcome.EARLY_HELP, rationale="Reasons."
    )
    assert decision.referral_source == "2A"


def test_a_manager_may_decide_a_contact_held_by_a_worker(mary, screening):
    decision = contact_decide(
        contact=screening, decided_by=mary, outcome=Outcome.ASSESSMENT_S17, rationale="Reasons."
    )
    assert decision.decided_by == mary


def assert_nothing_written(contact: Contact, status: str) -> None:
    contact.refresh_from_db()
    assert contact.status == status
    assert not Decision.objects.filter(contact=contact).exists()
    assert history(contact) == []
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("rationale", ["", "   \n"])
def test_a_decision_needs_a_rationale(alice, screening, rationale):
    with pytest.raises(DomainError, match="rationale") as refused:
        contact_decide(
            contact=screening, decided_by=alice, outcome=Outcome.EARLY_HELP, rationale=rationale
        )
    assert refused.value.status == 400
    assert_nothing_written(screening, S.SCREENING)


def test_an_unknown_outcome_is_refused(alice, screening):
    with pytest.raises(DomainError, match="outcome"):
        contact_decide(contact=screening, decided_by=alice, outcome="adopt", rationale="Reasons.")
    assert_nothing_written(screening, S.SCREENING)


def test_another_worker_of_the_council_cannot_decide(make_user, screening):
    carol = make_user("carol", "LA344", "hub_social_worker")
    with pytest.raises(PermissionDenied):
        contact_decide(
            contact=screening, decided_by=carol, outcome=Outcome.EARLY_HELP, rationale="Reasons."
        )
    assert_nothing_written(screening, S.SCREENING)


def test_another_councils_worker_cannot_decide(bob, screening):
    with pytest.raises(NotFound):
        contact_decide(
            contact=screening, decided_by=bob, outcome=Outcome.EARLY_HELP, rationale="Reasons."
        )
    assert_nothing_written(screening, S.SCREENING)


def test_police_cannot_decide(percy, screening):
    with pytest.raises(PermissionDenied):
        contact_decide(
            contact=screening, decided_by=percy, outcome=Outcome.EARLY_HELP, rationale="Reasons."
        )
    assert_nothing_written(screening, S.SCREENING)


@pytest.mark.parametrize("status", [S.RECEIVED, S.DECIDED, S.CLOSED])
def test_only_a_contact_in_screening_can_be_decided(alice, status):
    contact = make_contact(status=status, assigned_to=alice)
    with pytest.raises(Conflict) as refused:
        contact_decide(
            contact=contact, decided_by=alice, outcome=Outcome.EARLY_HELP, rationale="Reasons."
        )
    assert refused.value.status == 409
    assert_nothing_written(contact, status)


# Sign-off and return ----------------------------------------------------------------------


def test_manager_signs_off_and_the_contact_closes(mary, decided):
    with clock.frozen(T0):
        decision_sign_off(decision=decided, signed_off_by=mary, note="Agreed.")
    decided.refresh_from_db()
    assert decided.sign_off == SignOff.SIGNED_OFF
    assert (decided.signed_off_by, decided.signed_off_at, decided.sign_off_note) == (
        mary,
        T0,
        "Agreed.",
    )
    contact = decided.contact
    contact.refresh_from_db()
    assert contact.status == S.CLOSED
    assert history(contact) == [(S.SCREENING, S.DECIDED), (S.DECIDED, S.CLOSED)]
    event = AuditEvent.objects.get(object_type="referrals.decision", action="update")
    assert event.user == mary and event.detail["sign_off"] == "signed_off"


def test_signing_off_twice_is_a_no_op(mary, decided):
    decision_sign_off(decision=decided, signed_off_by=mary, note="Agreed.")
    events = AuditEvent.objects.count()
    decision_sign_off(decision=decided, signed_off_by=mary, note="Agreed again.")
    decided.refresh_from_db()
    assert decided.sign_off_note == "Agreed."
    assert AuditEvent.objects.count() == events
    assert len(history(decided.contact)) == 2


def test_a_manager_cannot_sign_off_their_own_decision(mary, screening):
    decision = contact_decide(
        contact=screening, decided_by=mary, outcome=Outcome.EARLY_HELP, rationale="Reasons."
    )
    with pytest.raises(PermissionDenied) as refused:
        decision_sign_off(decision=decision, signed_off_by=mary, note="Fine by me.")
    assert refused.value.status == 403
    decision.refresh_from_db()
    assert decision.sign_off == SignOff.AWAITING_SIGN_OFF
    screening.refresh_from_db()
    assert screening.status == S.DECIDED


def test_a_worker_cannot_sign_off(make_user, decided):
    carol = make_user("carol", "LA344", "hub_social_worker")
    with pytest.raises(PermissionDenied):
        decision_sign_off(decision=decided, signed_off_by=carol, note="OK")


def test_another_councils_manager_cannot_sign_off(make_user, decided):
    olive = make_user("olive", "LA341", "hub_manager")
    with pytest.raises(NotFound):
        decision_sign_off(decision=decided, signed_off_by=olive, note="OK")
    decided.refresh_from_db()
    assert decided.sign_off == SignOff.AWAITING_SIGN_OFF


def test_manager_returns_a_decision_to_the_worker(mary, alice, decided):
    decision_return(decision=decided, returned_by=mary, note="Check the school's view first.")
    decided.refresh_from_db()
    assert decided.sign_off == SignOff.RETURNED
    assert decided.sign_off_note == "Check the school's view first."
    contact = decided.contact
    contact.refresh_from_db()
    assert (contact.status, contact.assigned_to) == (S.SCREENING, alice)
    assert history(contact) == [(S.SCREENING, S.DECIDED), (S.DECIDED, S.SCREENING)]
    # The worker decides again; that new decision awaits sign-off in its turn.
    again = contact_decide(
        contact=contact, decided_by=alice, outcome=Outcome.ASSESSMENT_S17, rationale="Revised."
    )
    assert list(decisions_awaiting_sign_off(fetched_by=mary)) == [again]


def test_returning_needs_a_note(mary, decided):
    with pytest.raises(DomainError, match="note"):
        decision_return(decision=decided, returned_by=mary, note=" ")
    decided.refresh_from_db()
    assert decided.sign_off == SignOff.AWAITING_SIGN_OFF
    assert decided.contact.status == S.DECIDED


def test_returning_twice_is_a_no_op(mary, decided):
    decision_return(decision=decided, returned_by=mary, note="Look again.")
    decision_return(decision=decided, returned_by=mary, note="Look again.")
    assert len(history(decided.contact)) == 2


def test_a_signed_off_decision_cannot_be_returned(mary, decided):
    decision_sign_off(decision=decided, signed_off_by=mary, note="Agreed.")
    with pytest.raises(Conflict):
        decision_return(decision=decided, returned_by=mary, note="Changed my mind.")
    decided.refresh_from_db()
    assert decided.sign_off == SignOff.SIGNED_OFF


def test_a_returned_decision_cannot_be_signed_off(mary, decided):
    decision_return(decision=decided, returned_by=mary, note="Look again.")
    with pytest.raises(Conflict):
        decision_sign_off(decision=decided, signed_off_by=mary, note="Agreed.")


# Selectors --------------------------------------------------------------------------------


def test_awaiting_sign_off_is_scoped_to_the_council(mary, bob, decided):
    make_contact("Liverpool", council="LA341")
    assert list(decisions_awaiting_sign_off(fetched_by=mary)) == [decided]
    assert list(decisions_awaiting_sign_off(fetched_by=bob)) == []
    decision_sign_off(decision=decided, signed_off_by=mary, note="Agreed.")
    assert list(decisions_awaiting_sign_off(fetched_by=mary)) == []


def test_counts_by_status_cover_every_status_in_scope(alice, bob):
    make_contact("A")
    make_contact("B")
    make_contact("C", status=S.SCREENING, assigned_to=alice)
    make_contact("Liverpool", council="LA341", status=S.CLOSED)
    assert contact_counts_by_status(fetched_by=alice) == {
        "received": 2,
        "screening": 1,
        "decided": 0,
        "closed": 0,
    }
    assert contact_counts_by_status(fetched_by=bob)["closed"] == 1
