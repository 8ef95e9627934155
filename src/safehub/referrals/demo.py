"""The front door's past for the demonstration hub: the contacts received before a given time
screened, decided and signed off, each at its own time, through the same services as the pages.
Most are decided within their RAG deadline; about one in seven late."""

import datetime as dt
import random

from safehub.accounts.models import User
from safehub.core import clock
from safehub.referrals.decisions import contact_decide, contact_reassign, decision_sign_off
from safehub.referrals.models import Contact, ContactStatus, Outcome

# The front door's decisions on police domestic abuse contacts, roughly as hubs report them;
# the strategy discussions (section 47) are made by safehub.meetings.demo.
OUTCOMES = [
    (Outcome.NO_FURTHER_ACTION, 30),
    (Outcome.INFORMATION_AND_ADVICE, 25),
    (Outcome.EARLY_HELP, 25),
    (Outcome.ASSESSMENT_S17, 20),
]
LATE_SHARE = 0.15


def demo_screening(
    *, staff: dict[int, tuple[User, User]], before: dt.datetime, seed: int = 2026
) -> int:
    """Screen, decide and sign off every routed contact received before `before` still waiting,
    in a council with a worker and a manager (`staff`: council id → (worker, manager)). Returns
    how many were decided."""
    rng = random.Random(seed)
    now = clock.now()
    outcomes, weights = zip(*OUTCOMES, strict=True)
    decided = 0
    waiting = Contact.objects.filter(
        status=ContactStatus.RECEIVED,
        local_authority_id__in=list(staff),
        received_at__lt=before,
    ).order_by("received_at", "id")
    for contact in waiting:
        worker, manager = staff[contact.local_authority_id]  # type: ignore[index]
        due = contact.due_at or contact.received_at + dt.timedelta(days=1)
        span = max((due - contact.received_at).total_seconds(), 600.0)
        if rng.random() < LATE_SHARE:
            at = due + dt.timedelta(hours=rng.uniform(1, 30))
        else:
            at = contact.received_at + dt.timedelta(seconds=span * rng.uniform(0.1, 0.9))
        at = min(at, before)
        with clock.frozen(at - dt.timedelta(minutes=10)):
            contact_reassign(contact=contact, to_user=worker, by=manager, reason="Screen next.")
        with clock.frozen(at):
            contact.refresh_from_db()
            decision = contact_decide(
                contact=contact,
                decided_by=worker,
                outcome=rng.choices(outcomes, weights)[0],
                rationale="Screened with the police information and the family's history.",
            )
        signed = at + dt.timedelta(hours=rng.uniform(0.5, 6))
        if signed < now:
            with clock.frozen(signed):
                decision_sign_off(decision=decision, signed_off_by=manager, note="Agreed.")
        decided += 1
    return decided
