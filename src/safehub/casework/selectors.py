"""Reads of casework, scoped to the asker: a council's hub staff see their own council's referrals
(episodes) and nothing else; anyone else, or a role without `casework.view`, finds nothing.

The list says what each open referral waits for (an assessment to authorise, a conference to
record, a plan to start) and when it is due, soonest first."""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, QuerySet

from safehub.accounts.models import AgencyKind, User
from safehub.accounts.permissions import user_can
from safehub.casework.codes import Ethnicity
from safehub.casework.models import (
    Assessment,
    CaseEpisode,
    ChildProtectionPlan,
    Section47,
)
from safehub.core import clock
from safehub.core.errors import NotFound
from safehub.timescales.calendar import (
    add_calendar_months,
    add_working_days,
    london_date,
    working_days_between,
)
from safehub.timescales.models import Clock, ClockKind

# Working Together's clock (T3): an assessment concludes within 45 working days of the referral.
ASSESSMENT_WORKING_DAYS = 45


def episodes_in_scope(*, user: User) -> QuerySet[CaseEpisode]:
    """A council's own episodes, for its hub staff who may see casework; nobody else's."""
    agency = user.agency
    if (
        agency is None
        or agency.kind != AgencyKind.CHILDREN_SERVICES
        or not user_can(user, "casework.view")
    ):
        return CaseEpisode.objects.none()
    return CaseEpisode.objects.filter(local_authority=agency)


def episode_get(*, episode_id: Any, user: User) -> CaseEpisode:
    """The episode, if the asker may see it: otherwise "not found", whatever the reason."""
    episode = (
        episodes_in_scope(user=user)
        .select_related("contact", "local_authority", "opened_by")
        .filter(pk=episode_id)
        .first()
    )
    if episode is None:
        raise NotFound("No such referral.")
    return episode


# Working Together (T5, T6): the first review conference within 3 months of the initial
# conference (the plan's start), then at most 6 months apart while the plan lasts.
FIRST_REVIEW_MONTHS, NEXT_REVIEW_MONTHS = 3, 6


def plan_review_days(plan: ChildProtectionPlan) -> list[dt.date]:
    return sorted(dt.date.fromisoformat(str(day)) for day in plan.review_dates or [])


def plan_review_due(plan: ChildProtectionPlan) -> dt.date | None:
    """The day the plan's next review conference is due by (None once the plan has ended)."""
    if plan.ended_on is not None:
        return None
    days = plan_review_days(plan)
    if days:
        return add_calendar_months(days[-1], NEXT_REVIEW_MONTHS)
    return add_calendar_months(plan.started_on, FIRST_REVIEW_MONTHS)


def assessment_due(episode: CaseEpisode) -> dt.date:
    """The last day of Working Together's 45 working days from the referral."""
    return add_working_days(episode.referral_date, ASSESSMENT_WORKING_DAYS)


def assessment_is_late(episode: CaseEpisode, on: dt.date) -> bool:
    """Whether an assessment authorised on `on` took longer than 45 working days."""
    return working_days_between(episode.referral_date, on) > ASSESSMENT_WORKING_DAYS


@dataclass(frozen=True)
class Waiting:
    """One thing an open referral waits for, and the day it is due (None: no statutory day)."""

    what: str
    due: dt.date | None
    anchor: str  # the id of the part of the episode page that does it


@dataclass
class EpisodeRow:
    episode: CaseEpisode
    waiting: list[Waiting] = field(default_factory=list)

    @property
    def soonest(self) -> dt.date | None:
        dues = [w.due for w in self.waiting if w.due is not None]
        return min(dues) if dues else None


def episode_waiting(episode: CaseEpisode) -> list[Waiting]:
    """What the open episode waits for, from its prefetched assessments, enquiries and plans."""
    waiting: list[Waiting] = []
    for assessment in episode.assessments.all():
        if assessment.authorised_on is None:
            waiting.append(
                Waiting("Assessment to authorise", assessment_due(episode), "assessments")
            )
    for enquiry in episode.enquiries.all():
        if enquiry.icpc_on is None and not enquiry.icpc_not_required:
            waiting.append(Waiting("Conference to record", enquiry.icpc_target, "enquiries"))
        elif enquiry.icpc_led_to_plan and not list(enquiry.plans.all()):
            # The plan starts on the conference day (rule 2885): it is already due.
            waiting.append(Waiting("Protection plan to start", enquiry.icpc_on, "enquiries"))
    for plan in episode.plans.all():
        due = plan_review_due(plan)
        if due is not None:
            waiting.append(Waiting("Review conference", due, "plans"))
    if episode.ethnicity == Ethnicity.NOBT or not (episode.upn or episode.upn_unknown):
        waiting.append(Waiting("Child's details for the returns", None, "child"))
    return waiting


def _with_parts(episodes: QuerySet[CaseEpisode]) -> QuerySet[CaseEpisode]:
    return episodes.select_related("contact").prefetch_related(
        Prefetch("assessments", queryset=Assessment.objects.order_by("started_on", "id")),
        Prefetch(
            "enquiries",
            queryset=Section47.objects.order_by("started_on", "id").prefetch_related(
                Prefetch("plans", queryset=ChildProtectionPlan.objects.order_by("id"))
            ),
        ),
        "plans",
        "cin_plans",
    )


def open_episodes(*, user: User) -> list[EpisodeRow]:
    """The council's open referrals, each with what it waits for: the soonest deadline first,
    then those waiting only for something with no deadline, then the rest (oldest referral
    first within each)."""
    rows = [
        EpisodeRow(episode, episode_waiting(episode))
        for episode in _with_parts(episodes_in_scope(user=user).filter(closed_on__isnull=True))
    ]

    def order(row: EpisodeRow) -> tuple[int, dt.date, dt.date, str]:
        soonest = row.soonest
        rank = 0 if soonest is not None else (1 if row.waiting else 2)
        return (rank, soonest or dt.date.max, row.episode.referral_date, str(row.episode.pk))

    return sorted(rows, key=order)


def episode_parts(episode: CaseEpisode) -> dict[str, Any]:
    """Everything the episode page shows: the parts, the contact's assessment and conference
    clocks, and what it waits for."""
    full = _with_parts(CaseEpisode.objects.filter(pk=episode.pk)).get()
    clocks = list(
        Clock.objects.filter(
            contact_id=episode.contact_id,
            kind__in=[ClockKind.ASSESSMENT, ClockKind.ICPC, ClockKind.CP_REVIEW],
        ).order_by("started_at", "id")
    )
    return {
        "assessments": list(full.assessments.all()),
        "enquiries": list(full.enquiries.all()),
        "plans": list(full.plans.all()),
        "cin_plans": list(full.cin_plans.all()),
        "clocks": clocks,
        "waiting": episode_waiting(full) if full.closed_on is None else [],
        "assessment_due": assessment_due(full),
        "today": london_date(clock.now()),
    }
