"""Recording casework: every write checks what the CIN census rules check (statutory.md §4.3), so
that a wrong date is refused with the field and the rule when it is typed, not found at year end.
Each write is one transaction, audited; the clocks it meets are met in it."""

import datetime as dt
import re
from typing import Any

from django.db import transaction

from safehub.accounts.models import User
from safehub.accounts.permissions import require
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.casework.codes import (
    NO_FACTORS,
    AbuseCategory,
    AssessmentFactor,
    ClosureReason,
    Disability,
    Ethnicity,
    PrimaryNeed,
    UPNUnknown,
)
from safehub.casework.models import (
    Assessment,
    CaseEpisode,
    ChildProtectionPlan,
    CINPlan,
    Section47,
)
from safehub.casework.selectors import (
    ASSESSMENT_WORKING_DAYS,
    FIRST_REVIEW_MONTHS,
    NEXT_REVIEW_MONTHS,
    # The reads live in selectors; named here too for callers of the first draft.
    episode_get,  # noqa: F401
    episodes_in_scope,  # noqa: F401
    plan_review_days,
    plan_review_due,
)
from safehub.core import clock
from safehub.core.errors import Conflict, DomainError, NotFound
from safehub.referrals.models import Contact
from safehub.timescales.calendar import (
    end_of_working_day,
    is_working_day,
    london_date,
    working_days_between,
)
from safehub.timescales.clocks import clock_meet, clock_start, clocks_next_due, clocks_stop
from safehub.timescales.models import ClockKind

UPN_RE = re.compile(r"^[A-Za-z]\d{12}$|^[A-Za-z]\d{11}[A-Za-z]$")


def _long(day: dt.date) -> str:
    """9 December 2026, as GOV.UK writes dates."""
    return f"{day.day} {day:%B %Y}"


def _today() -> dt.date:
    return london_date(clock.now())


def _met_at(day: dt.date) -> dt.datetime:
    """A clock met by something recorded as done on `day`: the end of that working day, or now
    if that is sooner (recorded the same day)."""
    return min(clock.now(), end_of_working_day(day))


def _review_clock_start(plan: ChildProtectionPlan, *, after: dt.date) -> None:
    """Start the clock of the plan's next review conference (Working Together T5, T6): the
    first within 3 months of the initial conference, each next within 6 months of the last
    review, so that escalation chases it as it chases every deadline."""
    due = plan_review_due(plan)
    if due is None:
        return
    first = not plan_review_days(plan)
    months = FIRST_REVIEW_MONTHS if first else NEXT_REVIEW_MONTHS
    what = "initial conference" if first else "review conference"
    clock_start(
        contact=plan.episode.contact,
        kind=ClockKind.CP_REVIEW,
        started_at=_met_at(after),
        due_at=end_of_working_day(due),
        rule=f"Within {months} months of the {what} on {_long(after)}",
    )


def _review_clock_stop(contact_id: Any, *, ended_on: dt.date) -> None:
    clocks_stop(
        contact_id=contact_id,
        kinds=[ClockKind.CP_REVIEW],
        reason=f"The child protection plan ended on {_long(ended_on)}",
        at=clock.now(),
    )


def _refresh_next_due(contact_id: Any) -> None:
    Contact.objects.filter(pk=contact_id).update(next_due_at=clocks_next_due(contact_id=contact_id))


def _not_future(field: str, day: dt.date | None) -> None:
    if day is not None and day > _today():
        raise DomainError(f"{field}: the date cannot be in the future")


def _not_before_referral(field: str, day: dt.date, episode: CaseEpisode, rule: str) -> None:
    if day < episode.referral_date:
        raise DomainError(
            f"{field}: cannot be before the referral on {_long(episode.referral_date)} "
            f"(census rule {rule})"
        )


def episode_ensure(*, contact: Contact, by: User, start_assessment: bool) -> CaseEpisode:
    """The contact's episode, opened if it has none: a referral on the date the contact was
    received, from the contact's source. With `start_assessment`, an assessment starts today if
    none has (the front door's decision was an assessment or a section 47 enquiry)."""
    if contact.local_authority_id is None:
        raise DomainError("local_authority: route the contact to a council first")
    episode, created = CaseEpisode.objects.get_or_create(
        contact=contact,
        defaults={
            "local_authority_id": contact.local_authority_id,
            "referral_date": london_date(contact.received_at),
            "referral_source": contact.referral_source,
            "opened_at": clock.now(),
            "opened_by": by,
        },
    )
    if created:
        audit_record(
            actor=by,
            action=Action.CREATE,
            obj=episode,
            detail={"contact": str(contact.pk), "referral_date": str(episode.referral_date)},
        )
    if start_assessment and not episode.assessments.exists():
        # A closed referral takes no new work (and one closed with no further action must stay
        # without an assessment: census rule 8831).
        _open(episode)
        assessment = Assessment.objects.create(episode=episode, started_on=_today())
        audit_record(
            actor=by,
            action=Action.CREATE,
            obj=assessment,
            detail={"episode": str(episode.pk), "started_on": str(assessment.started_on)},
        )
    return episode


def _open(episode: CaseEpisode) -> None:
    """Refuse any work on a closed referral: nothing is recorded after a closure, and a referral
    closed with no further action (ReferralNFA) has no assessment, enquiry, conference or plan
    (census rules 8831, 8832, 4000). In a transaction the episode's row is locked and read
    again, so that a closure at the same moment waits for this write or is seen by it."""
    rows = CaseEpisode.objects.filter(pk=episode.pk)
    if transaction.get_connection().in_atomic_block:
        rows = rows.select_for_update()
    fresh = rows.values("closed_on", "referral_nfa").first()
    if fresh is not None:
        episode.closed_on, episode.referral_nfa = fresh["closed_on"], fresh["referral_nfa"]
    if episode.closed_on is not None:
        nfa = (
            " with no further action after the referral: no activity is recorded on it "
            "(census rules 8831, 8832, 4000)"
            if episode.referral_nfa
            else ""
        )
        raise Conflict(
            f"The referral was closed on {_long(episode.closed_on)}{nfa}.",
            code="illegal_transition",
        )


def _primary_need(primary_need: str) -> None:
    if primary_need not in PrimaryNeed.values:
        raise DomainError(f"primary_need: {primary_need!r} is not a primary need code (N0 to N9)")


def child_details_update(
    *,
    episode: CaseEpisode,
    by: User,
    upn: str,
    upn_unknown: str,
    ethnicity: str,
    disabilities: list[str],
    primary_need: str | None = None,
) -> CaseEpisode:
    """The child's details for the returns: UPN (or why there is none), ethnicity, disability,
    and (if given) the referral's primary need (PrimaryNeedCode), which may be corrected
    whatever the referral's state."""
    require(by, "casework.record")
    if primary_need is not None:
        _primary_need(primary_need)
    upn = upn.strip().upper()
    if upn and not UPN_RE.match(upn):
        raise DomainError("upn: a UPN is a letter, 11 digits, then a digit or a letter")
    if upn and upn_unknown:
        raise DomainError("upn_unknown: give a UPN or the reason there is none, not both")
    if upn_unknown and upn_unknown not in UPNUnknown.values:
        raise DomainError(f"upn_unknown: {upn_unknown!r} is not a reason code")
    if ethnicity not in Ethnicity.values:
        raise DomainError(f"ethnicity: {ethnicity!r} is not an ethnicity code")
    unknown = [code for code in disabilities if code not in Disability.values]
    if unknown:
        raise DomainError(f"disabilities: {', '.join(unknown)} not a disability code")
    if Disability.NONE in disabilities and len(disabilities) > 1:
        raise DomainError("disabilities: 'No disability' cannot be chosen with a disability")
    with transaction.atomic():
        locked = CaseEpisode.objects.select_for_update().get(pk=episode.pk)
        locked.upn, locked.upn_unknown = upn, upn_unknown
        locked.ethnicity, locked.disabilities = ethnicity, sorted(set(disabilities))
        fields = ["upn", "upn_unknown", "ethnicity", "disabilities"]
        detail: dict[str, Any] = {"child_details": True}
        if primary_need is not None and primary_need != locked.primary_need:
            detail["primary_need"] = {"from": locked.primary_need, "to": primary_need}
            locked.primary_need = primary_need
            fields.append("primary_need")
        locked.save(update_fields=fields)
        audit_record(actor=by, action=Action.UPDATE, obj=locked, detail=detail)
    return locked


def assessment_authorise(
    *,
    assessment: Assessment,
    by: User,
    authorised_on: dt.date,
    child_seen_on: dt.date | None,
    factors: list[str],
    needs_support: bool,
    late_reason: str = "",
    primary_need: str | None = None,
) -> Assessment:
    """A manager authorises an assessment with the factors it found and (if given) the child's
    primary need, which the referral then records (PrimaryNeedCode). Meets the assessment
    clock."""
    require(by, "casework.authorise")
    if primary_need is not None:
        _primary_need(primary_need)
    factors = list(dict.fromkeys(factors))
    if not factors:
        raise DomainError("factors: choose the factors found, or 'No factors identified'")
    unknown = [code for code in factors if code not in AssessmentFactor.values]
    if unknown:
        raise DomainError(f"factors: {', '.join(unknown)} not a factor code")
    if NO_FACTORS in factors and len(factors) > 1:
        raise DomainError("factors: 'No factors identified' stands alone (census rule 8869)")
    with transaction.atomic():
        locked = (
            Assessment.objects.select_for_update()
            .select_related("episode__contact")
            .filter(pk=assessment.pk)
            .first()
        )
        if locked is None:
            raise NotFound("No such assessment.")
        episode = locked.episode
        _open(episode)
        if locked.authorised_on is not None:
            raise Conflict("The assessment is already authorised.", code="illegal_transition")
        _not_future("authorised_on", authorised_on)
        _not_before_referral("authorised_on", authorised_on, episode, "1103")
        if authorised_on < locked.started_on:
            raise DomainError(
                f"authorised_on: cannot be before the assessment started on "
                f"{_long(locked.started_on)}"
            )
        if child_seen_on is not None:
            _not_future("child_seen_on", child_seen_on)
            if child_seen_on < episode.referral_date:
                raise DomainError(
                    f"child_seen_on: cannot be before the referral on "
                    f"{_long(episode.referral_date)}"
                )
            if child_seen_on > authorised_on:
                raise DomainError(
                    "child_seen_on: the child is seen during the assessment, not after it "
                    "was authorised"
                )
        days = working_days_between(episode.referral_date, authorised_on)
        if days > ASSESSMENT_WORKING_DAYS and not late_reason.strip():
            raise DomainError(
                f"late_reason: the assessment took {days} working days from the referral; "
                f"record why it took longer than {ASSESSMENT_WORKING_DAYS}"
            )
        locked.authorised_on = authorised_on
        locked.child_seen_on = child_seen_on
        locked.factors = factors
        locked.needs_support = needs_support
        locked.late_reason = late_reason.strip()
        locked.authorised_by = by
        locked.save()
        if primary_need is not None and primary_need != episode.primary_need:
            CaseEpisode.objects.filter(pk=episode.pk).update(primary_need=primary_need)
        clock_meet(
            contact_id=episode.contact_id, kind=ClockKind.ASSESSMENT, at=_met_at(authorised_on)
        )
        _refresh_next_due(episode.contact_id)
        audit_record(
            actor=by,
            action=Action.UPDATE,
            obj=locked,
            detail={
                "authorised_on": str(authorised_on),
                "factors": factors,
                "primary_need": primary_need or episode.primary_need,
            },
        )
    return locked


def assessment_start(*, episode: CaseEpisode, by: User, started_on: dt.date) -> Assessment:
    """Another assessment on an open referral (a change in the child's circumstances)."""
    require(by, "casework.record")
    _not_future("started_on", started_on)
    with transaction.atomic():
        locked = CaseEpisode.objects.select_for_update().get(pk=episode.pk)
        _open(locked)
        _not_before_referral("started_on", started_on, locked, "1103")
        if locked.assessments.filter(authorised_on__isnull=True).exists():
            raise Conflict(
                "An assessment is still open: authorise it first.", code="illegal_transition"
            )
        assessment = Assessment.objects.create(episode=locked, started_on=started_on)
        audit_record(
            actor=by,
            action=Action.CREATE,
            obj=assessment,
            detail={"episode": str(locked.pk), "started_on": str(started_on)},
        )
    return assessment


def enquiry_start(
    *, contact: Contact, discussion: Any, by: User, started_on: dt.date, icpc_target: dt.date
) -> Section47:
    """A section 47 enquiry for the child, initiated by the discussion (the meetings service calls
    this when it records an outcome with an enquiry).

    Refused (409) when the child's referral is closed: a closed referral takes no new work (and
    one closed with no further action must have none: census rule 8831). A new enquiry needs a
    new referral, which comes from a new contact (an episode is its contact's), so the chair is
    told so and nothing of the outcome is recorded; the referral cannot close while a strategy
    discussion about the child is still called (`episode_close`), which keeps this rare."""
    existing = CaseEpisode.objects.filter(contact=contact).first()
    if existing is not None and existing.closed_on is not None:
        name = f"{contact.given_names} {contact.family_name}".strip() or "The child"
        raise Conflict(
            f"{name}'s referral was closed on {_long(existing.closed_on)}: a closed referral "
            "takes no new section 47 enquiry. Record a new contact for the child and refer it "
            "for a section 47 strategy discussion: its enquiry opens a new referral.",
            code="illegal_transition",
        )
    episode = episode_ensure(contact=contact, by=by, start_assessment=True)
    enquiry, created = Section47.objects.get_or_create(
        episode=episode,
        discussion=discussion,
        defaults={"started_on": started_on, "icpc_target": icpc_target, "recorded_by": by},
    )
    if created:
        audit_record(
            actor=by,
            action=Action.CREATE,
            obj=enquiry,
            detail={"episode": str(episode.pk), "started_on": str(started_on)},
        )
    return enquiry


def icpc_record(
    *,
    enquiry: Section47,
    by: User,
    icpc_on: dt.date | None,
    not_required: bool,
    led_to_plan: bool | None,
) -> Section47:
    """The initial child protection conference was held on `icpc_on` (meets the ICPC clock), or
    the enquiry found that none is needed (stops it)."""
    require(by, "casework.record")
    if not_required and icpc_on is not None:
        raise DomainError("icpc_on: a conference date and 'not required' cannot both be given")
    if not not_required and icpc_on is None:
        raise DomainError("icpc_on: give the conference date, or say that none is required")
    if icpc_on is not None:
        _not_future("icpc_on", icpc_on)
        if not is_working_day(icpc_on):
            raise DomainError(
                f"icpc_on: {icpc_on:%A} {_long(icpc_on)} is not a working day (census rule 8875)"
            )
        if led_to_plan is None:
            raise DomainError("led_to_plan: say whether the conference made a protection plan")
    with transaction.atomic():
        locked = (
            Section47.objects.select_for_update()
            .select_related("episode")
            .filter(pk=enquiry.pk)
            .first()
        )
        if locked is None:
            raise NotFound("No such enquiry.")
        episode = locked.episode
        _open(episode)
        if locked.icpc_on is not None or locked.icpc_not_required:
            raise Conflict("The conference is already recorded.", code="illegal_transition")
        if icpc_on is not None:
            _not_before_referral("icpc_on", icpc_on, episode, "1104")
            if icpc_on < locked.started_on:
                raise DomainError(
                    f"icpc_on: cannot be before the enquiry started on "
                    f"{_long(locked.started_on)} (census rule 8615)"
                )
        locked.icpc_on = icpc_on
        locked.icpc_not_required = not_required
        locked.icpc_led_to_plan = led_to_plan if icpc_on is not None else None
        locked.recorded_by = by
        locked.save()
        if icpc_on is not None:
            clock_meet(contact_id=episode.contact_id, kind=ClockKind.ICPC, at=_met_at(icpc_on))
        else:
            clocks_stop(
                contact_id=episode.contact_id,
                kinds=[ClockKind.ICPC],
                reason="The section 47 enquiry found no conference is needed",
                at=clock.now(),
            )
        _refresh_next_due(episode.contact_id)
        audit_record(
            actor=by,
            action=Action.UPDATE,
            obj=locked,
            detail={
                "icpc_on": str(icpc_on) if icpc_on else None,
                "not_required": not_required,
                "led_to_plan": locked.icpc_led_to_plan,
            },
        )
    return locked


def plan_start(
    *,
    enquiry: Section47,
    by: User,
    category: str,
    previous_plans: int,
) -> ChildProtectionPlan:
    """The child protection plan the conference made: it starts on the conference day (census
    rule 2885)."""
    require(by, "casework.record")
    if category not in AbuseCategory.values:
        raise DomainError(f"category: {category!r} is not a category of abuse")
    if previous_plans < 0:
        raise DomainError("previous_plans: cannot be negative")
    with transaction.atomic():
        locked = Section47.objects.select_for_update().select_related("episode").get(pk=enquiry.pk)
        _open(locked.episode)
        if not locked.icpc_led_to_plan or locked.icpc_on is None:
            raise Conflict(
                "Only a conference that made a plan starts one.", code="illegal_transition"
            )
        if locked.plans.exists():
            raise Conflict("The conference's plan is already recorded.", code="illegal_transition")
        # A children in need plan does not run alongside a protection plan (census rule 4001):
        # it ends the day the protection plan starts.
        ended = [
            str(p.pk)
            for p in locked.episode.cin_plans.filter(
                ended_on__isnull=True, started_on__lte=locked.icpc_on
            )
        ]
        locked.episode.cin_plans.filter(pk__in=ended).update(ended_on=locked.icpc_on)
        plan = ChildProtectionPlan.objects.create(
            episode=locked.episode,
            enquiry=locked,
            started_on=locked.icpc_on,
            initial_category=category,
            latest_category=category,
            previous_plans=previous_plans,
        )
        _review_clock_start(plan, after=locked.icpc_on)
        _refresh_next_due(locked.episode.contact_id)
        audit_record(
            actor=by,
            action=Action.CREATE,
            obj=plan,
            detail={
                "started_on": str(plan.started_on),
                "category": category,
                "cin_plans_ended": ended,
            },
        )
    return plan


def cin_plan_start(*, episode: CaseEpisode, by: User, started_on: dt.date) -> CINPlan:
    """A children in need plan on an open referral; one open at a time."""
    require(by, "casework.record")
    _not_future("started_on", started_on)
    with transaction.atomic():
        locked = CaseEpisode.objects.select_for_update().get(pk=episode.pk)
        _open(locked)
        _not_before_referral("started_on", started_on, locked, "4015")
        if locked.cin_plans.filter(ended_on__isnull=True).exists():
            raise Conflict("A children in need plan is already open.", code="illegal_transition")
        if locked.plans.filter(ended_on__isnull=True).exists():
            raise Conflict(
                "The child is on a child protection plan: a children in need plan cannot run "
                "alongside it (census rule 4001).",
                code="illegal_transition",
            )
        ended = [p.ended_on for p in locked.plans.all() if p.ended_on is not None]
        if ended and started_on < max(ended):
            raise DomainError(
                f"started_on: the child was on a child protection plan until "
                f"{_long(max(ended))}: a children in need plan cannot run alongside it "
                "(census rule 4001)"
            )
        plan = CINPlan.objects.create(episode=locked, started_on=started_on)
        audit_record(
            actor=by, action=Action.CREATE, obj=plan, detail={"started_on": str(started_on)}
        )
    return plan


def _discussion_called(contact_id: Any) -> str | None:
    """The reference of a strategy discussion about the child that is called and not yet held,
    if there is one."""
    # Read through the contact's reverse relation: meetings comes after casework in the flow.
    from safehub.meetings.models import DiscussionStatus, StrategyDiscussion

    found = (
        StrategyDiscussion.objects.filter(
            children__contact_id=contact_id, status=DiscussionStatus.CALLED
        )
        .order_by("starts_at")
        .first()
    )
    return found.reference if found is not None else None


def _locked_plan(plan: ChildProtectionPlan) -> ChildProtectionPlan:
    locked = (
        ChildProtectionPlan.objects.select_for_update()
        .select_related("episode")
        .filter(pk=plan.pk)
        .first()
    )
    if locked is None:
        raise NotFound("No such child protection plan.")
    _open(locked.episode)
    if locked.ended_on is not None:
        raise Conflict(
            f"The child protection plan ended on {_long(locked.ended_on)}.",
            code="illegal_transition",
        )
    return locked


def plan_review_record(
    *, plan: ChildProtectionPlan, by: User, reviewed_on: dt.date, latest_category: str
) -> ChildProtectionPlan:
    """A child protection review conference was held on `reviewed_on` (CPPreviewDate), and the
    category of abuse it decided is the plan's latest (LatestCategoryOfAbuse). Reviews are
    recorded in the order they were held, so the latest category is the last review's."""
    require(by, "casework.record")
    if latest_category not in AbuseCategory.values:
        raise DomainError(f"latest_category: {latest_category!r} is not a category of abuse")
    _not_future("reviewed_on", reviewed_on)
    if not is_working_day(reviewed_on):
        raise DomainError(
            f"reviewed_on: {reviewed_on:%A} {_long(reviewed_on)} is not a working day"
        )
    with transaction.atomic():
        locked = _locked_plan(plan)
        if reviewed_on <= locked.started_on:
            raise DomainError(
                f"reviewed_on: a review comes after the plan started on "
                f"{_long(locked.started_on)} (census rule 8841)"
            )
        days = plan_review_days(locked)
        if days and reviewed_on <= days[-1]:
            raise DomainError(
                f"reviewed_on: the last review recorded was on {_long(days[-1])}: record "
                "reviews in the order they were held"
            )
        before = locked.latest_category
        locked.review_dates = [day.isoformat() for day in [*days, reviewed_on]]
        locked.latest_category = latest_category
        locked.save(update_fields=["review_dates", "latest_category"])
        contact_id = locked.episode.contact_id
        clock_meet(contact_id=contact_id, kind=ClockKind.CP_REVIEW, at=_met_at(reviewed_on))
        _review_clock_start(locked, after=reviewed_on)
        _refresh_next_due(contact_id)
        audit_record(
            actor=by,
            action=Action.UPDATE,
            obj=locked,
            detail={
                "reviewed_on": str(reviewed_on),
                "latest_category": {"from": before, "to": latest_category},
            },
        )
    return locked


def plan_end(*, plan: ChildProtectionPlan, by: User, ended_on: dt.date) -> ChildProtectionPlan:
    """The child protection plan ended (CPPendDate), usually at a review conference. A plan also
    ends when its referral closes (`episode_close`)."""
    require(by, "casework.record")
    _not_future("ended_on", ended_on)
    with transaction.atomic():
        locked = _locked_plan(plan)
        if ended_on < locked.started_on:
            raise DomainError(
                f"ended_on: cannot be before the plan started on {_long(locked.started_on)} "
                "(census rule 8925)"
            )
        days = plan_review_days(locked)
        if days and ended_on < days[-1]:
            raise DomainError(
                f"ended_on: cannot be before the last review conference on {_long(days[-1])}"
            )
        locked.ended_on = ended_on
        locked.save(update_fields=["ended_on"])
        _review_clock_stop(locked.episode.contact_id, ended_on=ended_on)
        _refresh_next_due(locked.episode.contact_id)
        audit_record(actor=by, action=Action.UPDATE, obj=locked, detail={"ended_on": str(ended_on)})
    return locked


def cin_plan_end(*, plan: CINPlan, by: User, ended_on: dt.date) -> CINPlan:
    """The children in need plan ended (CINPlanEndDate). Open plans also end when the referral
    closes, and a children in need plan ends when a protection plan starts."""
    require(by, "casework.record")
    _not_future("ended_on", ended_on)
    with transaction.atomic():
        locked = (
            CINPlan.objects.select_for_update().select_related("episode").filter(pk=plan.pk).first()
        )
        if locked is None:
            raise NotFound("No such children in need plan.")
        _open(locked.episode)
        if locked.ended_on is not None:
            raise Conflict(
                f"The children in need plan ended on {_long(locked.ended_on)}.",
                code="illegal_transition",
            )
        if ended_on < locked.started_on:
            raise DomainError(
                f"ended_on: cannot be before the plan started on {_long(locked.started_on)} "
                "(census rule 4011)"
            )
        locked.ended_on = ended_on
        locked.save(update_fields=["ended_on"])
        audit_record(actor=by, action=Action.UPDATE, obj=locked, detail={"ended_on": str(ended_on)})
    return locked


def episode_close(
    *, episode: CaseEpisode, by: User, closed_on: dt.date, reason: str
) -> CaseEpisode:
    """Close the referral: no assessment or enquiry may be left open, and no activity may come
    after the closure; open plans end on the day."""
    require(by, "casework.record")
    if reason not in ClosureReason.values:
        raise DomainError(f"reason: {reason!r} is not a reason for closure")
    _not_future("closed_on", closed_on)
    with transaction.atomic():
        locked = CaseEpisode.objects.select_for_update().get(pk=episode.pk)
        _open(locked)
        _not_before_referral("closed_on", closed_on, locked, "8820")
        # Where the referral stands, not what was typed: a conflict (409), as for any act on a
        # record in the wrong state.
        if locked.assessments.filter(authorised_on__isnull=True).exists():
            raise Conflict(
                "An assessment is still open: authorise it before closing the referral.",
                code="illegal_transition",
            )
        if locked.enquiries.filter(icpc_on__isnull=True, icpc_not_required=False).exists():
            raise Conflict(
                "A section 47 enquiry has no conference, nor a decision that none is needed: "
                "record it before closing the referral.",
                code="illegal_transition",
            )
        called = _discussion_called(locked.contact_id)
        if called is not None:
            # Its outcome may start a section 47 enquiry, which a closed referral cannot take.
            raise Conflict(
                f"A strategy discussion about the child ({called}) is called: record its "
                "outcome, or cancel it, before closing the referral.",
                code="illegal_transition",
            )
        assessments = list(locked.assessments.all())
        enquiries = list(locked.enquiries.all())
        plans = list(locked.plans.all())
        cin_plans = list(locked.cin_plans.all())
        latest = [
            *(a.started_on for a in assessments),
            *(a.authorised_on for a in assessments if a.authorised_on),
            *(e.started_on for e in enquiries),
            *(e.icpc_on for e in enquiries if e.icpc_on),
            *(p.started_on for p in plans),
            *(p.ended_on for p in plans if p.ended_on),
            *(day for p in plans for day in plan_review_days(p)),
            *(p.started_on for p in cin_plans),
            *(p.ended_on for p in cin_plans if p.ended_on),
        ]
        if latest and closed_on < max(latest):
            raise DomainError(
                f"closed_on: cannot be before the last activity on {_long(max(latest))}"
            )
        locked.closed_on, locked.closure_reason = closed_on, reason
        # Closed with nothing done after the referral: the census's ReferralNFA (rules
        # 8831/8832/4000 then ask that no activity follows).
        locked.referral_nfa = not (assessments or enquiries or plans or cin_plans)
        locked.save(update_fields=["closed_on", "closure_reason", "referral_nfa"])
        if locked.plans.filter(ended_on__isnull=True).update(ended_on=closed_on):
            _review_clock_stop(locked.contact_id, ended_on=closed_on)
            _refresh_next_due(locked.contact_id)
        locked.cin_plans.filter(ended_on__isnull=True).update(ended_on=closed_on)
        audit_record(
            actor=by,
            action=Action.UPDATE,
            obj=locked,
            detail={"closed_on": str(closed_on), "reason": reason},
        )
    return locked
