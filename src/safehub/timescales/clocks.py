"""Writes on clocks: start one, meet it, stop it, record the breaches.

Clocks belong to a child's contact. The services that act on a contact (intake, decisions,
Operation Encompass) call these inside their own transaction, so a clock moves with the act that
moves it. `Contact.next_due_at`, the soonest open deadline the queue orders by, is kept by the
referrals services that call these.
"""

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Min, Q

from safehub.core.clock import now as clock_now
from safehub.timescales.calendar import end_of_working_day, london_date, working_days_due
from safehub.timescales.models import Clock, ClockKind, ClockState

# The clocks' lengths in working days where the triage policy does not set them (a policy
# version published before the `clocks` section existed). Working Together: a referral decision
# within one working day (T1), an assessment within 45 working days of the referral (T3), the
# ICPC within 15 working days of the strategy discussion that started the s.47 enquiry (T4). The
# strategy discussion has no national timescale (T2 ❓): one working day after the decision to
# hold one is the shipped default.
CLOCK_DEFAULTS: dict[str, int] = {
    "referral_decision_working_days": 1,
    "strategy_discussion_working_days": 1,
    "icpc_working_days": 15,
    "assessment_working_days": 45,
    # A red contact's strategy discussion is held the same day (London) as the decision.
    "strategy_discussion_red_same_day": True,
    # Escalation: the allocated worker is warned when three quarters of a clock's time has gone,
    # the team manager at nine tenths, the head of service when it breaches.
    "escalate_worker_at_percent": 75,
    "escalate_manager_at_percent": 90,
}

_WORKING_DAYS_KEY = {
    ClockKind.REFERRAL_DECISION: "referral_decision_working_days",
    ClockKind.STRATEGY_DISCUSSION: "strategy_discussion_working_days",
    ClockKind.ICPC: "icpc_working_days",
    ClockKind.ASSESSMENT: "assessment_working_days",
}

OPEN_Q = Q(met_at__isnull=True, state__in=[ClockState.RUNNING, ClockState.BREACHED])


def clock_lengths(rules: dict[str, Any]) -> dict[str, int]:
    """The clock lengths of a policy's rules, the defaults filling what it does not set."""
    return {**CLOCK_DEFAULTS, **rules.get("clocks", {})}


def clock_due_after(
    *, kind: str, start: dt.datetime, rules: dict[str, Any]
) -> tuple[dt.datetime, str]:
    """The due time of a working-day clock started at `start`, and the rule in words: the end
    of the n-th working day after `start`'s London date."""
    n = clock_lengths(rules)[_WORKING_DAYS_KEY[ClockKind(kind)]]
    return working_days_due(start, n), f"End of the {_ordinal(n)} working day after"


def strategy_discussion_due(
    *, start: dt.datetime, rag: str, rules: dict[str, Any]
) -> tuple[dt.datetime, str]:
    """When a strategy discussion decided (or called) at `start` must be held: by the end of the
    same London day for a red contact (policy `strategy_discussion_red_same_day`), else by the end
    of the policy's n-th working day after."""
    if rag == "red" and clock_lengths(rules)["strategy_discussion_red_same_day"]:
        return end_of_working_day(london_date(start)), "End of the same day (a red contact) as"
    return clock_due_after(kind=ClockKind.STRATEGY_DISCUSSION, start=start, rules=rules)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def clock_build(
    *, contact: Any, kind: str, started_at: dt.datetime, due_at: dt.datetime, rule: str = ""
) -> Clock:
    """A running clock for `contact`, not saved (the bulk import saves a batch's at once)."""
    return Clock(
        contact=contact,
        # The contact's council, as the figures read it (kept in step by the routing services).
        local_authority_id=contact.local_authority_id,
        kind=ClockKind(kind),
        started_at=started_at,
        due_at=due_at,
        state=ClockState.RUNNING,
        rule=rule[:200],
    )


def clock_start(
    *, contact: Any, kind: str, started_at: dt.datetime, due_at: dt.datetime, rule: str = ""
) -> Clock:
    """Start a clock of `kind` on the contact; one of that kind already running is kept as it is
    (a repeat is a no-op)."""
    running = Clock.objects.filter(contact=contact, kind=kind, state=ClockState.RUNNING).first()
    if running is not None:
        return running
    clock = clock_build(contact=contact, kind=kind, started_at=started_at, due_at=due_at, rule=rule)
    clock.save(force_insert=True)
    return clock


def clock_meet(*, contact_id: Any, kind: str, at: dt.datetime) -> Clock | None:
    """Meet the open clock of `kind`: met if on time, breached (and met late) if not. None when
    no clock of that kind is open (met already, stopped, or never started)."""
    clock = (
        Clock.objects.select_for_update()
        .filter(OPEN_Q, contact_id=contact_id, kind=kind)
        .order_by("-started_at", "-id")
        .first()
    )
    if clock is None:
        return None
    clock.met_at = at
    clock.state = ClockState.MET if at <= clock.due_at else ClockState.BREACHED
    clock.save(update_fields=["met_at", "state"])
    return clock


def clock_reopen(*, contact_id: Any, kind: str, now: dt.datetime) -> Clock | None:
    """Take back the meeting of the latest clock of `kind`: the act that met it was undone (a
    manager returned the decision). It runs again, or stands breached if its time has passed."""
    clock = (
        Clock.objects.select_for_update()
        .filter(contact_id=contact_id, kind=kind, met_at__isnull=False)
        .exclude(state=ClockState.STOPPED)
        .order_by("-started_at", "-id")
        .first()
    )
    if clock is None or Clock.objects.filter(OPEN_Q, contact_id=contact_id, kind=kind).exists():
        return None
    clock.met_at = None
    clock.state = ClockState.RUNNING if now <= clock.due_at else ClockState.BREACHED
    clock.save(update_fields=["met_at", "state"])
    return clock


def clocks_stop(
    *, contact_id: Any, kinds: Iterable[str], reason: str, at: dt.datetime
) -> list[Clock]:
    """Stop the open clocks of these kinds, with the reason: they no longer apply."""
    if not reason.strip():
        raise ValueError("a stopped clock needs a reason")
    clocks = list(
        Clock.objects.select_for_update().filter(
            OPEN_Q, contact_id=contact_id, kind__in=list(kinds)
        )
    )
    for clock in clocks:
        clock.state = ClockState.STOPPED
        clock.stopped_at = at
        clock.stop_reason = reason[:300]
        clock.save(update_fields=["state", "stopped_at", "stop_reason"])
    return clocks


def clocks_next_due(*, contact_id: Any) -> dt.datetime | None:
    """The soonest due time of the contact's open clocks that are the hub's to meet: what the
    queue orders by. (The Encompass notice is the outbox's and the school's: not in it.)"""
    return (
        Clock.objects.filter(OPEN_Q, contact_id=contact_id)
        .exclude(kind=ClockKind.ENCOMPASS)
        .aggregate(soonest=Min("due_at"))["soonest"]
    )


def clocks_sweep(*, now: dt.datetime | None = None) -> int:
    """Record as breached every running clock whose due time has passed. Safe to run at any time,
    as often as wanted (the worker runs it every minute). Returns how many it recorded."""
    now = now or clock_now()
    return Clock.objects.filter(state=ClockState.RUNNING, due_at__lt=now).update(
        state=ClockState.BREACHED
    )
