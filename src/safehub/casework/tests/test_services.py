"""Casework, service by service (safehub.casework.services): every rule the services enforce.

The spec's high-risk example is received at 09:00 on Tuesday 24 November 2026: Amy (C1) and Leo
(C2), both red, in Wirral (LA344). Alice, a Wirral hub social worker, decides; Mary, the hub's
manager, signs off and authorises assessments; Hazel, the head of service, reads and records
nothing. A refusal names the field (and the census rule where there is one) and leaves nothing
written: the rows as they were, no audit event, the clocks as they were.
"""

import datetime as dt
from typing import Any

import pytest
from django.db import transaction

from safehub.audit.models import Action, AuditEvent
from safehub.casework.models import (
    Assessment,
    CaseEpisode,
    ChildProtectionPlan,
    CINPlan,
    Section47,
)
from safehub.casework.selectors import episode_waiting, plan_review_due
from safehub.casework.services import (
    assessment_authorise,
    assessment_start,
    child_details_update,
    cin_plan_end,
    cin_plan_start,
    enquiry_start,
    episode_close,
    episode_ensure,
    icpc_record,
    plan_end,
    plan_review_record,
    plan_start,
)
from safehub.core import clock
from safehub.core.errors import Conflict, DomainError, PermissionDenied
from safehub.core.testing import example_bytes
from safehub.intake.models import Channel
from safehub.intake.services import notification_receive
from safehub.meetings.models import DiscussionFormat, DiscussionMode, Enquiry, ParticipantRole
from safehub.meetings.services import Invitation, discussion_call, outcome_record
from safehub.referrals.decisions import (
    contact_decide,
    contact_reassign,
    decision_return,
    decision_sign_off,
)
from safehub.referrals.models import Contact, Outcome
from safehub.timescales.calendar import add_working_days, end_of_working_day
from safehub.timescales.models import Clock, ClockKind, ClockState

pytestmark = pytest.mark.django_db

UTC = dt.UTC
R = ParticipantRole
T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # frozen_now: Tuesday 24 November 2026
TUESDAY = dt.date(2026, 11, 24)
STARTS = dt.datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
ICPC_TARGET = dt.date(2026, 12, 15)  # 15 working days after the discussion (meetings' tests)
SATURDAY = dt.date(2026, 12, 12)


def noon(day: dt.date) -> dt.datetime:
    """Midday in London on `day` (London is on UTC from November to March)."""
    return dt.datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)


# --- Fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture
def hazel(make_user):
    return make_user("hazel", "LA344", "head_of_service")


@pytest.fixture
def household(reference, frozen_now) -> dict[str, Contact]:
    receipt = notification_receive(
        raw=example_bytes("notification-high-risk.json"), channel=Channel.API
    )
    return {c.child_ref: c for c in Contact.objects.filter(notification=receipt.notification)}


def refer(contact: Contact, worker, manager, outcome: str, *, sign_off: bool = True):
    """The worker decides on the contact; the manager signs it off. Returns the decision."""
    contact_reassign(contact=contact, to_user=worker, by=manager, reason="Hub allocation")
    contact.refresh_from_db()
    decision = contact_decide(
        contact=contact, decided_by=worker, outcome=outcome, rationale="Screened."
    )
    if sign_off:
        decision_sign_off(decision=decision, signed_off_by=manager, note="Agreed.")
    return decision


@pytest.fixture
def amy(household, alice, mary) -> Contact:
    """Amy's contact, referred for a child and family assessment: her episode is open."""
    refer(household["C1"], alice, mary, Outcome.ASSESSMENT_S17)
    return Contact.objects.get(pk=household["C1"].pk)


@pytest.fixture
def episode(amy) -> CaseEpisode:
    return CaseEpisode.objects.get(contact=amy)


@pytest.fixture
def assessment(episode) -> Assessment:
    return episode.assessments.get()


def events(obj: Any, **filters: Any) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            object_type=obj._meta.label_lower, object_id=str(obj.pk), **filters
        ).order_by("id")
    )


def snapshot() -> dict[str, Any]:
    """Everything a casework write could touch: compared before and after a refusal."""
    return {
        "episodes": list(CaseEpisode.objects.order_by("pk").values()),
        "assessments": list(Assessment.objects.order_by("pk").values()),
        "enquiries": list(Section47.objects.order_by("pk").values()),
        "plans": list(ChildProtectionPlan.objects.order_by("pk").values()),
        "cin_plans": list(CINPlan.objects.order_by("pk").values()),
        "clocks": list(Clock.objects.order_by("pk").values()),
        "audit": AuditEvent.objects.count(),
    }


def refused(act, message: str, error: type[DomainError] = DomainError) -> DomainError:
    """`act()` is refused with a message starting `message`, and writes nothing."""
    before = snapshot()
    with pytest.raises(error) as caught:
        act()
    assert caught.value.message.startswith(message), caught.value.message
    assert snapshot() == before
    return caught.value


def authorise(assessment: Assessment, by, **kw: Any) -> Assessment:
    kw.setdefault("authorised_on", TUESDAY)
    kw.setdefault("child_seen_on", None)
    kw.setdefault("factors", ["3A", "3B"])
    kw.setdefault("needs_support", True)
    return assessment_authorise(assessment=assessment, by=by, **kw)


def an_enquiry(episode: CaseEpisode, by, *, started_on: dt.date = TUESDAY) -> Section47:
    """A section 47 enquiry started as the meetings service starts one (no discussion here)."""
    with transaction.atomic():
        return enquiry_start(
            contact=episode.contact,
            discussion=None,
            by=by,
            started_on=started_on,
            icpc_target=add_working_days(started_on, 15),
        )


def held_discussion(contacts: list[Contact], worker, *, enquiry: str = Enquiry.SINGLE):
    """A strategy discussion about the children, held at 14:00 on Tuesday, its outcome recorded
    at 15:30 through the meetings service."""
    discussion = call_discussion(contacts, worker)
    with clock.frozen(STARTS + dt.timedelta(minutes=90)):
        return outcome_record(
            discussion=discussion,
            by=worker,
            held_at=STARTS,
            enquiry=enquiry,
            immediate_protection=False,
            rationale="Threshold for significant harm met.",
            risks={},
            missing_reason="Police and health sent apologies by phone.",
            reconvene=False,
        )


def call_discussion(contacts: list[Contact], worker):
    """A strategy discussion about the children, called for 14:00 on Tuesday."""
    from safehub.accounts.models import Agency

    def agency(code: str) -> Agency:
        return Agency.objects.get(code=code)

    return discussion_call(
        contact=contacts[0],
        called_by=worker,
        children=contacts,
        reason="Strangulation reported; both children in the house.",
        format=DiscussionFormat.MEETING,
        mode=DiscussionMode.REMOTE,
        starts_at=STARTS,
        ends_at=STARTS + dt.timedelta(hours=1),
        location="Video call",
        invitations=[
            Invitation(R.CHILDREN_SOCIAL_CARE, agency("LA344")),
            Invitation(R.POLICE, agency("MSP")),
            Invitation(R.HEALTH, agency("RY7")),
        ],
    )


@pytest.fixture
def s47(household, alice, mary) -> dict[str, Contact]:
    """Both children decided for a section 47 strategy discussion (signed off), held on
    Tuesday: a single-agency enquiry for each."""
    for contact in household.values():
        refer(contact, alice, mary, Outcome.STRATEGY_DISCUSSION_S47)
    contacts = [Contact.objects.get(pk=c.pk) for c in household.values()]
    held_discussion(contacts, alice)
    return {c.child_ref: Contact.objects.get(pk=c.pk) for c in contacts}


@pytest.fixture
def enquiry(s47) -> Section47:
    return Section47.objects.get(episode__contact=s47["C1"])


# --- The episode opens at the front door ------------------------------------------------------


def test_signing_off_an_assessment_decision_opens_the_referral_with_its_assessment(
    household, alice, mary
):
    amy = household["C1"]
    decision = refer(amy, alice, mary, Outcome.ASSESSMENT_S17, sign_off=False)
    assert not CaseEpisode.objects.filter(contact=amy).exists()
    decision_sign_off(decision=decision, signed_off_by=mary, note="Agreed.")
    episode = CaseEpisode.objects.get(contact=amy)
    assert (episode.referral_date, episode.referral_source, episode.local_authority.code) == (
        TUESDAY,
        "6",
        "LA344",
    )
    assert (episode.opened_by, episode.opened_at, episode.closed_on) == (mary, T0, None)
    assert episode.child_id.isalnum() and len(episode.child_id) <= 20
    [assessment] = episode.assessments.all()
    assert (assessment.started_on, assessment.authorised_on, assessment.factors) == (
        TUESDAY,
        None,
        [],
    )
    assert [e.user_id for e in events(episode, action=Action.CREATE)] == [mary.pk]
    assert len(events(assessment, action=Action.CREATE)) == 1


@pytest.mark.parametrize(
    "outcome",
    [Outcome.NO_FURTHER_ACTION, Outcome.INFORMATION_AND_ADVICE, Outcome.EARLY_HELP],
)
def test_a_decision_that_is_not_a_referral_opens_no_episode(household, alice, mary, outcome):
    refer(household["C1"], alice, mary, outcome)
    assert not CaseEpisode.objects.exists()


def test_a_returned_referral_decision_opens_no_episode(household, alice, mary):
    decision = refer(household["C1"], alice, mary, Outcome.ASSESSMENT_S17, sign_off=False)
    decision_return(decision=decision, returned_by=mary, note="Look again.")
    assert not CaseEpisode.objects.exists()


def test_a_case_already_open_is_a_referral_without_a_new_assessment(household, alice, mary):
    refer(household["C1"], alice, mary, Outcome.ALREADY_OPEN)
    episode = CaseEpisode.objects.get(contact=household["C1"])
    assert not episode.assessments.exists()


def test_a_discussion_that_starts_an_enquiry_records_a_section_47_for_each_child(s47):
    for contact in s47.values():
        [enquiry] = Section47.objects.filter(episode__contact=contact)
        assert (enquiry.started_on, enquiry.icpc_target) == (TUESDAY, ICPC_TARGET)
        assert (enquiry.icpc_on, enquiry.icpc_not_required, enquiry.icpc_led_to_plan) == (
            None,
            False,
            None,
        )
        assert enquiry.discussion is not None and enquiry.discussion.held_at == STARTS
        assert len(events(enquiry, action=Action.CREATE)) == 1
        # The referral's assessment started with it (the decision was a section 47 one).
        assert enquiry.episode.assessments.count() == 1


def test_a_discussion_with_no_enquiry_records_no_section_47(household, alice, mary):
    for contact in household.values():
        refer(contact, alice, mary, Outcome.STRATEGY_DISCUSSION_S47)
    held_discussion(
        [Contact.objects.get(pk=c.pk) for c in household.values()], alice, enquiry=Enquiry.NONE
    )
    assert not Section47.objects.exists()
    assert CaseEpisode.objects.count() == 2  # the signed-off referrals


# --- The child's details ----------------------------------------------------------------------


def details(episode: CaseEpisode, by, **kw: Any) -> CaseEpisode:
    kw.setdefault("upn", "")
    kw.setdefault("upn_unknown", "")
    kw.setdefault("ethnicity", "WBRI")
    kw.setdefault("disabilities", [])
    return child_details_update(episode=episode, by=by, **kw)


def test_the_childs_details_are_recorded_and_audited(episode, alice):
    details(episode, alice, upn="a12345678901b", ethnicity="MWBC", disabilities=["HEAR", "LD"])
    episode.refresh_from_db()
    assert (episode.upn, episode.upn_unknown, episode.ethnicity, episode.disabilities) == (
        "A12345678901B",
        "",
        "MWBC",
        ["HEAR", "LD"],
    )
    assert len(events(episode, action=Action.UPDATE)) == 1
    details(episode, alice, upn_unknown="UN1", disabilities=["NONE"])
    episode.refresh_from_db()
    assert (episode.upn, episode.upn_unknown, episode.disabilities) == ("", "UN1", ["NONE"])


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"upn": "A1234"}, "upn: a UPN is a letter, 11 digits"),
        ({"upn": "112345678901B"}, "upn: "),
        ({"upn": "A12345678901B", "upn_unknown": "UN1"}, "upn_unknown: give a UPN or the reason"),
        ({"upn_unknown": "UN9"}, "upn_unknown: 'UN9' is not a reason code"),
        ({"ethnicity": "XXXX"}, "ethnicity: 'XXXX' is not an ethnicity code"),
        ({"disabilities": ["WINGS"]}, "disabilities: WINGS not a disability code"),
        ({"disabilities": ["NONE", "HEAR"]}, "disabilities: 'No disability' cannot be chosen"),
    ],
)
def test_wrong_child_details_are_refused_on_their_field(episode, alice, kw, message):
    refused(lambda: details(episode, alice, **kw), message)


def test_only_hub_staff_who_record_casework_change_the_childs_details(episode, hazel):
    refused(
        lambda: details(episode, hazel),
        "Your role does not allow casework.record",
        PermissionDenied,
    )


# --- Authorising the assessment ----------------------------------------------------------------


def test_authorising_records_the_factors_and_meets_the_assessment_clock(amy, assessment, mary):
    running = Clock.objects.get(contact=amy, kind=ClockKind.ASSESSMENT)
    assert running.state == ClockState.RUNNING
    with clock.frozen(noon(dt.date(2026, 11, 27))):
        done = authorise(
            assessment,
            mary,
            authorised_on=dt.date(2026, 11, 27),
            child_seen_on=dt.date(2026, 11, 25),
            factors=["3A", "3B", "3A"],
            needs_support=True,
        )
    assessment.refresh_from_db()
    assert (
        assessment.authorised_on,
        assessment.child_seen_on,
        assessment.factors,
        assessment.needs_support,
        assessment.authorised_by,
        assessment.late_reason,
    ) == (dt.date(2026, 11, 27), dt.date(2026, 11, 25), ["3A", "3B"], True, mary, "")
    assert done.pk == assessment.pk
    met = Clock.objects.get(pk=running.pk)
    assert (met.state, met.met_at) == (ClockState.MET, noon(dt.date(2026, 11, 27)))
    [event] = events(assessment, action=Action.UPDATE)
    assert event.detail == {
        "authorised_on": "2026-11-27",
        "factors": ["3A", "3B"],
        "primary_need": "N1",  # not asked: the referral's, abuse or neglect by default
    }
    amy.refresh_from_db()
    assert amy.next_due_at != running.due_at  # the met clock no longer orders the queue


def test_an_assessment_authorised_the_day_before_is_met_at_the_end_of_that_day(
    amy, assessment, mary
):
    with clock.frozen(noon(dt.date(2026, 11, 30))):
        authorise(assessment, mary, authorised_on=dt.date(2026, 11, 27))
    met = Clock.objects.get(contact=amy, kind=ClockKind.ASSESSMENT)
    assert met.met_at == end_of_working_day(dt.date(2026, 11, 27))


def test_an_assessment_past_45_working_days_needs_the_reason(amy, assessment, mary):
    late_day = add_working_days(TUESDAY, 46)
    with clock.frozen(noon(late_day)):
        refused(
            lambda: authorise(assessment, mary, authorised_on=late_day),
            "late_reason: the assessment took 46 working days from the referral; record why "
            "it took longer than 45",
        )
        authorise(assessment, mary, authorised_on=late_day, late_reason="  Father in hospital. ")
    assessment.refresh_from_db()
    assert assessment.late_reason == "Father in hospital."
    late = Clock.objects.get(contact=amy, kind=ClockKind.ASSESSMENT)
    assert (late.state, late.met_at) == (ClockState.BREACHED, noon(late_day))


def test_an_assessment_on_its_45th_working_day_needs_no_reason(assessment, mary):
    last_day = add_working_days(TUESDAY, 45)
    with clock.frozen(noon(last_day)):
        authorise(assessment, mary, authorised_on=last_day)


FUTURE = "the date cannot be in the future"


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"factors": []}, "factors: choose the factors found, or 'No factors identified'"),
        ({"factors": ["3A", "99Z"]}, "factors: 99Z not a factor code"),
        ({"factors": ["21", "3A"]}, "factors: 'No factors identified' stands alone (census rule "),
        ({"authorised_on": dt.date(2026, 11, 25)}, f"authorised_on: {FUTURE}"),
        (
            {"authorised_on": dt.date(2026, 11, 23)},
            "authorised_on: cannot be before the referral on 24 November 2026 (census rule 1103)",
        ),
        ({"child_seen_on": dt.date(2026, 11, 25)}, f"child_seen_on: {FUTURE}"),
        ({"child_seen_on": dt.date(2026, 11, 23)}, "child_seen_on: cannot be before the referral"),
    ],
)
def test_a_wrong_authorisation_is_refused_on_its_field(assessment, mary, kw, message):
    refused(lambda: authorise(assessment, mary, **kw), message)


def test_the_child_is_seen_before_the_assessment_is_authorised(assessment, mary):
    with clock.frozen(noon(dt.date(2026, 11, 27))):
        refused(
            lambda: authorise(
                assessment,
                mary,
                authorised_on=dt.date(2026, 11, 25),
                child_seen_on=dt.date(2026, 11, 26),
            ),
            "child_seen_on: the child is seen during the assessment",
        )


def test_no_factors_identified_alone_is_accepted(assessment, mary):
    authorise(assessment, mary, factors=["21"], needs_support=False)
    assessment.refresh_from_db()
    assert (assessment.factors, assessment.needs_support) == (["21"], False)


def test_only_a_manager_authorises(assessment, alice, hazel):
    for who in (alice, hazel):
        refused(
            lambda who=who: authorise(assessment, who),
            "Your role does not allow casework.authorise",
            PermissionDenied,
        )


def test_an_assessment_is_authorised_once(assessment, mary):
    authorise(assessment, mary)
    refused(lambda: authorise(assessment, mary), "The assessment is already authorised", Conflict)


# --- Another assessment -----------------------------------------------------------------------


def test_another_assessment_starts_once_the_first_is_authorised(episode, assessment, alice, mary):
    refused(
        lambda: assessment_start(episode=episode, by=alice, started_on=TUESDAY),
        "An assessment is still open",
        Conflict,
    )
    authorise(assessment, mary)
    with clock.frozen(noon(dt.date(2026, 12, 2))):
        refused(
            lambda: assessment_start(episode=episode, by=alice, started_on=dt.date(2026, 12, 3)),
            "started_on: the date cannot be in the future",
        )
        refused(
            lambda: assessment_start(episode=episode, by=alice, started_on=dt.date(2026, 11, 20)),
            "started_on: cannot be before the referral on 24 November 2026 (census rule 1103)",
        )
        second = assessment_start(episode=episode, by=alice, started_on=dt.date(2026, 12, 1))
    assert (second.started_on, second.authorised_on) == (dt.date(2026, 12, 1), None)
    assert len(events(second, action=Action.CREATE)) == 1


# --- The initial child protection conference ------------------------------------------------------


def conference(enquiry: Section47, by, **kw: Any) -> Section47:
    kw.setdefault("icpc_on", None)
    kw.setdefault("not_required", False)
    kw.setdefault("led_to_plan", None)
    return icpc_record(enquiry=enquiry, by=by, **kw)


def test_a_conference_within_15_working_days_meets_the_icpc_clock(s47, enquiry, alice):
    held = dt.date(2026, 12, 10)
    with clock.frozen(noon(held)):
        conference(enquiry, alice, icpc_on=held, led_to_plan=True)
    enquiry.refresh_from_db()
    assert (enquiry.icpc_on, enquiry.icpc_not_required, enquiry.icpc_led_to_plan) == (
        held,
        False,
        True,
    )
    icpc = Clock.objects.get(contact=s47["C1"], kind=ClockKind.ICPC)
    assert (icpc.state, icpc.met_at) == (ClockState.MET, noon(held))
    # Leo's conference is his own: his clock still runs.
    assert Clock.objects.get(contact=s47["C2"], kind=ClockKind.ICPC).state == ClockState.RUNNING
    [event] = events(enquiry, action=Action.UPDATE)
    assert event.detail == {"icpc_on": "2026-12-10", "not_required": False, "led_to_plan": True}


def test_a_conference_after_15_working_days_is_met_late(s47, enquiry, alice):
    held = dt.date(2026, 12, 16)
    with clock.frozen(noon(held)):
        conference(enquiry, alice, icpc_on=held, led_to_plan=False)
    icpc = Clock.objects.get(contact=s47["C1"], kind=ClockKind.ICPC)
    assert (icpc.state, icpc.met_at) == (ClockState.BREACHED, noon(held))


def test_no_conference_needed_stops_the_icpc_clock_with_the_reason(s47, enquiry, alice):
    with clock.frozen(noon(dt.date(2026, 12, 1))):
        conference(enquiry, alice, not_required=True, led_to_plan=True)
    enquiry.refresh_from_db()
    assert (enquiry.icpc_on, enquiry.icpc_not_required, enquiry.icpc_led_to_plan) == (
        None,
        True,
        None,
    )
    icpc = Clock.objects.get(contact=s47["C1"], kind=ClockKind.ICPC)
    assert (icpc.state, icpc.met_at) == (ClockState.STOPPED, None)
    assert icpc.stop_reason == "The section 47 enquiry found no conference is needed"


def test_a_conference_on_a_saturday_is_refused_with_census_rule_8875(s47, enquiry, alice):
    with clock.frozen(noon(dt.date(2026, 12, 14))):
        refused(
            lambda: conference(enquiry, alice, icpc_on=SATURDAY, led_to_plan=True),
            "icpc_on: Saturday 12 December 2026 is not a working day (census rule 8875)",
        )


def test_a_conference_on_a_bank_holiday_is_refused(s47, enquiry, alice):
    with clock.frozen(noon(dt.date(2026, 12, 29))):
        refused(
            lambda: conference(enquiry, alice, icpc_on=dt.date(2026, 12, 28), led_to_plan=True),
            "icpc_on: Monday 28 December 2026 is not a working day",
        )


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (
            {"icpc_on": dt.date(2026, 12, 10), "not_required": True},
            "icpc_on: a conference date and 'not required' cannot both be given",
        ),
        ({}, "icpc_on: give the conference date, or say that none is required"),
        (
            {"icpc_on": dt.date(2026, 12, 10)},
            "led_to_plan: say whether the conference made a protection plan",
        ),
        ({"icpc_on": dt.date(2026, 12, 11), "led_to_plan": True}, f"icpc_on: {FUTURE}"),
    ],
)
def test_a_wrong_conference_is_refused_on_its_field(s47, enquiry, alice, kw, message):
    with clock.frozen(noon(dt.date(2026, 12, 10))):
        refused(lambda: conference(enquiry, alice, **kw), message)


def test_a_conference_before_its_enquiry_is_refused_with_census_rule_8615(episode, alice):
    later = an_enquiry(episode, alice, started_on=dt.date(2026, 11, 26))
    with clock.frozen(noon(dt.date(2026, 11, 27))):
        refused(
            lambda: conference(later, alice, icpc_on=dt.date(2026, 11, 25), led_to_plan=True),
            "icpc_on: cannot be before the enquiry started on 26 November 2026 (census rule 8615)",
        )


def test_a_conference_before_the_referral_is_refused_with_census_rule_1104(episode, alice):
    enquiry = an_enquiry(episode, alice)
    refused(
        lambda: conference(enquiry, alice, icpc_on=dt.date(2026, 11, 23), led_to_plan=True),
        "icpc_on: cannot be before the referral on 24 November 2026 (census rule 1104)",
    )


def test_a_conference_is_recorded_once_and_not_by_the_head_of_service(enquiry, alice, hazel):
    with clock.frozen(noon(dt.date(2026, 12, 10))):
        refused(
            lambda: conference(enquiry, hazel, icpc_on=dt.date(2026, 12, 10), led_to_plan=True),
            "Your role does not allow casework.record",
            PermissionDenied,
        )
        conference(enquiry, alice, icpc_on=dt.date(2026, 12, 10), led_to_plan=True)
        refused(
            lambda: conference(enquiry, alice, not_required=True),
            "The conference is already recorded",
            Conflict,
        )


# --- Plans ------------------------------------------------------------------------------------


def test_the_protection_plan_starts_on_the_day_of_the_conference_that_made_it(enquiry, alice):
    with clock.frozen(noon(dt.date(2026, 12, 11))):
        conference(enquiry, alice, icpc_on=dt.date(2026, 12, 10), led_to_plan=True)
        plan = plan_start(enquiry=enquiry, by=alice, category="EMO", previous_plans=1)
    assert (plan.started_on, plan.initial_category, plan.latest_category) == (
        dt.date(2026, 12, 10),
        "EMO",
        "EMO",
    )
    assert (plan.previous_plans, plan.enquiry, plan.episode) == (1, enquiry, enquiry.episode)
    assert len(events(plan, action=Action.CREATE)) == 1
    refused(
        lambda: plan_start(enquiry=enquiry, by=alice, category="NEG", previous_plans=0),
        "The conference's plan is already recorded",
        Conflict,
    )


def test_only_a_conference_that_made_a_plan_starts_one(enquiry, alice):
    def start() -> object:
        return plan_start(enquiry=enquiry, by=alice, category="EMO", previous_plans=0)

    refused(start, "Only a conference that made a plan starts one", Conflict)
    with clock.frozen(noon(dt.date(2026, 12, 10))):
        conference(enquiry, alice, icpc_on=dt.date(2026, 12, 10), led_to_plan=False)
    refused(start, "Only a conference that made a plan starts one", Conflict)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"category": "XYZ", "previous_plans": 0}, "category: 'XYZ' is not a category of abuse"),
        ({"category": "EMO", "previous_plans": -1}, "previous_plans: cannot be negative"),
    ],
)
def test_a_wrong_plan_is_refused_on_its_field(enquiry, alice, kw, message):
    with clock.frozen(noon(dt.date(2026, 12, 10))):
        conference(enquiry, alice, icpc_on=dt.date(2026, 12, 10), led_to_plan=True)
    refused(lambda: plan_start(enquiry=enquiry, by=alice, **kw), message)


def test_a_children_in_need_plan_starts_once_at_a_time(episode, alice, hazel):
    with clock.frozen(noon(dt.date(2026, 12, 1))):
        refused(
            lambda: cin_plan_start(episode=episode, by=alice, started_on=dt.date(2026, 12, 2)),
            "started_on: the date cannot be in the future",
        )
        refused(
            lambda: cin_plan_start(episode=episode, by=alice, started_on=dt.date(2026, 11, 23)),
            "started_on: cannot be before the referral on 24 November 2026 (census rule 4015)",
        )
        refused(
            lambda: cin_plan_start(episode=episode, by=hazel, started_on=dt.date(2026, 12, 1)),
            "Your role does not allow casework.record",
            PermissionDenied,
        )
        plan = cin_plan_start(episode=episode, by=alice, started_on=dt.date(2026, 12, 1))
        refused(
            lambda: cin_plan_start(episode=episode, by=alice, started_on=dt.date(2026, 12, 1)),
            "A children in need plan is already open",
            Conflict,
        )
    assert (plan.started_on, plan.ended_on) == (dt.date(2026, 12, 1), None)
    assert len(events(plan, action=Action.CREATE)) == 1


# --- Closing the referral ---------------------------------------------------------------------


def close(episode: CaseEpisode, by, **kw: Any) -> CaseEpisode:
    kw.setdefault("closed_on", TUESDAY)
    kw.setdefault("reason", "RC8")
    return episode_close(episode=episode, by=by, **kw)


def test_a_referral_with_an_open_assessment_or_enquiry_cannot_close(
    episode, assessment, alice, mary
):
    refused(lambda: close(episode, alice), "An assessment is still open", Conflict)
    authorise(assessment, mary)
    an_enquiry(episode, alice)
    refused(lambda: close(episode, alice), "A section 47 enquiry has no conference", Conflict)


def test_closing_ends_the_open_plans_and_then_nothing_more_is_recorded(
    episode, assessment, alice, mary, hazel
):
    with clock.frozen(noon(dt.date(2026, 12, 10))):
        authorise(assessment, mary, authorised_on=dt.date(2026, 11, 27))
        cin = cin_plan_start(episode=episode, by=alice, started_on=dt.date(2026, 11, 30))
        enquiry = an_enquiry(episode, alice, started_on=dt.date(2026, 12, 1))
        conference(enquiry, alice, icpc_on=dt.date(2026, 12, 8), led_to_plan=True)
        plan = plan_start(enquiry=enquiry, by=alice, category="PHY", previous_plans=0)
        refused(
            lambda: close(episode, alice, closed_on=dt.date(2026, 12, 7)),
            "closed_on: cannot be before the last activity on 8 December 2026",
        )
        refused(
            lambda: close(episode, alice, closed_on=dt.date(2026, 12, 11)),
            "closed_on: the date cannot be in the future",
        )
        refused(lambda: close(episode, alice, reason="RC0"), "reason: 'RC0' is not a reason")
        refused(
            lambda: close(episode, hazel, closed_on=dt.date(2026, 12, 10)),
            "Your role does not allow casework.record",
            PermissionDenied,
        )
        closed = close(episode, alice, closed_on=dt.date(2026, 12, 10), reason="RC7")
    assert (closed.closed_on, closed.closure_reason, closed.referral_nfa) == (
        dt.date(2026, 12, 10),
        "RC7",
        False,
    )
    plan.refresh_from_db()
    cin.refresh_from_db()
    assert (plan.ended_on, cin.ended_on) == (dt.date(2026, 12, 10), dt.date(2026, 12, 8))
    assert events(closed, action=Action.UPDATE)[-1].detail == {
        "closed_on": "2026-12-10",
        "reason": "RC7",
    }
    later = noon(dt.date(2026, 12, 14))
    with clock.frozen(later):
        for act in (
            lambda: close(episode, alice, closed_on=dt.date(2026, 12, 14)),
            lambda: cin_plan_start(episode=episode, by=alice, started_on=dt.date(2026, 12, 14)),
            lambda: assessment_start(episode=episode, by=alice, started_on=dt.date(2026, 12, 14)),
        ):
            refused(act, "The referral was closed on 10 December 2026", Conflict)


def test_a_referral_closed_with_nothing_done_is_a_referral_with_no_further_action(
    household, alice, mary
):
    refer(household["C1"], alice, mary, Outcome.ALREADY_OPEN)
    episode = CaseEpisode.objects.get(contact=household["C1"])
    closed = close(episode, alice, reason="RC8")
    assert (closed.referral_nfa, closed.closure_reason) == (True, "RC8")


def test_a_closure_before_the_referral_is_refused(household, alice, mary):
    refer(household["C1"], alice, mary, Outcome.ALREADY_OPEN)
    episode = CaseEpisode.objects.get(contact=household["C1"])
    refused(
        lambda: close(episode, alice, closed_on=dt.date(2026, 11, 23)),
        "closed_on: cannot be before the referral on 24 November 2026",
    )


def test_a_children_in_need_plan_never_runs_alongside_a_protection_plan(episode, alice):
    """Census rule 4001: a protection plan ends the open children in need plan the day it
    starts, and no children in need plan starts while a protection plan is open."""
    with clock.frozen(noon(dt.date(2026, 12, 10))):
        cin = cin_plan_start(episode=episode, by=alice, started_on=dt.date(2026, 11, 25))
        enquiry = an_enquiry(episode, alice, started_on=dt.date(2026, 11, 26))
        conference(enquiry, alice, icpc_on=dt.date(2026, 12, 9), led_to_plan=True)
        plan = plan_start(enquiry=enquiry, by=alice, category="EMO", previous_plans=0)
        cin.refresh_from_db()
        assert cin.ended_on == plan.started_on == dt.date(2026, 12, 9)
        assert events(plan, action=Action.CREATE)[0].detail["cin_plans_ended"] == [str(cin.pk)]
        refused(
            lambda: cin_plan_start(episode=episode, by=alice, started_on=dt.date(2026, 12, 10)),
            "The child is on a child protection plan",
            Conflict,
        )


# --- The primary need ---------------------------------------------------------------------------


def test_the_primary_need_is_asked_when_the_assessment_is_authorised(episode, assessment, mary):
    assert episode.primary_need == "N1"  # abuse or neglect until someone says otherwise
    authorise(assessment, mary, primary_need="N4")
    episode.refresh_from_db()
    assert episode.primary_need == "N4"
    [event] = events(assessment, action=Action.UPDATE)
    assert event.detail["primary_need"] == "N4"


def test_the_primary_need_is_changed_with_the_childs_details_and_audited(episode, alice):
    details(episode, alice, primary_need="N5")
    episode.refresh_from_db()
    assert episode.primary_need == "N5"
    assert events(episode, action=Action.UPDATE)[-1].detail == {
        "child_details": True,
        "primary_need": {"from": "N1", "to": "N5"},
    }
    details(episode, alice)  # not given: kept
    episode.refresh_from_db()
    assert episode.primary_need == "N5"


def test_a_wrong_primary_need_is_refused_on_its_field(episode, assessment, alice, mary):
    message = "primary_need: 'N10' is not a primary need code (N0 to N9)"
    refused(lambda: details(episode, alice, primary_need="N10"), message)
    refused(lambda: authorise(assessment, mary, primary_need="N10"), message)


# --- Reviews and the end of a protection plan ---------------------------------------------------

HELD = dt.date(2026, 12, 10)  # Thursday: the conference that made the plan
REVIEWED = dt.date(2027, 3, 9)  # Tuesday, within 3 months (T5)


@pytest.fixture
def plan(enquiry, alice) -> ChildProtectionPlan:
    """Amy's protection plan, made by the conference on Thursday 10 December 2026 (emotional
    abuse)."""
    with clock.frozen(noon(HELD)):
        conference(enquiry, alice, icpc_on=HELD, led_to_plan=True)
        return plan_start(enquiry=enquiry, by=alice, category="EMO", previous_plans=0)


def review(plan: ChildProtectionPlan, by, **kw: Any) -> ChildProtectionPlan:
    kw.setdefault("reviewed_on", REVIEWED)
    kw.setdefault("latest_category", "NEG")
    return plan_review_record(plan=plan, by=by, **kw)


def test_a_review_conference_records_its_date_and_the_latest_category(plan, alice):
    assert plan_review_due(plan) == dt.date(2027, 3, 10)  # 3 months after the conference
    with clock.frozen(noon(REVIEWED)):
        reviewed = review(plan, alice)
    assert (reviewed.review_dates, reviewed.initial_category, reviewed.latest_category) == (
        ["2027-03-09"],
        "EMO",
        "NEG",
    )
    assert events(plan, action=Action.UPDATE)[-1].detail == {
        "reviewed_on": "2027-03-09",
        "latest_category": {"from": "EMO", "to": "NEG"},
    }
    assert plan_review_due(reviewed) == dt.date(2027, 9, 9)  # then at most 6 months apart
    with clock.frozen(noon(dt.date(2027, 9, 8))):
        again = review(plan, alice, reviewed_on=dt.date(2027, 9, 8), latest_category="NEG")
    assert again.review_dates == ["2027-03-09", "2027-09-08"]


def _review_clocks(plan: ChildProtectionPlan) -> list[Clock]:
    return list(
        Clock.objects.filter(contact_id=plan.episode.contact_id, kind=ClockKind.CP_REVIEW).order_by(
            "started_at", "id"
        )
    )


def test_review_conferences_run_on_clocks_escalation_chases(plan, alice, mary):
    """Working Together T5 and T6 as clocks: the plan starts one due 3 months after the
    conference; a review meets it and starts the next, 6 months on; a late review is recorded
    as breached; the contact's soonest deadline follows; escalation warns the worker."""
    from safehub.referrals.escalation import escalations_sweep

    with clock.frozen(noon(dt.date(2026, 12, 11))):  # the assessment done: its clock met
        authorise(plan.episode.assessments.get(), mary, authorised_on=dt.date(2026, 12, 11))
    [first] = _review_clocks(plan)
    assert (first.state, first.due_at) == (
        ClockState.RUNNING,
        end_of_working_day(dt.date(2027, 3, 10)),
    )
    assert first.rule == "Within 3 months of the initial conference on 10 December 2026"
    contact = Contact.objects.get(pk=plan.episode.contact_id)
    assert contact.next_due_at == first.due_at
    contact.assigned_to = alice
    contact.save(update_fields=["assigned_to"])
    # Three quarters of the three months gone: the worker holding the contact is warned.
    with clock.frozen(noon(dt.date(2027, 2, 20))):
        escalations_sweep()
    [warned] = first.escalations.all()  # 80% of the time gone: the worker, not yet the manager
    assert (warned.level, warned.recipients) == ("worker", ["alice"])

    with clock.frozen(noon(REVIEWED)):
        review(plan, alice)
    first.refresh_from_db()
    assert (first.state, first.met_at) == (ClockState.MET, noon(REVIEWED))
    second = _review_clocks(plan)[1]
    assert (second.state, second.due_at) == (
        ClockState.RUNNING,
        end_of_working_day(dt.date(2027, 9, 9)),
    )
    assert second.rule == "Within 6 months of the review conference on 9 March 2027"
    contact.refresh_from_db()
    assert contact.next_due_at == second.due_at

    # The next review is held late: met, and recorded as breached.
    late = dt.date(2027, 9, 13)
    with clock.frozen(noon(late)):
        review(plan, alice, reviewed_on=late)
    second.refresh_from_db()
    assert (second.state, second.met_at) == (ClockState.BREACHED, noon(late))
    third = _review_clocks(plan)[2]
    assert third.due_at == end_of_working_day(dt.date(2028, 3, 13))

    # The plan ends: its next review no longer applies.
    with clock.frozen(noon(dt.date(2027, 10, 1))):
        plan_end(plan=plan, by=alice, ended_on=dt.date(2027, 10, 1))
    third.refresh_from_db()
    assert third.state == ClockState.STOPPED
    assert third.stop_reason == "The child protection plan ended on 1 October 2027"


def test_closing_the_referral_stops_the_review_clock(plan, alice, mary, enquiry):
    with clock.frozen(noon(dt.date(2027, 1, 12))):
        authorise(enquiry.episode.assessments.get(), mary, authorised_on=dt.date(2026, 12, 11))
        close(plan.episode, alice, closed_on=dt.date(2027, 1, 12), reason="RC7")
    [review_clock] = _review_clocks(plan)
    assert review_clock.state == ClockState.STOPPED
    assert Contact.objects.get(pk=plan.episode.contact_id).next_due_at is None


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (
            {"reviewed_on": HELD},
            "reviewed_on: a review comes after the plan started on 10 December 2026 "
            "(census rule 8841)",
        ),
        ({"reviewed_on": dt.date(2026, 12, 9)}, "reviewed_on: a review comes after the plan"),
        (
            {"reviewed_on": dt.date(2027, 3, 6)},
            "reviewed_on: Saturday 6 March 2027 is not a working day",
        ),
        (
            {"reviewed_on": dt.date(2026, 12, 28)},
            "reviewed_on: Monday 28 December 2026 is not a working day",  # a bank holiday
        ),
        ({"reviewed_on": dt.date(2027, 3, 10)}, "reviewed_on: the date cannot be in the future"),
        ({"latest_category": "XYZ"}, "latest_category: 'XYZ' is not a category of abuse"),
    ],
)
def test_a_wrong_review_is_refused_on_its_field(plan, alice, kw, message):
    with clock.frozen(noon(REVIEWED)):
        refused(lambda: review(plan, alice, **kw), message)


def test_reviews_are_recorded_in_order_and_not_by_the_head_of_service(plan, alice, hazel):
    with clock.frozen(noon(REVIEWED)):
        refused(
            lambda: review(plan, hazel),
            "Your role does not allow casework.record",
            PermissionDenied,
        )
        review(plan, alice)
        for day in (REVIEWED, dt.date(2027, 3, 8)):
            refused(
                lambda day=day: review(plan, alice, reviewed_on=day),
                "reviewed_on: the last review recorded was on 9 March 2027: record reviews in "
                "the order they were held",
            )


def test_the_plan_ends_not_before_it_started_nor_before_its_last_review(plan, alice, hazel):
    with clock.frozen(noon(dt.date(2027, 3, 12))):
        review(plan, alice)
        refused(
            lambda: plan_end(plan=plan, by=alice, ended_on=dt.date(2026, 12, 9)),
            "ended_on: cannot be before the plan started on 10 December 2026 (census rule 8925)",
        )
        refused(
            lambda: plan_end(plan=plan, by=alice, ended_on=dt.date(2027, 3, 8)),
            "ended_on: cannot be before the last review conference on 9 March 2027",
        )
        refused(
            lambda: plan_end(plan=plan, by=alice, ended_on=dt.date(2027, 3, 13)),
            "ended_on: the date cannot be in the future",
        )
        refused(
            lambda: plan_end(plan=plan, by=hazel, ended_on=REVIEWED),
            "Your role does not allow casework.record",
            PermissionDenied,
        )
        ended = plan_end(plan=plan, by=alice, ended_on=REVIEWED)  # at the review conference
        assert ended.ended_on == REVIEWED
        assert events(plan, action=Action.UPDATE)[-1].detail == {"ended_on": "2027-03-09"}
        assert plan_review_due(ended) is None
        # Ended: no more reviews, no second end.
        for act in (
            lambda: review(plan, alice, reviewed_on=dt.date(2027, 3, 11)),
            lambda: plan_end(plan=plan, by=alice, ended_on=dt.date(2027, 3, 11)),
        ):
            refused(act, "The child protection plan ended on 9 March 2027", Conflict)


def test_an_open_plan_waits_for_its_review_conference(plan):
    episode = plan.episode
    waiting = [(w.what, w.due) for w in episode_waiting(episode)]
    assert ("Review conference", dt.date(2027, 3, 10)) in waiting


def test_a_children_in_need_plan_follows_a_protection_plan_only_once_it_has_ended(plan, alice):
    """Census rule 4001, after the plan: a children in need plan starts on or after the day the
    protection plan ended."""
    with clock.frozen(noon(REVIEWED)):
        review(plan, alice)
        plan_end(plan=plan, by=alice, ended_on=REVIEWED)
        refused(
            lambda: cin_plan_start(episode=plan.episode, by=alice, started_on=dt.date(2027, 3, 8)),
            "started_on: the child was on a child protection plan until 9 March 2027",
        )
        cin = cin_plan_start(episode=plan.episode, by=alice, started_on=REVIEWED)
    assert cin.started_on == REVIEWED


def test_the_referral_closes_after_its_last_review_and_ends_the_plan(plan, alice, mary, enquiry):
    with clock.frozen(noon(dt.date(2027, 3, 12))):
        authorise(enquiry.episode.assessments.get(), mary, authorised_on=dt.date(2026, 12, 11))
        review(plan, alice)
        refused(
            lambda: close(plan.episode, alice, closed_on=dt.date(2027, 3, 8)),
            "closed_on: cannot be before the last activity on 9 March 2027",
        )
        close(plan.episode, alice, closed_on=dt.date(2027, 3, 12), reason="RC7")
    plan.refresh_from_db()
    assert plan.ended_on == dt.date(2027, 3, 12)  # a plan ends when its referral closes
    with clock.frozen(noon(dt.date(2027, 3, 15))):
        refused(
            lambda: review(plan, alice, reviewed_on=dt.date(2027, 3, 15)),
            "The referral was closed on 12 March 2027",
            Conflict,
        )


# --- The end of a children in need plan ---------------------------------------------------------


def test_a_children_in_need_plan_ends_not_before_it_started(episode, alice, hazel):
    with clock.frozen(noon(dt.date(2026, 12, 10))):
        cin = cin_plan_start(episode=episode, by=alice, started_on=dt.date(2026, 12, 1))
        refused(
            lambda: cin_plan_end(plan=cin, by=alice, ended_on=dt.date(2026, 11, 30)),
            "ended_on: cannot be before the plan started on 1 December 2026 (census rule 4011)",
        )
        refused(
            lambda: cin_plan_end(plan=cin, by=alice, ended_on=dt.date(2026, 12, 11)),
            "ended_on: the date cannot be in the future",
        )
        refused(
            lambda: cin_plan_end(plan=cin, by=hazel, ended_on=dt.date(2026, 12, 10)),
            "Your role does not allow casework.record",
            PermissionDenied,
        )
        ended = cin_plan_end(plan=cin, by=alice, ended_on=dt.date(2026, 12, 9))
        assert ended.ended_on == dt.date(2026, 12, 9)
        assert events(cin, action=Action.UPDATE)[-1].detail == {"ended_on": "2026-12-09"}
        refused(
            lambda: cin_plan_end(plan=cin, by=alice, ended_on=dt.date(2026, 12, 10)),
            "The children in need plan ended on 9 December 2026",
            Conflict,
        )
        # Another may start once it has ended.
        assert cin_plan_start(episode=episode, by=alice, started_on=dt.date(2026, 12, 10))


# --- No further action, and no work on a closed referral ----------------------------------------


def test_a_referral_closed_with_no_further_action_takes_no_activity(household, alice, mary):
    """Census rules 8831, 8832, 4000: a referral closed with nothing done after it (ReferralNFA)
    has no assessment, enquiry, conference or plan; none can be added once it is closed."""
    amy = household["C1"]
    refer(amy, alice, mary, Outcome.ALREADY_OPEN)
    episode = close(CaseEpisode.objects.get(contact=amy), alice, reason="RC8")
    assert (episode.referral_nfa, episode.closed_on) == (True, TUESDAY)
    nfa = (
        "The referral was closed on 24 November 2026 with no further action after the "
        "referral: no activity is recorded on it (census rules 8831, 8832, 4000)"
    )
    contact = Contact.objects.get(pk=amy.pk)
    for act in (
        lambda: assessment_start(episode=episode, by=alice, started_on=TUESDAY),
        lambda: cin_plan_start(episode=episode, by=alice, started_on=TUESDAY),
        lambda: episode_ensure(contact=contact, by=mary, start_assessment=True),
    ):
        refused(act, nfa, Conflict)
    refused(
        lambda: an_enquiry(episode, alice),
        f"{amy.given_names} {amy.family_name}'s referral was closed on 24 November 2026: a "
        "closed referral takes no new section 47 enquiry",
        Conflict,
    )
    # Its details for the returns may still be corrected.
    details(episode, alice, primary_need="N9")


def test_a_strategy_discussion_cannot_start_an_enquiry_on_a_closed_referral(household, alice, mary):
    """Amy's referral closed with no further action; a discussion about her brother Leo, called
    from his section 47 decision, includes her. Its outcome with an enquiry is refused with
    what to do (a new contact makes a new referral), and nothing of it is recorded."""
    amy, leo = household["C1"], household["C2"]
    refer(amy, alice, mary, Outcome.ALREADY_OPEN)
    close(CaseEpisode.objects.get(contact=amy), alice, reason="RC8")
    refer(leo, alice, mary, Outcome.STRATEGY_DISCUSSION_S47)
    discussion = call_discussion(
        [Contact.objects.get(pk=leo.pk), Contact.objects.get(pk=amy.pk)], alice
    )

    def record() -> object:
        with clock.frozen(STARTS + dt.timedelta(minutes=90)):
            return outcome_record(
                discussion=discussion,
                by=alice,
                held_at=STARTS,
                enquiry=Enquiry.SINGLE,
                immediate_protection=False,
                rationale="Threshold for significant harm met.",
                risks={},
                missing_reason="Police and health sent apologies by phone.",
                reconvene=False,
            )

    error = refused(
        record,
        f"{amy.given_names} {amy.family_name}'s referral was closed on 24 November 2026",
        Conflict,
    )
    assert "Record a new contact for the child" in error.message
    discussion.refresh_from_db()
    assert discussion.status == "called"
    assert not Section47.objects.exists()


def test_a_referral_cannot_close_while_a_strategy_discussion_about_the_child_is_called(
    s47, alice, mary
):
    """Its outcome may start an enquiry, which a closed referral could not take."""
    amy = s47["C1"]
    episode = CaseEpisode.objects.get(contact=amy)
    with clock.frozen(noon(dt.date(2026, 12, 10))):
        authorise(episode.assessments.get(), mary, authorised_on=dt.date(2026, 12, 10))
        conference(episode.enquiries.get(), alice, not_required=True)
    with clock.frozen(T0 + dt.timedelta(days=16)):
        discussion = call_discussion([Contact.objects.get(pk=amy.pk)], mary)
        refused(
            lambda: close(episode, alice, closed_on=dt.date(2026, 12, 10)),
            f"A strategy discussion about the child ({discussion.reference}) is called",
            Conflict,
        )
