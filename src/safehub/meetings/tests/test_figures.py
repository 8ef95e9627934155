"""The strategy discussion figures (safehub.meetings.figures.discussion_figures), against counts
worked out by hand.

Wirral (LA344) calls eight discussions in November 2026 (the period [1 Nov, 1 Dec), London
dates); the figures are taken at 09:00 on Tuesday 24 November. One Wirral discussion called on 31
October, one called on 1 December and one of Liverpool's (LA341) are outside and must change
nothing. London is on GMT all month, so London dates are UTC dates.

    D1  held on time   decided  2 Nov 09:00, held  2 Nov 15:00 ( 6 h), s.47 single
    D2  held on time   decided  3 Nov 10:00, held  3 Nov 12:00 ( 2 h), no s.47
    D3  held on time   decided  4 Nov 08:00, held  4 Nov 18:00 (10 h), s.47 joint,
                       held without health, reconvene agreed
    D4  held late      decided  5 Nov 09:00, due 5 Nov 23:59:59, held 6 Nov 13:00 (28 h),
                       no s.47, held without health, no reconvene
    D8  held on time   called by a manager without a decision, 1 Nov 00:00 (the period's
                       first instant), held 1 Nov 10:00: no decision, so no hours
    D5  open, overdue  due 20 Nov 23:59:59
    D6  open           due 25 Nov 23:59:59 (not yet)
    D7  cancelled

Participants (children's social care is in every discussion and never counted):

    D1  MSP police   attended, on time
        RY7 health   apologies without information, late
        school       attended, on time
    D2  MSP police   attended, late
        RY7 health   attended, on time
        DAS-WIR      did not attend, not shared
    D3  MSP police   attended, on time
        RY7 health   not recorded, not shared
        school       apologies without information, on time
    D4  MSP police   did not attend, open (overdue)
        RY7 health   did not attend, open (overdue)
    D8  MSP police   apologies with information, not shared
        CHS police   attended, on time
        RY7 health   apologies with information, on time
    D5  MSP police   open (overdue)
        RY7 health   on time
    D6  MSP police   open (not yet due)
    D7  MSP police   withdrawn
        RY7 health   withdrawn

("on time" / "late": answered before / after the request's deadline.)
"""

import datetime as dt
import itertools

import pytest

from safehub.accounts.models import Agency
from safehub.meetings.figures import discussion_figures
from safehub.meetings.models import (
    Attendance,
    DiscussionChild,
    DiscussionStatus,
    Enquiry,
    InformationRequest,
    Participant,
    ParticipantRole,
    RequestStatus,
    StrategyDiscussion,
)
from safehub.referrals.models import (
    Contact,
    ContactStatus,
    Decision,
    Outcome,
    ReferralSource,
    Routing,
)

UTC = dt.UTC
NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
A = Attendance
S = RequestStatus
R = ParticipantRole

_names = itertools.count(1)


def at(day: int, hour: int = 0, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=UTC)


def end_of(day: int, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, 23, 59, 59, tzinfo=UTC)


def make_discussion(
    user,
    *,
    council: str = "LA344",
    called_at: dt.datetime,
    due_at: dt.datetime,
    decided_at: dt.datetime | None = None,
    status: str = DiscussionStatus.CALLED,
    held_at: dt.datetime | None = None,
    enquiry: str = "",
    missing: list[str] | None = None,
    reconvene: bool | None = None,
) -> StrategyDiscussion:
    la = Agency.objects.get(code=council)
    contact = Contact.objects.create(
        given_names=f"Child{next(_names)}",
        family_name="Figures",
        local_authority=la,
        routing=Routing.ROUTED,
        received_at=(decided_at or called_at) - dt.timedelta(hours=1),
        referral_source=ReferralSource.POLICE,
        status=ContactStatus.DECIDED,
        rag="red",
    )
    decision = None
    if decided_at is not None:
        decision = Decision.objects.create(
            contact=contact,
            outcome=Outcome.STRATEGY_DISCUSSION_S47,
            rationale="Significant harm suspected.",
            referral_source=ReferralSource.POLICE,
            became_referral=True,
            decided_by=user,
            decided_at=decided_at,
        )
    starts = held_at or called_at + dt.timedelta(hours=2)
    d = StrategyDiscussion.objects.create(
        local_authority=la,
        contact=contact,
        decision=decision,
        called_by=user,
        called_at=called_at,
        chair=user,
        reason="Significant harm suspected.",
        due_at=due_at,
        format="meeting",
        mode="remote",
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=1),
        location="By video",
        consent="not_required",
        status=status,
        held_at=held_at,
        enquiry=enquiry,
        missing_agencies=missing or [],
        reconvene=reconvene,
        outcome_recorded_at=held_at,
        cancelled_at=called_at + dt.timedelta(hours=1) if status == "cancelled" else None,
    )
    DiscussionChild.objects.create(discussion=d, contact=contact)
    # Children's social care: always there, never in the figures.
    invite(d, council, R.CHILDREN_SOCIAL_CARE, A.ATTENDED)
    return d


def invite(
    d: StrategyDiscussion,
    code: str,
    role: str,
    attendance: str = A.NOT_RECORDED,
    request: str | None = None,
) -> Participant:
    """request: None (no request), "open", "overdue", "on_time", "late", "not_shared",
    "withdrawn". Deadlines are an hour before the start; "overdue" is an open request whose
    deadline is before NOW, "open" one whose deadline is after it."""
    agency = Agency.objects.get(code=code)
    p = Participant.objects.create(
        discussion=d,
        role=role,
        agency=agency,
        invitee_email=agency.email or "someone@example.org",
        statutory=role in (R.CHILDREN_SOCIAL_CARE, R.POLICE, R.HEALTH),
        invited_at=d.called_at,
        attendance=attendance,
        attended_name="Someone" if attendance == A.ATTENDED else "",
    )
    if request is None:
        return p
    deadline = d.starts_at - dt.timedelta(hours=1)
    if request == "open":
        assert deadline > NOW, "an open request not yet due needs a deadline after NOW"
    if request == "overdue":
        assert deadline < NOW
    status = {
        "open": S.OPEN,
        "overdue": S.OPEN,
        "on_time": S.ANSWERED,
        "late": S.ANSWERED,
        "not_shared": S.NOT_SHARED,
        "withdrawn": S.WITHDRAWN,
    }[request]
    answered_at = {
        "on_time": deadline - dt.timedelta(minutes=10),
        "late": deadline + dt.timedelta(minutes=10),
        "not_shared": deadline - dt.timedelta(minutes=5),
    }.get(request)
    InformationRequest.objects.create(
        participant=p,
        question="What do you know?",
        subjects=[],
        deadline=deadline,
        sent_at=d.called_at,
        status=status,
        answer="We know this." if status == S.ANSWERED else "",
        answered_at=answered_at,
    )
    return p


@pytest.fixture
def figures(alice, make_user):
    liverpool = make_user("lena", "LA341", "hub_manager")
    held = DiscussionStatus.HELD

    d1 = make_discussion(
        alice,
        called_at=at(2, 9, 30),
        decided_at=at(2, 9),
        due_at=end_of(2),
        status=held,
        held_at=at(2, 15),
        enquiry=Enquiry.SINGLE,
    )
    invite(d1, "MSP", R.POLICE, A.ATTENDED, "on_time")
    invite(d1, "RY7", R.HEALTH, A.APOLOGIES_WITHOUT_INFORMATION, "late")
    invite(d1, "URN900001", R.SCHOOL, A.ATTENDED, "on_time")

    d2 = make_discussion(
        alice,
        called_at=at(3, 10, 15),
        decided_at=at(3, 10),
        due_at=end_of(4),
        status=held,
        held_at=at(3, 12),
        enquiry=Enquiry.NONE,
    )
    invite(d2, "MSP", R.POLICE, A.ATTENDED, "late")
    invite(d2, "RY7", R.HEALTH, A.ATTENDED, "on_time")
    invite(d2, "DAS-WIR", R.DOMESTIC_ABUSE, A.DID_NOT_ATTEND, "not_shared")

    d3 = make_discussion(
        alice,
        called_at=at(4, 8, 30),
        decided_at=at(4, 8),
        due_at=end_of(4),
        status=held,
        held_at=at(4, 18),
        enquiry=Enquiry.JOINT,
        missing=["health (Wirral Community Health and Care NHS Foundation Trust)"],
        reconvene=True,
    )
    invite(d3, "MSP", R.POLICE, A.ATTENDED, "on_time")
    invite(d3, "RY7", R.HEALTH, A.NOT_RECORDED, "not_shared")
    invite(d3, "URN900001", R.SCHOOL, A.APOLOGIES_WITHOUT_INFORMATION, "on_time")

    d4 = make_discussion(
        alice,
        called_at=at(5, 9, 30),
        decided_at=at(5, 9),
        due_at=end_of(5),
        status=held,
        held_at=at(6, 13),
        enquiry=Enquiry.NONE,
        missing=["health (Wirral Community Health and Care NHS Foundation Trust)"],
        reconvene=False,
    )
    invite(d4, "MSP", R.POLICE, A.DID_NOT_ATTEND, "overdue")
    invite(d4, "RY7", R.HEALTH, A.DID_NOT_ATTEND, "overdue")

    d8 = make_discussion(
        alice,
        called_at=at(1),
        due_at=end_of(1),
        status=held,
        held_at=at(1, 10),
        enquiry=Enquiry.NONE,
    )
    invite(d8, "MSP", R.POLICE, A.APOLOGIES_WITH_INFORMATION, "not_shared")
    invite(d8, "CHS", R.POLICE, A.ATTENDED, "on_time")
    invite(d8, "RY7", R.HEALTH, A.APOLOGIES_WITH_INFORMATION, "on_time")

    d5 = make_discussion(alice, called_at=at(20, 9), decided_at=at(20, 8), due_at=end_of(20))
    invite(d5, "MSP", R.POLICE, request="overdue")
    invite(d5, "RY7", R.HEALTH, request="on_time")

    d6 = make_discussion(alice, called_at=at(24, 8, 30), decided_at=at(24, 7), due_at=end_of(25))
    invite(d6, "MSP", R.POLICE, request="open")

    d7 = make_discussion(
        alice,
        called_at=at(10, 9),
        decided_at=at(10, 8),
        due_at=end_of(10),
        status=DiscussionStatus.CANCELLED,
    )
    invite(d7, "MSP", R.POLICE, request="withdrawn")
    invite(d7, "RY7", R.HEALTH, request="withdrawn")

    # Outside the period or the council: each would change every line above if counted.
    before = make_discussion(
        alice,
        called_at=at(31, 23, 59, month=10),
        decided_at=at(31, 23, month=10),
        due_at=end_of(31, month=10),
        status=held,
        held_at=at(1, 1),
        enquiry=Enquiry.SINGLE,
    )
    invite(before, "MSP", R.POLICE, A.DID_NOT_ATTEND, "late")
    after = make_discussion(alice, called_at=at(1, 0, month=12), due_at=end_of(1, month=12))
    invite(after, "MSP", R.POLICE, request="open")
    liverpool_d = make_discussion(
        liverpool,
        council="LA341",
        called_at=at(9, 9),
        decided_at=at(9, 8),
        due_at=end_of(9),
        status=held,
        held_at=at(12, 9),
        enquiry=Enquiry.SINGLE,
    )
    invite(liverpool_d, "MSP", R.POLICE, A.DID_NOT_ATTEND, "late")

    return discussion_figures(
        council=Agency.objects.get(code="LA344"),
        start=dt.date(2026, 11, 1),
        end=dt.date(2026, 12, 1),
        now=NOW,
    )


def test_the_discussions_are_counted_by_what_became_of_them(figures):
    assert figures.council == "LA344"
    assert (figures.start, figures.end) == ("2026-11-01", "2026-12-01")
    assert figures.called == 8  # D1-D8; not 31 Oct, not 1 Dec, not Liverpool's
    assert figures.held == 5  # D1, D2, D3, D4, D8
    assert figures.cancelled == 1  # D7
    assert figures.open == 2  # D5, D6
    assert figures.held_within_due == 4  # D1, D2, D3, D8
    assert figures.held_late == 1  # D4: due 5 Nov, held 6 Nov
    assert figures.open_overdue == 1  # D5 (due 20 Nov); D6 is due 25 Nov
    assert figures.held_within_due_rate == 0.8  # 4 of 5
    assert figures.held_without_statutory_agency == 2  # D3, D4
    assert figures.reconvene_agreed == 1  # D3
    assert figures.section_47 == 2  # D1 single, D3 joint


def test_hours_from_decision_to_discussion(figures):
    # D1 6 h, D2 2 h, D3 10 h, D4 28 h; D8 had no decision. Sorted: 2, 6, 10, 28.
    assert figures.decision_to_discussion_count == 4
    assert figures.decision_to_discussion_median_hours == 8.0  # (6 + 10) / 2
    assert figures.decision_to_discussion_p90_hours == 28.0  # nearest rank: ceil(0.9 * 4) = 4th


def _rows(figures) -> dict[str, dict]:
    return {
        row.agency: {k: v for k, v in vars(row).items() if k not in ("agency", "name")}
        for row in figures.attendance_by_agency
    }


def test_attendance_by_agency_counts_the_held_discussions_only(figures):
    rows = _rows(figures)
    # Children's social care is never a row; DAS-WIR only from D2.
    assert sorted(rows) == ["CHS", "DAS-WIR", "MSP", "RY7", "URN900001"]
    # MSP in D1, D2, D3 (attended), D4 (did not attend, request open), D8 (apologies with
    # information): sent information = 3 attended + 1 apologies with information.
    assert rows["MSP"] == {
        "role": "police",
        "invited": 5,
        "attended": 3,
        "apologies_with_information": 1,
        "apologies_without_information": 0,
        "did_not_attend": 1,
        "not_recorded": 0,
        "sent_information": 4,
        "attendance_rate": 0.6,
        "information_rate": 0.8,
    }
    # CHS: D8 only, attended.
    assert rows["CHS"] == {
        "role": "police",
        "invited": 1,
        "attended": 1,
        "apologies_with_information": 0,
        "apologies_without_information": 0,
        "did_not_attend": 0,
        "not_recorded": 0,
        "sent_information": 1,
        "attendance_rate": 1.0,
        "information_rate": 1.0,
    }
    # RY7 in the held five: D1 apologies without information but answered (late: still
    # information), D2 attended, D3 not recorded and not shared, D4 did not attend with the
    # request open, D8 apologies with information. Information: D1, D2, D8.
    assert rows["RY7"] == {
        "role": "health",
        "invited": 5,
        "attended": 1,
        "apologies_with_information": 1,
        "apologies_without_information": 1,
        "did_not_attend": 1,
        "not_recorded": 1,
        "sent_information": 3,
        "attendance_rate": 0.2,
        "information_rate": 0.6,
    }
    # The school: D1 attended; D3 apologies without information but answered on time.
    assert rows["URN900001"] == {
        "role": "school",
        "invited": 2,
        "attended": 1,
        "apologies_with_information": 0,
        "apologies_without_information": 1,
        "did_not_attend": 0,
        "not_recorded": 0,
        "sent_information": 2,
        "attendance_rate": 0.5,
        "information_rate": 1.0,
    }
    # DAS-WIR: D2, did not attend, did not share.
    assert rows["DAS-WIR"] == {
        "role": "domestic_abuse",
        "invited": 1,
        "attended": 0,
        "apologies_with_information": 0,
        "apologies_without_information": 0,
        "did_not_attend": 1,
        "not_recorded": 0,
        "sent_information": 0,
        "attendance_rate": 0.0,
        "information_rate": 0.0,
    }


def test_the_police_are_their_own_line_apart_from_the_other_agencies(figures):
    police = figures.police_attendance
    # MSP (5) + CHS (1).
    assert (police.agency, police.role) == ("police", "police")
    assert (
        police.invited,
        police.attended,
        police.apologies_with_information,
        police.apologies_without_information,
        police.did_not_attend,
        police.not_recorded,
        police.sent_information,
    ) == (6, 4, 1, 0, 1, 0, 5)
    assert police.attendance_rate == 0.6667  # 4 / 6
    assert police.information_rate == 0.8333  # 5 / 6
    partners = figures.partners_attendance
    # RY7 (5) + school (2) + DAS-WIR (1), no police, no children's social care.
    assert partners.agency == "partners"
    assert (
        partners.invited,
        partners.attended,
        partners.apologies_with_information,
        partners.apologies_without_information,
        partners.did_not_attend,
        partners.not_recorded,
        partners.sent_information,
    ) == (8, 2, 1, 2, 2, 1, 5)
    assert partners.attendance_rate == 0.25  # 2 / 8
    assert partners.information_rate == 0.625  # 5 / 8


def test_requests_by_agency_count_every_request_sent(figures):
    rows = {
        r.agency: {k: v for k, v in vars(r).items() if k not in ("agency", "name", "role")}
        for r in figures.requests_by_agency
    }
    assert sorted(rows) == ["CHS", "DAS-WIR", "MSP", "RY7", "URN900001"]
    # MSP: D1 on time, D2 late, D3 on time, D4 open overdue, D8 not shared, D5 open overdue,
    # D6 open not yet due, D7 withdrawn. On time: 2 of 7 not withdrawn.
    assert rows["MSP"] == {
        "sent": 8,
        "answered": 3,
        "answered_on_time": 2,
        "not_shared": 1,
        "open": 3,
        "open_overdue": 2,
        "withdrawn": 1,
        "on_time_rate": 0.2857,
    }
    assert rows["CHS"] == {
        "sent": 1,
        "answered": 1,
        "answered_on_time": 1,
        "not_shared": 0,
        "open": 0,
        "open_overdue": 0,
        "withdrawn": 0,
        "on_time_rate": 1.0,
    }
    # RY7: D1 late, D2 on time, D3 not shared, D4 open overdue, D8 on time, D5 on time, D7
    # withdrawn. On time: 3 of 6.
    assert rows["RY7"] == {
        "sent": 7,
        "answered": 4,
        "answered_on_time": 3,
        "not_shared": 1,
        "open": 1,
        "open_overdue": 1,
        "withdrawn": 1,
        "on_time_rate": 0.5,
    }
    # The school: D1 and D3, both on time.
    assert rows["URN900001"] == {
        "sent": 2,
        "answered": 2,
        "answered_on_time": 2,
        "not_shared": 0,
        "open": 0,
        "open_overdue": 0,
        "withdrawn": 0,
        "on_time_rate": 1.0,
    }
    # DAS-WIR: D2, not shared: answered, but nothing on time.
    assert rows["DAS-WIR"] == {
        "sent": 1,
        "answered": 0,
        "answered_on_time": 0,
        "not_shared": 1,
        "open": 0,
        "open_overdue": 0,
        "withdrawn": 0,
        "on_time_rate": 0.0,
    }


def test_a_period_with_nothing_called_has_no_rates(alice):
    empty = discussion_figures(
        council=Agency.objects.get(code="LA344"),
        start=dt.date(2026, 11, 1),
        end=dt.date(2026, 12, 1),
        now=NOW,
    )
    assert (empty.called, empty.held, empty.held_within_due_rate) == (0, 0, None)
    assert empty.decision_to_discussion_median_hours is None
    assert empty.police_attendance.invited == 0 and empty.police_attendance.attendance_rate is None
    assert empty.attendance_by_agency == [] and empty.requests_by_agency == []


def test_the_period_is_in_london_dates_in_summer_too(alice):
    """23:30 UTC on 30 June is 00:30 on 1 July in London (BST): a July discussion."""
    d = make_discussion(
        alice,
        called_at=dt.datetime(2026, 6, 30, 23, 30, tzinfo=UTC),
        due_at=dt.datetime(2026, 7, 1, 22, 59, 59, tzinfo=UTC),
    )
    la = Agency.objects.get(code="LA344")
    june = discussion_figures(
        council=la, start=dt.date(2026, 6, 1), end=dt.date(2026, 7, 1), now=d.called_at
    )
    july = discussion_figures(
        council=la, start=dt.date(2026, 7, 1), end=dt.date(2026, 8, 1), now=d.called_at
    )
    assert (june.called, july.called) == (0, 1)
    assert (july.open, july.open_overdue) == (1, 0)
