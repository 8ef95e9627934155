"""Strategy discussions over the API, for a signed-in person (session): the discussions in
scope, one discussion as the asker may see it, and the council's figures."""

import datetime as dt
import uuid
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from safehub.accounts.models import AgencyKind, User
from safehub.accounts.permissions import require
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core import clock
from safehub.core.api_auth import staff_session
from safehub.core.errors import DomainError, PermissionDenied
from safehub.meetings.figures import DiscussionFigures, discussion_figures
from safehub.meetings.models import StrategyDiscussion
from safehub.meetings.selectors import (
    discussion_get,
    discussions_in_scope,
    is_chair_side,
    participants_of,
    partner_view,
)

router = Router(tags=["strategy discussions"])


class ErrorOut(Schema):
    detail: str
    code: str


class ProblemOut(Schema):
    loc: list[str | int]
    msg: str


class ProblemsOut(Schema):
    errors: list[ProblemOut]


ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ProblemsOut}


class DiscussionSummaryOut(Schema):
    id: str
    reference: str
    council: str = Field(description="DfE LA code of the council that called it.")
    status: str
    starts_at: dt.datetime
    ends_at: dt.datetime


class SubjectOut(Schema):
    who: str
    relationship: str
    given_names: str = ""
    family_name: str = ""
    date_of_birth: str = ""
    address: str = ""
    postcode: str = ""
    nhs_number: str = ""
    upn: str = ""


class RequestOut(Schema):
    agency: str
    role: str
    question: str
    deadline: dt.datetime
    status: str
    subjects: list[SubjectOut]
    answer: str | None = Field(
        None, description="The agency's answer: shown to the council and to that agency only."
    )
    answered_at: dt.datetime | None = None


class ParticipantOut(Schema):
    agency: str
    role: str
    statutory: bool
    response: str
    attendance: str


class DiscussionOut(DiscussionSummaryOut):
    location: str
    format: str
    mode: str
    view: str = Field(
        description="'hub': the council's whole record; 'partner': one agency's part."
    )
    due_at: dt.datetime | None = Field(None, description="Hub view only.")
    participants: list[ParticipantOut]
    requests: list[RequestOut]
    enquiry: str | None = Field(None, description="Hub view only: the section 47 decision.")
    icpc_target: dt.date | None = Field(None, description="Hub view only.")


def _summary(d: StrategyDiscussion) -> dict[str, Any]:
    return {
        "id": str(d.pk),
        "reference": d.reference,
        "council": d.local_authority.la_code or d.local_authority.code,
        "status": d.status,
        "starts_at": d.starts_at,
        "ends_at": d.ends_at,
    }


def _request(p: Any, r: Any) -> dict[str, Any]:
    return {
        "agency": p.agency.code,
        "role": p.role,
        "question": r.question,
        "deadline": r.deadline,
        "status": r.status,
        "subjects": r.subjects,
        "answer": r.answer or None,
        "answered_at": r.answered_at,
    }


def _participant(p: Any) -> dict[str, Any]:
    return {
        "agency": p.agency.code,
        "role": p.role,
        "statutory": p.statutory,
        "response": p.response,
        "attendance": p.attendance,
    }


@router.get(
    "/strategy-discussions",
    auth=staff_session,
    response={200: list[DiscussionSummaryOut], **ERRORS},
    summary="The strategy discussions in scope",
    description="Hub staff: their council's. A partner: those their agency is invited to.",
)
def discussion_list_api(request: HttpRequest) -> list[dict[str, Any]]:
    user: User = request.auth  # type: ignore[attr-defined]
    require(user, "discussion.view")
    discussions = list(discussions_in_scope(fetched_by=user).order_by("-starts_at")[:500])
    with transaction.atomic():
        audit_record(
            actor=user,
            action=Action.SEARCH,
            object_type="meetings.list",
            object_id="api",
            detail={"shown": [str(d.pk) for d in discussions]},
        )
    return [_summary(d) for d in discussions]


@router.get(
    "/strategy-discussions/{discussion_id}",
    auth=staff_session,
    response={200: DiscussionOut, **ERRORS},
    summary="One strategy discussion, as the asker may see it",
    description=(
        "Hub staff of the council see the whole record. A partner sees the time and place, and "
        "only their own agency's invitation and request, with only the details given to them."
    ),
)
def discussion_read_api(request: HttpRequest, discussion_id: uuid.UUID) -> dict[str, Any]:
    user: User = request.auth  # type: ignore[attr-defined]
    discussion = discussion_get(fetched_by=user, discussion_id=discussion_id)
    hub = is_chair_side(user, discussion)
    with transaction.atomic():
        audit_record(
            actor=user,
            action=Action.VIEW,
            obj=discussion,
            detail={"via": "api", "view": "hub" if hub else "partner"},
        )
    base = {
        **_summary(discussion),
        "location": discussion.location,
        "format": discussion.format,
        "mode": discussion.mode,
    }
    if hub:
        participants = participants_of(discussion)
        return {
            **base,
            "view": "hub",
            "due_at": discussion.due_at,
            "participants": [_participant(p) for p in participants],
            "requests": [_request(p, p.request) for p in participants if hasattr(p, "request")],
            "enquiry": discussion.enquiry or None,
            "icpc_target": discussion.icpc_target,
        }
    view = partner_view(discussion=discussion, user=user)
    return {
        **base,
        "view": "partner",
        "participants": [_participant(p) for p in view["participants"]],
        "requests": [_request(r.participant, r) for r in view["requests"]],
    }


class PeriodIn(Schema):
    start: dt.date | None = Field(None, description="First day (London); default 30 days ago.")
    end: dt.date | None = Field(None, description="The day after the last; default tomorrow.")


@router.get(
    "/reports/strategy-discussions",
    auth=staff_session,
    response={200: DiscussionFigures, 400: ErrorOut, **ERRORS},
    summary="The council's strategy discussion figures for a period",
    description=(
        "Counts only, no child: discussions called in [start, end) by London date; held within "
        "their due time; hours from decision to discussion; attendance and information rates by "
        "agency, the police separately; information requests answered on time by agency."
    ),
)
def discussion_figures_api(request: HttpRequest, period: Query[PeriodIn]) -> DiscussionFigures:
    user: User = request.auth  # type: ignore[attr-defined]
    require(user, "report.view")
    council = user.agency
    if council is None or council.kind != AgencyKind.CHILDREN_SERVICES:
        raise PermissionDenied("The figures are a council's: your agency is not a council.")
    today = clock.now().astimezone(clock.LONDON).date()
    start = period.start or today - dt.timedelta(days=30)
    end = period.end or today + dt.timedelta(days=1)
    if end <= start:
        raise DomainError("end: must be after start")
    if (end - start).days > 800:
        raise DomainError("end: a period is at most 800 days")
    figures = discussion_figures(council=council, start=start, end=end)
    with transaction.atomic():
        audit_record(
            actor=user,
            action=Action.EXPORT,
            object_type="meetings.figures",
            object_id=f"{council.code}:{start}..{end}",
            detail={"aggregate": True},
        )
    return figures
