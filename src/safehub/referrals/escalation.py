"""Escalation: every deadline is chased before it breaks, not reported afterwards.

As a clock on a child's contact runs down, its allocated worker is warned (by default when three
quarters of its time has gone), then the council's team managers (nine tenths), then its heads of
service when it breaches; the thresholds are the triage policy's (`clocks`). Each step is made
once (a row per clock and step), by e-mail through the outbox and as an alert on each person's
"my alerts" page, and none is made once the clock is met or stopped. The worker's sweep runs it
every minute; `safehub escalate --once` runs it by hand.

The e-mails name no child: the kind of deadline, when it is due, and the link to the contact.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from safehub.accounts.models import Role, User
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core import clock as clock_module
from safehub.core.outbox import outbox_enqueue
from safehub.risk.selectors import policy_active
from safehub.timescales.clocks import OPEN_Q, clock_lengths
from safehub.timescales.models import Alert, Clock, ClockKind, Escalation, EscalationLevel

L = EscalationLevel
SYSTEM_ACTOR = "safehub: escalation"


@dataclass
class EscalationResult:
    made: dict[str, int] = field(default_factory=lambda: {level: 0 for level in L.values})

    def __str__(self) -> str:
        return ", ".join(f"{level}: {n}" for level, n in self.made.items())


def escalation_due_at(clock: Clock, level: str, *, rules: dict[str, object]) -> dt.datetime:
    """When a step falls due: a share of the clock's time for the worker and the manager, the
    due time itself for the head of service."""
    if level == L.HEAD_OF_SERVICE:
        return clock.due_at
    lengths = clock_lengths(rules)  # type: ignore[arg-type]
    percent = lengths[f"escalate_{level}_at_percent"]
    span = clock.due_at - clock.started_at
    return clock.started_at + span * (int(percent) / 100)


StaffCache = dict[tuple[int, str], list[User]]


def _recipients(clock: Clock, level: str, staff: StaffCache) -> list[User]:
    """Who a step tells: the worker holding the contact, or the council's people in the role
    (read once per council and role in a sweep, into `staff`)."""
    contact = clock.contact
    if level == L.WORKER:
        worker = contact.assigned_to
        return [worker] if worker is not None and worker.is_active else []
    role = Role.HUB_MANAGER if level == L.MANAGER else Role.HEAD_OF_SERVICE
    council = contact.local_authority_id
    if council is None:
        return []
    if (council, role) not in staff:
        people = User.objects.filter(agency_id=council, is_active=True).order_by("username")
        staff[council, role] = [user for user in people if user.has_role(role)]
    return staff[council, role]


def _email(clock: Clock, level: str) -> tuple[str, str]:
    kind = ClockKind(clock.kind).label.lower()
    due = clock.due_at.astimezone(clock_module.LONDON).strftime("%A %-d %B %Y at %H:%M")
    link = settings.SAFEHUB_BASE_URL + reverse("referrals:contact_detail", args=[clock.contact_id])
    if level == L.HEAD_OF_SERVICE:
        subject = f"Deadline passed: {kind}"
        first = f"A {kind} deadline on a child's contact passed on {due} and is not met."
    elif level == L.MANAGER:
        subject = f"Deadline close: {kind}"
        first = f"A {kind} deadline on a child's contact in your team is due {due}."
    else:
        subject = f"Deadline near: {kind}"
        first = f"A {kind} deadline on a child's contact you hold is due {due}."
    body = (
        f"{first}\n\nOpen the contact in safehub:\n{link}\n\n"
        "This e-mail names no child on purpose.\n"
    )
    return subject, body


def _escalate(clock: Clock, level: str, now: dt.datetime, staff: StaffCache) -> bool:
    """Make one step, once: the row, the alerts, the e-mail and the audit event together."""
    people = _recipients(clock, level, staff)
    try:
        with transaction.atomic():
            escalation = Escalation.objects.create(
                clock=clock, level=level, at=now, recipients=[u.username for u in people]
            )
            emails = sorted({u.email for u in people if u.email})
            if emails:
                subject, body = _email(clock, level)
                escalation.outbox_message = outbox_enqueue(
                    recipients=emails,
                    subject=subject,
                    body=body,
                    reason=f"escalation_{level}",
                    obj=escalation,
                )
                escalation.save(update_fields=["outbox_message"])
            Alert.objects.bulk_create([Alert(escalation=escalation, user=u) for u in people])
            audit_record(
                actor=SYSTEM_ACTOR,
                action=Action.CREATE,
                obj=escalation,
                detail={
                    "clock": clock.pk,
                    "kind": clock.kind,
                    "contact": str(clock.contact_id),
                    "level": level,
                    "told": escalation.recipients,
                },
            )
    except IntegrityError:
        return False  # another sweep made this step first
    return True


def escalations_sweep(*, now: dt.datetime | None = None) -> EscalationResult:
    """Make every step whose time has come on every open clock that is the hub's to meet (the
    Encompass notice is the outbox's and the school's). Safe to run at any time, as often as
    wanted."""
    now = now or clock_module.now()
    rules = policy_active().rules
    result = EscalationResult()
    staff: StaffCache = {}
    open_clocks = (
        Clock.objects.filter(OPEN_Q)
        .exclude(kind=ClockKind.ENCOMPASS)
        .exclude(escalations__level=L.HEAD_OF_SERVICE)
        .select_related("contact__assigned_to")
        .prefetch_related("escalations")
        .order_by("due_at", "id")
    )
    for open_clock in open_clocks.iterator(chunk_size=500):
        made = {e.level for e in open_clock.escalations.all()}
        for level in L.values:
            if level in made or escalation_due_at(open_clock, level, rules=rules) > now:
                continue
            if _escalate(open_clock, level, now, staff):
                result.made[level] += 1
    return result
