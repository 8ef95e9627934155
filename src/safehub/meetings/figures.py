"""The strategy discussion figures of a council for a period, for the dashboards: no child, only
counts. The period takes the discussions *called* in it, [start, end) in London dates.

- discussions held within their due time, and those still open past it;
- hours from the decision to the discussion (median and 90th percentile);
- attendance and information rates by agency (the police are their own rows, and a summary line);
- information requests answered on time, by agency.
"""

import datetime as dt
import math
import statistics
from dataclasses import dataclass, field

from safehub.accounts.models import Agency
from safehub.core import clock
from safehub.meetings.models import (
    DiscussionStatus,
    InformationRequest,
    Participant,
    ParticipantRole,
    RequestStatus,
    StrategyDiscussion,
)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _nearest_rank(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class AgencyAttendance:
    agency: str
    name: str
    role: str
    invited: int = 0
    attended: int = 0
    apologies_with_information: int = 0
    apologies_without_information: int = 0
    did_not_attend: int = 0
    not_recorded: int = 0
    sent_information: int = 0  # attended, apologies with information, or answered the request
    attendance_rate: float | None = None
    information_rate: float | None = None


@dataclass
class AgencyRequests:
    agency: str
    name: str
    role: str
    sent: int = 0
    answered: int = 0
    answered_on_time: int = 0
    not_shared: int = 0
    open: int = 0
    open_overdue: int = 0
    withdrawn: int = 0
    on_time_rate: float | None = None


@dataclass
class DiscussionFigures:
    council: str
    start: str
    end: str
    called: int = 0
    held: int = 0
    cancelled: int = 0
    open: int = 0
    held_within_due: int = 0
    held_late: int = 0
    open_overdue: int = 0
    held_within_due_rate: float | None = None
    held_without_statutory_agency: int = 0
    reconvene_agreed: int = 0
    section_47: int = 0
    decision_to_discussion_count: int = 0
    decision_to_discussion_median_hours: float | None = None
    decision_to_discussion_p90_hours: float | None = None
    attendance_by_agency: list[AgencyAttendance] = field(default_factory=list)
    police_attendance: AgencyAttendance | None = None
    partners_attendance: AgencyAttendance | None = None
    requests_by_agency: list[AgencyRequests] = field(default_factory=list)


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    lo = dt.datetime.combine(start, dt.time.min, tzinfo=clock.LONDON).astimezone(dt.UTC)
    hi = dt.datetime.combine(end, dt.time.min, tzinfo=clock.LONDON).astimezone(dt.UTC)
    return lo, hi


def _add_attendance(row: AgencyAttendance, p: Participant, sent: bool) -> None:
    row.invited += 1
    key = p.attendance or "not_recorded"
    setattr(row, key, getattr(row, key) + 1)
    row.sent_information += int(sent)


def _finish(row: AgencyAttendance) -> AgencyAttendance:
    row.attendance_rate = _rate(row.attended, row.invited)
    row.information_rate = _rate(row.sent_information, row.invited)
    return row


def discussion_figures(
    *, council: Agency, start: dt.date, end: dt.date, now: dt.datetime | None = None
) -> DiscussionFigures:
    """The figures for the discussions `council` called from `start` up to (not including)
    `end`. Attendance counts the discussions held; requests count every request sent."""
    now = now or clock.now()
    lo, hi = _bounds(start, end)
    figures = DiscussionFigures(council=council.code, start=start.isoformat(), end=end.isoformat())
    discussions = list(
        StrategyDiscussion.objects.filter(
            local_authority=council, called_at__gte=lo, called_at__lt=hi
        ).select_related("decision")
    )
    hours: list[float] = []
    for d in discussions:
        figures.called += 1
        if d.status == DiscussionStatus.HELD and d.held_at is not None:
            figures.held += 1
            if d.held_at <= d.due_at:
                figures.held_within_due += 1
            else:
                figures.held_late += 1
            if d.missing_agencies:
                figures.held_without_statutory_agency += 1
                figures.reconvene_agreed += int(bool(d.reconvene))
            if d.enquiry and d.enquiry != "none":
                figures.section_47 += 1
            if d.decision is not None:
                hours.append((d.held_at - d.decision.decided_at).total_seconds() / 3600)
        elif d.status == DiscussionStatus.CANCELLED:
            figures.cancelled += 1
        else:
            figures.open += 1
            figures.open_overdue += int(d.due_at < now)
    figures.held_within_due_rate = _rate(figures.held_within_due, figures.held)
    figures.decision_to_discussion_count = len(hours)
    if hours:
        figures.decision_to_discussion_median_hours = round(statistics.median(hours), 2)
        p90 = _nearest_rank(hours, 0.9)
        figures.decision_to_discussion_p90_hours = round(p90, 2) if p90 is not None else None

    ids = [d.pk for d in discussions]
    held_ids = {d.pk for d in discussions if d.status == DiscussionStatus.HELD}
    participants = list(
        Participant.objects.filter(discussion_id__in=ids)
        .exclude(role=ParticipantRole.CHILDREN_SOCIAL_CARE)
        .select_related("agency", "request")
        .order_by("agency__code", "role")
    )
    attendance: dict[tuple[str, str], AgencyAttendance] = {}
    police = AgencyAttendance(agency="police", name="All police", role=ParticipantRole.POLICE)
    partners = AgencyAttendance(agency="partners", name="All other agencies", role="")
    requests: dict[tuple[str, str], AgencyRequests] = {}
    for p in participants:
        key = (p.agency.code, p.role)
        if p.discussion_id in held_ids:
            row = attendance.setdefault(
                key, AgencyAttendance(agency=p.agency.code, name=p.agency.name, role=p.role)
            )
            sent = p.sent_information
            _add_attendance(row, p, sent)
            _add_attendance(police if p.role == ParticipantRole.POLICE else partners, p, sent)
        request: InformationRequest | None = getattr(p, "request", None)
        if request is None:
            continue
        r = requests.setdefault(
            key, AgencyRequests(agency=p.agency.code, name=p.agency.name, role=p.role)
        )
        r.sent += 1
        if request.status == RequestStatus.ANSWERED:
            r.answered += 1
            r.answered_on_time += int(bool(request.answered_on_time))
        elif request.status == RequestStatus.NOT_SHARED:
            r.not_shared += 1
        elif request.status == RequestStatus.WITHDRAWN:
            r.withdrawn += 1
        else:
            r.open += 1
            r.open_overdue += int(request.deadline < now)
    figures.attendance_by_agency = [_finish(row) for row in attendance.values()]
    figures.police_attendance = _finish(police)
    figures.partners_attendance = _finish(partners)
    for r in requests.values():
        r.on_time_rate = _rate(r.answered_on_time, r.sent - r.withdrawn)
    figures.requests_by_agency = list(requests.values())
    return figures
