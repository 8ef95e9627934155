"""Strategy discussions for the demonstration hub: what a council's hub would have recorded over
the last weeks, made through the same services as the pages, each at its own time in the past.

For the council's red and amber contacts received at least two days ago, a worker decides on a
section 47 strategy discussion; the discussion is called, the agencies answer (or do not), some
send apologies, one is held late, a few are held without health and say why; the outcome, the
ICPC target and actions are recorded. The last ones are left called, for the days ahead."""

import datetime as dt
import random
from dataclasses import dataclass

from safehub.accounts.models import Agency, AgencyKind, User
from safehub.core import clock
from safehub.meetings import services
from safehub.meetings.models import Attendance, ParticipantRole, StrategyDiscussion
from safehub.referrals.decisions import contact_decide, contact_reassign, decision_sign_off
from safehub.referrals.models import Contact, ContactStatus, Outcome
from safehub.timescales.calendar import london_date

R = ParticipantRole


@dataclass(frozen=True)
class DemoPeople:
    worker: User
    manager: User
    police: User
    health: User
    school_leads: dict[int, User]  # by school agency id


def demo_discussions(
    *, people: DemoPeople, count: int = 12, open_count: int = 2, seed: int = 2026
) -> list[StrategyDiscussion]:
    """Make up to `count` discussions for the worker's council (`open_count` of them still
    called, starting in the days ahead), deterministic for a seed. Returns them."""
    rng = random.Random(seed)
    council = people.worker.agency
    assert council is not None
    now = clock.now()
    health_agency = people.health.agency
    assert health_agency is not None
    police_agencies = {a.pk: a for a in Agency.objects.filter(kind=AgencyKind.POLICE_FORCE)}
    candidates = list(
        Contact.objects.filter(
            local_authority=council,
            status=ContactStatus.RECEIVED,
            rag__in=["red", "amber"],
            received_at__lt=now - dt.timedelta(days=2),
            notification__isnull=False,
        )
        .select_related("notification", "school")
        .order_by("received_at", "child_ref")
    )
    seen: set[int] = set()
    chosen: list[Contact] = []
    for contact in candidates:
        if contact.notification_id in seen:
            continue  # one discussion per household
        seen.add(contact.notification_id)  # type: ignore[arg-type]
        chosen.append(contact)
    chosen = chosen[-count:]
    made = []
    for index, contact in enumerate(chosen):
        still_open = index >= len(chosen) - open_count
        assert contact.notification is not None
        force = police_agencies.get(contact.notification.force_id or 0)
        made.append(
            _one(
                contact,
                people=people,
                rng=rng,
                police=force,
                health=health_agency,
                still_open=still_open,
                now=now,
            )
        )
    return made


def _office_hours(at: dt.datetime) -> dt.datetime:
    """`at` moved to a quarter hour between 09:00 and 17:00 London time (a night time moves to
    the next morning): when a hub would meet."""
    local = at.astimezone(clock.LONDON)
    if local.hour >= 17:
        local = (local + dt.timedelta(days=1)).replace(hour=9, minute=30)
    elif local.hour < 9:
        local = local.replace(hour=9, minute=30)
    local = local.replace(minute=local.minute // 15 * 15, second=0, microsecond=0)
    return local.astimezone(dt.UTC)


def _one(
    contact: Contact,
    *,
    people: DemoPeople,
    rng: random.Random,
    police: Agency | None,
    health: Agency,
    still_open: bool,
    now: dt.datetime,
) -> StrategyDiscussion:
    decided = contact.received_at + dt.timedelta(minutes=rng.randint(40, 300))
    children = list(services.household_contacts(contact))
    decisions = []
    for child in children:  # every child of the household: the same section 47 decision
        with clock.frozen(decided - dt.timedelta(minutes=20)):
            contact_reassign(
                contact=child, to_user=people.worker, by=people.manager, reason="Screen today."
            )
        with clock.frozen(decided):
            child.refresh_from_db()
            decisions.append(
                contact_decide(
                    contact=child,
                    decided_by=people.worker,
                    outcome=Outcome.STRATEGY_DISCUSSION_S47,
                    rationale=(
                        "Children present at a repeat incident: cause to suspect significant harm."
                    ),
                )
            )
    contact.refresh_from_db()
    council = contact.local_authority
    assert council is not None and police is not None
    invitations = [
        services.Invitation(R.CHILDREN_SOCIAL_CARE, council),
        services.Invitation(R.POLICE, police),
        services.Invitation(R.HEALTH, health),
    ]
    schools = sorted({c.school for c in children if c.school is not None}, key=lambda s: s.pk)
    invitations += [services.Invitation(R.SCHOOL, school) for school in schools]
    called = decided + dt.timedelta(minutes=15)
    if still_open:
        starts = _office_hours(now + dt.timedelta(hours=rng.randint(20, 60)))
    else:
        # Most within the working day after the decision; one in five a day or two late.
        late = rng.random() < 0.2
        starts = _office_hours(
            decided + dt.timedelta(hours=rng.randint(26, 50) if late else rng.randint(2, 20))
        )
        starts = max(starts, decided + dt.timedelta(hours=1))
    with clock.frozen(called):
        discussion = services.discussion_call(
            contact=contact,
            called_by=people.worker,
            children=children,
            reason="A repeat incident with the children present; the victim was injured.",
            format="meeting" if rng.random() < 0.7 else "calls",
            mode="remote",
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=1),
            location="Video call: the link is in the calendar invitation",
            invitations=invitations,
        )
    with clock.frozen(called + dt.timedelta(minutes=5)):
        for decision in decisions:
            decision_sign_off(decision=decision, signed_off_by=people.manager, note="Agreed.")
    participants = {p.role: p for p in discussion.participants.all()}
    deadline = max(called, starts - dt.timedelta(hours=1))
    # Health answers most requests, sometimes late; sometimes not at all.
    health_answers = rng.random() < 0.8
    if health_answers:
        answered = deadline + dt.timedelta(minutes=rng.choice([-240, -90, -30, 45]))
        answered = min(max(answered, called + dt.timedelta(minutes=10)), starts)
        if answered <= now:
            with clock.frozen(answered):
                services.request_answer(
                    discussion=discussion,
                    by=people.health,
                    answer="Known to the health visitor; two missed appointments this year.",
                )
    police_invited = people.police.agency_id == police.pk
    if police_invited and rng.random() < 0.6 and called + dt.timedelta(minutes=40) <= now:
        with clock.frozen(called + dt.timedelta(minutes=40)):
            services.request_answer(
                discussion=discussion,
                by=people.police,
                answer="Three call-outs to the address in 12 months; bail conditions lapsed.",
            )
    for school in schools:
        lead = people.school_leads.get(school.pk)
        if lead is not None and rng.random() < 0.7 and called + dt.timedelta(hours=1) <= now:
            with clock.frozen(called + dt.timedelta(hours=1)):
                services.request_answer(
                    discussion=discussion,
                    by=lead,
                    answer="Attendance 88%; the child said there was shouting at home.",
                )
    if still_open or starts > now - dt.timedelta(hours=2):
        return discussion  # still to come (or only just over): no outcome yet
    held_at = starts
    with clock.frozen(held_at + dt.timedelta(minutes=50)):
        police_attends = rng.random() < 0.75
        entries = [
            services.AttendanceEntry(
                participants[R.CHILDREN_SOCIAL_CARE].pk,
                Attendance.ATTENDED,
                people.worker.display_name,
                "Social worker",
            ),
            services.AttendanceEntry(
                participants[R.POLICE].pk,
                Attendance.ATTENDED if police_attends else Attendance.APOLOGIES_WITH_INFORMATION,
                people.police.display_name if police_attends else "",
                "Detective constable" if police_attends else "",
            ),
        ]
        health_attends = rng.random() < 0.6
        if health_attends:
            entries.append(
                services.AttendanceEntry(
                    participants[R.HEALTH].pk,
                    Attendance.ATTENDED,
                    people.health.display_name,
                    "Safeguarding nurse",
                )
            )
        elif health_answers:
            entries.append(
                services.AttendanceEntry(
                    participants[R.HEALTH].pk, Attendance.APOLOGIES_WITH_INFORMATION
                )
            )
        else:
            entries.append(
                services.AttendanceEntry(participants[R.HEALTH].pk, Attendance.DID_NOT_ATTEND)
            )
        if R.SCHOOL in participants:
            entries.append(
                services.AttendanceEntry(
                    participants[R.SCHOOL].pk,
                    rng.choice(
                        [
                            Attendance.ATTENDED,
                            Attendance.APOLOGIES_WITH_INFORMATION,
                            Attendance.APOLOGIES_WITHOUT_INFORMATION,
                        ]
                    ),
                    "Designated safeguarding lead",
                    "Designated safeguarding lead",
                )
            )
        services.attendance_record(discussion=discussion, by=people.worker, entries=entries)
        missing = services.missing_statutory(discussion)
        enquiry = rng.choice(["joint", "joint", "single", "none"])
        services.outcome_record(
            discussion=discussion,
            by=people.worker,
            held_at=held_at,
            enquiry=enquiry,
            immediate_protection=rng.random() < 0.1,
            rationale="The agencies' information shows a pattern of escalating abuse.",
            risks={c.pk: "Exposure to domestic abuse; the child is frightened." for c in children},
            icpc_arranged_by="Child protection conference team" if enquiry != "none" else "",
            missing_reason="Health could not be reached before the discussion." if missing else "",
            reconvene=True if missing else None,
        )
        services.action_add(
            discussion=discussion,
            by=people.worker,
            description="Visit the children and see them alone.",
            owner_name=people.worker.display_name,
            agency=contact.local_authority,  # type: ignore[arg-type]
            due_on=london_date(held_at) + dt.timedelta(days=2),
        )
    return discussion
