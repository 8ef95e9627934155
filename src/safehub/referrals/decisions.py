"""The front-door workflow: a contact is received, taken for screening, decided, and closed once a
manager signs the decision off (or returned to the worker for another look).

One state machine, one table of allowed previous states (`ALLOWED_PREVIOUS`). A repeated
transition is a no-op; an illegal one is a `Conflict` (409). Every move writes a history row and
an audit event in the transaction of the act, so the act and its record stand or fall together.
"""

from typing import Any

from django.db import transaction
from django.db.models import F

from safehub.accounts.models import User
from safehub.accounts.permissions import require, user_can
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.casework.services import episode_ensure
from safehub.core import clock
from safehub.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from safehub.referrals.models import (
    REFERRAL_OUTCOMES,
    Contact,
    ContactStatus,
    ContactStatusChange,
    Decision,
    Outcome,
    SignOff,
)
from safehub.referrals.selectors import contacts_in_scope
from safehub.risk.selectors import policy_active
from safehub.timescales.clocks import (
    clock_due_after,
    clock_meet,
    clock_reopen,
    clock_start,
    clocks_next_due,
    clocks_stop,
    strategy_discussion_due,
)
from safehub.timescales.models import ClockKind

S = ContactStatus

# The state that a contact may move to, and the states it may come from. Nothing else is allowed.
ALLOWED_PREVIOUS: dict[str, frozenset[str]] = {
    # From decided back to screening: a manager returned the decision to the worker.
    S.SCREENING: frozenset({S.RECEIVED, S.DECIDED}),
    S.DECIDED: frozenset({S.SCREENING}),
    S.CLOSED: frozenset({S.DECIDED}),
}


def _lock(contact: Contact) -> Contact:
    locked = Contact.objects.select_for_update().filter(pk=contact.pk).first()
    if locked is None:
        raise NotFound("No such contact.")
    return locked


def _in_scope(*, contact_id: Any, user: User) -> None:
    """Outside the user's scope is 'not found', never 'forbidden'."""
    if not contacts_in_scope(fetched_by=user).filter(pk=contact_id).exists():
        raise NotFound("No such contact.")


def contact_transition(
    *,
    contact: Contact,
    to: str,
    by: User,
    note: str,
    detail: dict[str, Any] | None = None,
) -> Contact:
    """Move a contact to `to` if the table allows it from where it stands. The building block of
    the services below, which check who may act; it checks only the state."""
    if to not in S.values:
        raise DomainError(f"to: {to!r} is not a contact status")
    with transaction.atomic():
        locked = _lock(contact)
        previous = locked.status
        if previous == to:
            contact.status = previous
            return locked
        if previous not in ALLOWED_PREVIOUS.get(to, frozenset()):
            raise Conflict(
                f"A contact cannot move from {previous} to {to}.", code="illegal_transition"
            )
        locked.status = to
        locked.save(update_fields=["status"])
        ContactStatusChange.objects.create(
            contact=locked, from_status=previous, to_status=to, by=by, at=clock.now(), note=note
        )
        audit_record(
            actor=by,
            action=Action.UPDATE,
            obj=locked,
            detail={"status_from": previous, "status_to": to, "note": note, **(detail or {})},
        )
    contact.status = to
    return locked


def contact_take_next(*, taken_by: User) -> Contact | None:
    """Claim the most urgent unclaimed contact in the worker's scope and start screening it.

    The row lock skips rows another worker holds, so two workers pressing "take next" at once get
    two different contacts. (SQLite ignores skip_locked but locks the whole database for a write;
    the guarded update below keeps that safe too.)"""
    require(taken_by, "contact.decide")
    with transaction.atomic():
        candidates = (
            contacts_in_scope(fetched_by=taken_by)
            .filter(status=S.RECEIVED, assigned_to__isnull=True, local_authority__isnull=False)
            .order_by(F("next_due_at").asc(nulls_last=True), "received_at", "id")
            .select_for_update(skip_locked=True, of=("self",))
        )
        tried: list[Any] = []
        for _attempt in range(5):
            candidate = candidates.exclude(pk__in=tried).first()
            if candidate is None:
                return None
            claimed = Contact.objects.filter(
                pk=candidate.pk, status=S.RECEIVED, assigned_to__isnull=True
            ).update(assigned_to=taken_by)
            if claimed:
                return contact_transition(
                    contact=candidate,
                    to=S.SCREENING,
                    by=taken_by,
                    note="Taken from the queue.",
                    detail={"assigned_to": taken_by.username},
                )
            tried.append(candidate.pk)
    return None


def contact_reassign(*, contact: Contact, to_user: User, by: User, reason: str) -> Contact:
    """A manager gives a contact to another worker of the contact's council. A received contact
    starts screening with its new worker; a closed one stays where it is."""
    require(by, "contact.reassign")
    if not reason.strip():
        raise DomainError("reason: say why the contact changes hands")
    _in_scope(contact_id=contact.pk, user=by)
    with transaction.atomic():
        locked = _lock(contact)
        if locked.assigned_to_id == to_user.pk:
            return locked
        if locked.local_authority_id is None or to_user.agency_id != locked.local_authority_id:
            raise DomainError("to_user: not a worker of the contact's council")
        if not user_can(to_user, "contact.decide"):
            raise DomainError("to_user: their role does not screen contacts")
        if locked.status == S.CLOSED:
            raise Conflict("The contact is closed.", code="illegal_transition")
        previous = locked.assigned_to.username if locked.assigned_to else None
        locked.assigned_to = to_user
        locked.save(update_fields=["assigned_to"])
        audit_record(
            actor=by,
            action=Action.UPDATE,
            obj=locked,
            detail={"assigned_from": previous, "assigned_to": to_user.username, "reason": reason},
        )
        if locked.status == S.RECEIVED:
            locked = contact_transition(
                contact=locked, to=S.SCREENING, by=by, note=f"Reassigned: {reason}"
            )
    contact.assigned_to = locked.assigned_to
    contact.status = locked.status
    return locked


def contact_decide(*, contact: Contact, decided_by: User, outcome: str, rationale: str) -> Decision:
    """The worker screening a contact (or a manager) decides what happens next. The decision
    awaits a manager's sign-off; the contact becomes a referral for s.17, s.47 and already-open."""
    require(decided_by, "contact.decide")
    _in_scope(contact_id=contact.pk, user=decided_by)
    if outcome not in Outcome.values:
        raise DomainError(f"outcome: {outcome!r} is not a decision outcome")
    if not rationale.strip():
        raise DomainError("rationale: give the reasons for the decision")
    with transaction.atomic():
        locked = _lock(contact)
        if locked.status != S.SCREENING:
            raise Conflict(
                f"Only a contact in screening can be decided; this one is {locked.status}.",
                code="illegal_transition",
            )
        if locked.assigned_to_id != decided_by.pk and not user_can(decided_by, "contact.sign_off"):
            raise PermissionDenied("Only the worker screening the contact, or a manager, decides.")
        decision = Decision.objects.create(
            contact=locked,
            outcome=outcome,
            rationale=rationale,
            referral_source=locked.referral_source,
            became_referral=outcome in REFERRAL_OUTCOMES,
            decided_by=decided_by,
            decided_at=clock.now(),
        )
        audit_record(
            actor=decided_by,
            action=Action.CREATE,
            obj=decision,
            detail={
                "contact": str(locked.pk),
                "outcome": outcome,
                "became_referral": decision.became_referral,
            },
        )
        contact_transition(
            contact=locked, to=S.DECIDED, by=decided_by, note=f"Decided: {Outcome(outcome).label}"
        )
        _clocks_on_decision(locked, decision)
    contact.status = S.DECIDED
    return decision


# The clocks a decision starts, by outcome: a referral must have its type of response decided
# within a working day (T1, met by the manager's sign-off); an assessment is due 45 working days
# after the referral (T3); a strategy discussion is held within the policy's working days (T2).
_STARTED_BY: dict[str, tuple[str, ...]] = {
    Outcome.ASSESSMENT_S17: (ClockKind.REFERRAL_DECISION, ClockKind.ASSESSMENT),
    Outcome.STRATEGY_DISCUSSION_S47: (
        ClockKind.REFERRAL_DECISION,
        ClockKind.STRATEGY_DISCUSSION,
        ClockKind.ASSESSMENT,
    ),
    Outcome.ALREADY_OPEN: (ClockKind.REFERRAL_DECISION,),
}
_ASSESSED = frozenset({Outcome.ASSESSMENT_S17, Outcome.STRATEGY_DISCUSSION_S47})
_STARTED_FROM: dict[str, str] = {
    ClockKind.REFERRAL_DECISION: "the referral",
    ClockKind.ASSESSMENT: "the referral",
    ClockKind.STRATEGY_DISCUSSION: "the decision to hold one",
}


def _clocks_on_decision(contact: Contact, decision: Decision) -> None:
    """The screening clock is met; the clocks the outcome starts begin at the decision."""
    at = decision.decided_at
    clock_meet(contact_id=contact.pk, kind=ClockKind.SCREENING, at=at)
    rules = policy_active().rules
    for kind in _STARTED_BY.get(decision.outcome, ()):
        if kind == ClockKind.STRATEGY_DISCUSSION:
            due, rule = strategy_discussion_due(start=at, rag=contact.rag, rules=rules)
        else:
            due, rule = clock_due_after(kind=kind, start=at, rules=rules)
        clock_start(
            contact=contact,
            kind=kind,
            started_at=at,
            due_at=due,
            rule=f"{rule} {_STARTED_FROM[kind]}",
        )
    _refresh_next_due(contact)


def _refresh_next_due(contact: Contact) -> None:
    contact.next_due_at = clocks_next_due(contact_id=contact.pk)
    Contact.objects.filter(pk=contact.pk).update(next_due_at=contact.next_due_at)


def _review(
    *, decision: Decision, reviewed_by: User, to: str, note: str, contact_to: str
) -> Decision:
    """Sign off or return a decision: the same checks, the same record."""
    require(reviewed_by, "contact.sign_off")
    _in_scope(contact_id=decision.contact_id, user=reviewed_by)
    with transaction.atomic():
        locked = Decision.objects.select_for_update().filter(pk=decision.pk).first()
        if locked is None:
            raise NotFound("No such decision.")
        if locked.decided_by_id == reviewed_by.pk:
            raise PermissionDenied("A decision is reviewed by someone other than its maker.")
        if locked.sign_off == to:
            return locked
        if locked.sign_off != SignOff.AWAITING_SIGN_OFF:
            raise Conflict(
                f"The decision is already {SignOff(locked.sign_off).label.lower()}.",
                code="illegal_transition",
            )
        locked.sign_off = to
        locked.signed_off_by = reviewed_by
        locked.signed_off_at = clock.now()
        locked.sign_off_note = note
        locked.save(update_fields=["sign_off", "signed_off_by", "signed_off_at", "sign_off_note"])
        audit_record(
            actor=reviewed_by,
            action=Action.UPDATE,
            obj=locked,
            detail={"contact": str(locked.contact_id), "sign_off": to, "note": note},
        )
        contact_transition(contact=locked.contact, to=contact_to, by=reviewed_by, note=note)
        at = locked.signed_off_at
        if to == SignOff.SIGNED_OFF:
            clock_meet(contact_id=locked.contact_id, kind=ClockKind.REFERRAL_DECISION, at=at)
            if locked.became_referral:
                # A referral to children's social care: its episode opens, and the assessment
                # starts when the decision asks for one (or for a section 47 enquiry).
                episode_ensure(
                    contact=locked.contact,
                    by=reviewed_by,
                    start_assessment=locked.outcome in _ASSESSED,
                )
        else:
            # Not a decision after all: screening runs again; what the decision started stops.
            clock_reopen(contact_id=locked.contact_id, kind=ClockKind.SCREENING, now=at)
            clocks_stop(
                contact_id=locked.contact_id,
                kinds=_STARTED_BY.get(locked.outcome, ()),
                reason=f"The decision was returned: {note}",
                at=at,
            )
        _refresh_next_due(locked.contact)
    return locked


def decision_sign_off(*, decision: Decision, signed_off_by: User, note: str) -> Decision:
    """A manager agrees with a decision: it stands, and the contact closes."""
    return _review(
        decision=decision,
        reviewed_by=signed_off_by,
        to=SignOff.SIGNED_OFF,
        note=note,
        contact_to=S.CLOSED,
    )


def decision_return(*, decision: Decision, returned_by: User, note: str) -> Decision:
    """A manager sends a decision back: the contact returns to screening with its worker, and the
    note says what to look at again."""
    require(returned_by, "contact.sign_off")
    if not note.strip():
        raise DomainError("note: say why the decision is returned")
    return _review(
        decision=decision,
        reviewed_by=returned_by,
        to=SignOff.RETURNED,
        note=note,
        contact_to=S.SCREENING,
    )
