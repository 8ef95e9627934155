"""Strategy discussion pages. The council's hub sees the whole record and runs it; a partner
practitioner sees only their agency's invitation and request (`partner_view`). Every page view is
audited; every act goes through `safehub.meetings.services`."""

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from safehub.accounts.models import Agency, AgencyKind, User
from safehub.accounts.permissions import user_can
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core import clock
from safehub.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from safehub.meetings import services
from safehub.meetings.forms import (
    ActionForm,
    AnswerForm,
    AttendanceForm,
    CallForm,
    CancelForm,
    DoneForm,
    InviteForm,
    OutcomeForm,
    RefusalForm,
    RescheduleForm,
    RespondForm,
)
from safehub.meetings.invitations import minutes_pdf
from safehub.meetings.models import (
    DiscussionAction,
    DiscussionStatus,
    InformationRequest,
    ParticipantRole,
    RequestStatus,
    Response,
    StrategyDiscussion,
)
from safehub.meetings.selectors import (
    discussion_get,
    discussions_in_scope,
    is_chair_side,
    participants_of,
    partner_view,
)
from safehub.referrals.models import Contact
from safehub.referrals.selectors import contact_get

R = ParticipantRole


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _discussion_or_404(request: HttpRequest, discussion_id: Any) -> StrategyDiscussion:
    try:
        return discussion_get(fetched_by=_user(request), discussion_id=discussion_id)
    except NotFound:
        raise Http404("No such strategy discussion") from None


@login_required
def discussion_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user_can(user, "discussion.view"):
        return render(request, "403.html", status=403)
    chair_side = user.agency is not None and user.agency.kind == AgencyKind.CHILDREN_SERVICES
    found = discussions_in_scope(fetched_by=user).order_by("-starts_at")
    if chair_side:
        found = found.prefetch_related("children__contact")
    discussions = list(found[:200])
    with transaction.atomic():
        audit_record(
            actor=user,
            action=Action.SEARCH,
            object_type="meetings.list",
            object_id="in scope",
            detail={"shown": [str(d.pk) for d in discussions]},
        )
    return render(
        request,
        "meetings/discussion_list.html",
        {"discussions": discussions, "chair_side": chair_side, "now": clock.now()},
    )


def _children_choices(contact: Contact) -> list[tuple[str, str]]:
    return [
        (str(c.pk), f"{c.given_names} {c.family_name}")
        for c in services.household_contacts(contact)
    ]


def _invitations(form: CallForm, contact: Contact, user: User) -> list[services.Invitation]:
    data = form.cleaned_data
    council = contact.local_authority
    assert council is not None
    invitations = [
        services.Invitation(
            R.CHILDREN_SOCIAL_CARE, council, name=user.display_name, email=user.email
        ),
        services.Invitation(
            R.POLICE,
            data["police"],
            name=data["police_name"],
            email=data["police_email"],
            question=data["police_question"],
        ),
        services.Invitation(
            R.HEALTH,
            data["health"],
            name=data["health_name"],
            email=data["health_email"],
            question=data["health_question"],
        ),
    ]
    if data.get("invite_school"):
        chosen = set(data["children"])
        schools = {
            c.school
            for c in services.household_contacts(contact)
            if str(c.pk) in chosen and c.school is not None
        }
        for school in sorted(schools, key=lambda s: s.name):
            invitations.append(
                services.Invitation(R.SCHOOL, school, question=data.get("school_question", ""))
            )
    if data.get("domestic_abuse"):
        invitations.append(services.Invitation(R.DOMESTIC_ABUSE, data["domestic_abuse"]))
    if data.get("other_role") and data.get("other_agency"):
        invitations.append(services.Invitation(data["other_role"], data["other_agency"]))
    return invitations


@login_required
@require_http_methods(["GET", "POST"])
def discussion_call_view(request: HttpRequest, contact_id: Any) -> HttpResponse:
    user = _user(request)
    try:
        contact = contact_get(fetched_by=user, contact_id=str(contact_id))
    except NotFound:
        raise Http404("No such contact") from None
    if not user_can(user, "discussion.call"):
        return render(request, "403.html", status=403)
    children = _children_choices(contact)
    initial: dict[str, Any] = {
        "children": [value for value, _ in children],
        "format": "meeting",
        "mode": "remote",
        "police": contact.notification.force if contact.notification else None,
        "health": Agency.objects.filter(kind=AgencyKind.HEALTH).order_by("name").first(),
    }
    form = CallForm(request.POST or None, children=children, initial=initial)
    problem = ""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            chosen = [
                c for c in services.household_contacts(contact) if str(c.pk) in data["children"]
            ]
            starts_at = data["starts_at"]
            try:
                discussion = services.discussion_call(
                    contact=contact,
                    called_by=user,
                    children=chosen,
                    reason=data["reason"],
                    format=data["format"],
                    mode=data["mode"],
                    starts_at=starts_at,
                    ends_at=starts_at + dt.timedelta(minutes=data["duration_minutes"]),
                    location=data["location"],
                    invitations=_invitations(form, contact, user),
                    consent=data["consent"],
                )
            except PermissionDenied:
                return render(request, "403.html", status=403)
            except NotFound:
                raise Http404("No such contact") from None
            except Conflict as exc:
                problem, status = exc.message, 409
            except DomainError as exc:
                _form_error(form, exc)
                status = 422
            else:
                messages.success(
                    request,
                    f"Strategy discussion {discussion.reference} called: the invitations and "
                    "information requests are on their way",
                )
                return redirect("meetings:discussion_detail", discussion_id=discussion.pk)
        else:
            status = 422
    else:
        with transaction.atomic():
            audit_record(
                actor=user, action=Action.VIEW, obj=contact, detail={"page": "call discussion"}
            )
    return render(
        request,
        "meetings/discussion_call.html",
        {"contact": contact, "form": form, "problem": problem, "due_hint": None},
        status=status,
    )


def _form_error(form: Any, exc: DomainError) -> None:
    field, sep, message = exc.message.partition(": ")
    message = message[:1].upper() + message[1:] if sep else exc.message
    if sep and field in form.fields:
        form.add_error(field, message)
    else:
        form.add_error(None, message if sep else exc.message)


def _child_choices(discussion: StrategyDiscussion) -> list[tuple[str, str]]:
    return [
        (str(c.contact_id), f"{c.contact.given_names} {c.contact.family_name}")
        for c in discussion.children.select_related("contact").order_by("contact__given_names")
    ]


def _chair_page(
    request: HttpRequest,
    discussion: StrategyDiscussion,
    *,
    status: int = 200,
    problem: str = "",
    forms: dict[str, Any] | None = None,
) -> HttpResponse:
    user = _user(request)
    participants = participants_of(discussion)
    children = list(discussion.children.select_related("contact").order_by("contact__given_names"))
    child_choices = [
        (str(c.contact_id), f"{c.contact.given_names} {c.contact.family_name}") for c in children
    ]
    can_chair = user_can(user, "discussion.chair")
    open_ = discussion.status == DiscussionStatus.CALLED
    forms = forms or {}
    now = clock.now()
    context = {
        "discussion": discussion,
        "participants": participants,
        "children": children,
        "actions": list(
            discussion.actions.select_related("agency", "done_by").order_by("due_on", "id")
        ),
        "missing": services.missing_statutory(discussion, participants) if open_ else [],
        "sharing": list(
            discussion.sharing_decisions.select_related("recipient_agency", "from_agency")
        ),
        "can_chair": can_chair,
        "now": now,
        "problem": problem,
        "attendance_form": forms.get("attendance")
        or (AttendanceForm(participants=participants) if can_chair and open_ else None),
        "outcome_form": forms.get("outcome")
        or (
            OutcomeForm(
                children=child_choices,
                initial={"held_at": now.astimezone(clock.LONDON).replace(tzinfo=None)},
            )
            if can_chair and open_
            else None
        ),
        "action_form": forms.get("action")
        or (
            ActionForm() if can_chair and discussion.status != DiscussionStatus.CANCELLED else None
        ),
        "invite_form": forms.get("invite") or (InviteForm() if can_chair and open_ else None),
        "refusal_form": forms.get("refusal") or (RefusalForm() if can_chair else None),
        "form": next(iter(forms.values()), None),
    }
    with transaction.atomic():
        audit_record(actor=user, action=Action.VIEW, obj=discussion, detail={"view": "hub"})
    return render(request, "meetings/discussion_detail.html", context, status=status)


def _partner_page(
    request: HttpRequest,
    discussion: StrategyDiscussion,
    *,
    status: int = 200,
    problem: str = "",
    respond_form: RespondForm | None = None,
    answer_form: AnswerForm | None = None,
) -> HttpResponse:
    user = _user(request)
    view = partner_view(discussion=discussion, user=user)
    can_respond = (
        user_can(user, "discussion.respond") and discussion.status == DiscussionStatus.CALLED
    )
    open_requests = [r for r in view["requests"] if r.status == RequestStatus.OPEN]
    with transaction.atomic():
        audit_record(
            actor=user,
            action=Action.VIEW,
            obj=discussion,
            detail={"view": "partner", "agency": user.agency.code if user.agency else None},
        )
    return render(
        request,
        "meetings/discussion_partner.html",
        {
            "view": view,
            "discussion": discussion,
            "problem": problem,
            "respond_form": respond_form or (RespondForm() if can_respond else None),
            "answer_form": answer_form or (AnswerForm() if can_respond and open_requests else None),
            "form": respond_form or answer_form,
        },
        status=status,
    )


@login_required
def discussion_detail(request: HttpRequest, discussion_id: Any) -> HttpResponse:
    if not user_can(request.user, "discussion.view"):
        raise Http404("No such strategy discussion")
    discussion = _discussion_or_404(request, discussion_id)
    if is_chair_side(_user(request), discussion):
        return _chair_page(request, discussion)
    return _partner_page(request, discussion)


def _chair_act(request: HttpRequest, discussion_id: Any) -> StrategyDiscussion | HttpResponse:
    """The discussion for an act of its hub: 404 outside scope or to a partner, 403 without the
    permission to chair."""
    discussion = _discussion_or_404(request, discussion_id)
    if not user_can(request.user, "discussion.chair"):
        return render(request, "403.html", status=403)
    if not is_chair_side(_user(request), discussion):
        raise Http404("No such strategy discussion")
    return discussion


def _refused(
    request: HttpRequest, discussion: StrategyDiscussion, exc: DomainError, key: str, form: Any
) -> HttpResponse:
    if isinstance(exc, NotFound):
        raise Http404("No such strategy discussion") from None
    if isinstance(exc, PermissionDenied):
        return render(request, "403.html", status=403)
    discussion.refresh_from_db()
    if isinstance(exc, Conflict):
        return _chair_page(request, discussion, status=409, problem=exc.message)
    _form_error(form, exc)
    return _chair_page(request, discussion, status=422, forms={key: form})


def _chair_post(
    request: HttpRequest,
    discussion_id: Any,
    *,
    key: str,
    form: Callable[[StrategyDiscussion], Any] | None,
    act: Callable[[StrategyDiscussion, dict[str, Any]], Any],
    done: str | Callable[[Any], str],
) -> HttpResponse:
    """One act of the chair's from a form on the discussion page: the form checked (422 with
    the page again), the service's refusal shown on the page (409, or 422 on the field it
    names), else back to the discussion with `done` said (or made from what `act` returned)."""
    found = _chair_act(request, discussion_id)
    if isinstance(found, HttpResponse):
        return found
    bound = form(found) if form is not None else None
    if bound is not None and not bound.is_valid():
        return _chair_page(request, found, status=422, forms={key: bound})
    try:
        result = act(found, bound.cleaned_data if bound is not None else {})
    except DomainError as exc:
        return _refused(request, found, exc, key, bound)
    messages.success(request, done(result) if callable(done) else done)
    return redirect("meetings:discussion_detail", discussion_id=found.pk)


@login_required
def minutes_download(request: HttpRequest, discussion_id: Any) -> HttpResponse:
    found = _chair_act(request, discussion_id)
    if isinstance(found, HttpResponse):
        return found
    with transaction.atomic():
        audit_record(actor=request.user, action=Action.EXPORT, obj=found, detail={"minutes": "pdf"})
    response = HttpResponse(minutes_pdf(found), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="strategy-discussion-{found.reference}.pdf"'
    )
    return response


@login_required
@require_POST
def participant_add_view(request: HttpRequest, discussion_id: Any) -> HttpResponse:
    def invite(found: StrategyDiscussion, data: dict[str, Any]) -> object:
        invitation = services.Invitation(
            data["role"], data["agency"], name=data["name"], email=data["email"],
            question=data["question"],
        )  # fmt: skip
        return services.participant_add(discussion=found, by=_user(request), invitation=invitation)

    return _chair_post(
        request,
        discussion_id,
        key="invite",
        form=lambda found: InviteForm(request.POST),
        act=invite,
        done=lambda participant: f"{participant.agency.name} invited and asked for information",
    )


def _change_page(
    request: HttpRequest,
    discussion_id: Any,
    *,
    what: str,
    form: Callable[[StrategyDiscussion], Any],
    act: Callable[[StrategyDiscussion, dict[str, Any]], object],
    done: str,
) -> HttpResponse:
    """A page of its own for a change every invitee is told of (a new time, a cancellation):
    the form (audited as a view), then the act; a refusal is shown on the page."""
    found = _chair_act(request, discussion_id)
    if isinstance(found, HttpResponse):
        return found
    bound = form(found)
    status, problem = 200, ""
    if request.method == "POST":
        status = 422
        if bound.is_valid():
            try:
                act(found, bound.cleaned_data)
            except Conflict as exc:
                problem, status = exc.message, 409
            except DomainError as exc:
                _form_error(bound, exc)
            else:
                messages.success(request, done)
                return redirect("meetings:discussion_detail", discussion_id=found.pk)
    else:
        with transaction.atomic():
            audit_record(actor=request.user, action=Action.VIEW, obj=found, detail={"page": what})
    return render(
        request,
        "meetings/discussion_change.html",
        {"discussion": found, "form": bound, "problem": problem, "what": what},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def reschedule_view(request: HttpRequest, discussion_id: Any) -> HttpResponse:
    def form(found: StrategyDiscussion) -> RescheduleForm:
        initial = {
            "starts_at": found.starts_at.astimezone(clock.LONDON).replace(tzinfo=None),
            "duration_minutes": int((found.ends_at - found.starts_at).total_seconds() // 60),
            "mode": found.mode,
            "location": found.location,
        }
        return RescheduleForm(request.POST or None, initial=initial)

    def reschedule(found: StrategyDiscussion, data: dict[str, Any]) -> object:
        return services.discussion_reschedule(
            discussion=found,
            by=_user(request),
            starts_at=data["starts_at"],
            ends_at=data["starts_at"] + dt.timedelta(minutes=data["duration_minutes"]),
            location=data["location"],
            mode=data["mode"],
            reason=data["reason"],
        )

    return _change_page(
        request,
        discussion_id,
        what="reschedule",
        form=form,
        act=reschedule,
        done="The discussion is changed: every invitee has the update",
    )


@login_required
@require_http_methods(["GET", "POST"])
def cancel_view(request: HttpRequest, discussion_id: Any) -> HttpResponse:
    return _change_page(
        request,
        discussion_id,
        what="cancel",
        form=lambda found: CancelForm(request.POST or None),
        act=lambda found, data: services.discussion_cancel(
            discussion=found,
            by=_user(request),
            reason=data["reason"],
            still_needed=data["still_needed"] == "yes",
        ),
        done="The discussion is cancelled: every invitee is told",
    )


@login_required
@require_POST
def attendance_view(request: HttpRequest, discussion_id: Any) -> HttpResponse:
    def record(found: StrategyDiscussion, data: dict[str, Any]) -> object:
        entries = [
            services.AttendanceEntry(
                participant_id=p.pk,
                attendance=data.get(f"attendance_{p.pk}", ""),
                name=data.get(f"name_{p.pk}", ""),
                role=data.get(f"role_{p.pk}", ""),
            )
            for p in participants_of(found)
        ]
        return services.attendance_record(discussion=found, by=_user(request), entries=entries)

    return _chair_post(
        request,
        discussion_id,
        key="attendance",
        form=lambda found: AttendanceForm(request.POST, participants=participants_of(found)),
        act=record,
        done="Attendance recorded",
    )


@login_required
@require_POST
def outcome_view(request: HttpRequest, discussion_id: Any) -> HttpResponse:
    def record(found: StrategyDiscussion, data: dict[str, Any]) -> object:
        return services.outcome_record(
            discussion=found,
            by=_user(request),
            held_at=data["held_at"],
            enquiry=data["enquiry"],
            immediate_protection=data["immediate_protection"] == "yes",
            rationale=data["rationale"],
            risks={
                key[len("risks_") :]: text for key, text in data.items() if key.startswith("risks_")
            },
            icpc_date=data.get("icpc_date"),
            icpc_arranged_by=data.get("icpc_arranged_by", ""),
            missing_reason=data.get("missing_reason", ""),
            reconvene={"yes": True, "no": False}.get(data.get("reconvene", "")),
        )

    return _chair_post(
        request,
        discussion_id,
        key="outcome",
        form=lambda found: OutcomeForm(request.POST, children=_child_choices(found)),
        act=record,
        done="Outcome recorded",
    )


@login_required
@require_POST
def action_add_view(request: HttpRequest, discussion_id: Any) -> HttpResponse:
    return _chair_post(
        request,
        discussion_id,
        key="action",
        form=lambda found: ActionForm(request.POST),
        act=lambda found, data: services.action_add(discussion=found, by=_user(request), **data),
        done="Action added",
    )


@login_required
@require_POST
def action_done_view(request: HttpRequest, discussion_id: Any, action_id: int) -> HttpResponse:
    def mark(found: StrategyDiscussion, data: dict[str, Any]) -> object:
        action = DiscussionAction.objects.filter(pk=action_id, discussion=found).first()
        if action is None:
            raise Http404("No such action")
        return services.action_done(action=action, by=_user(request), note=data.get("note", ""))

    return _chair_post(
        request,
        discussion_id,
        key="done",
        form=lambda found: DoneForm(request.POST),
        act=mark,
        done="Action recorded as done",
    )


@login_required
@require_POST
def request_chase_view(request: HttpRequest, discussion_id: Any, request_id: int) -> HttpResponse:
    def chase(found: StrategyDiscussion, data: dict[str, Any]) -> object:
        info = InformationRequest.objects.filter(pk=request_id, participant__discussion=found)
        if not info.exists():
            raise Http404("No such request")
        return services.request_chase(request=info.get(), by=_user(request))

    return _chair_post(
        request, discussion_id, key="chase", form=None, act=chase, done="Reminder sent"
    )


@login_required
@require_POST
def refusal_view(request: HttpRequest, discussion_id: Any) -> HttpResponse:
    return _chair_post(
        request,
        discussion_id,
        key="refusal",
        form=lambda found: RefusalForm(request.POST),
        act=lambda found, data: services.refusal_record(
            discussion=found, by=_user(request), **data
        ),
        done="The decision not to share is recorded",
    )


@login_required
@require_POST
def minutes_send_view(request: HttpRequest, discussion_id: Any) -> HttpResponse:
    return _chair_post(
        request,
        discussion_id,
        key="minutes",
        form=None,
        act=lambda found, data: services.minutes_send(discussion=found, by=_user(request)),
        done="Minutes sent to every invited agency",
    )


def _partner_act(request: HttpRequest, discussion_id: Any) -> StrategyDiscussion | HttpResponse:
    discussion = _discussion_or_404(request, discussion_id)
    user = _user(request)
    if not user_can(user, "discussion.respond"):
        return render(request, "403.html", status=403)
    if user.agency_id is None or not discussion.participants.filter(agency=user.agency).exists():
        raise Http404("No such strategy discussion")
    return discussion


@login_required
@require_POST
def respond_view(request: HttpRequest, discussion_id: Any) -> HttpResponse:
    found = _partner_act(request, discussion_id)
    if isinstance(found, HttpResponse):
        return found
    form = RespondForm(request.POST)
    if not form.is_valid():
        return _partner_page(request, found, status=422, respond_form=form)
    try:
        services.invitation_respond(discussion=found, by=_user(request), **form.cleaned_data)
    except (Conflict, DomainError) as exc:
        if isinstance(exc, NotFound):
            raise Http404("No such strategy discussion") from None
        if isinstance(exc, Conflict):
            return _partner_page(request, found, status=409, problem=exc.message)
        _form_error(form, exc)
        return _partner_page(request, found, status=422, respond_form=form)
    messages.success(request, f"Reply sent: {Response(form.cleaned_data['response']).label}")
    return redirect("meetings:discussion_detail", discussion_id=found.pk)


@login_required
@require_POST
def answer_view(request: HttpRequest, discussion_id: Any) -> HttpResponse:
    found = _partner_act(request, discussion_id)
    if isinstance(found, HttpResponse):
        return found
    form = AnswerForm(request.POST)
    if not form.is_valid():
        return _partner_page(request, found, status=422, answer_form=form)
    data = form.cleaned_data
    try:
        services.request_answer(
            discussion=found,
            by=_user(request),
            answer=data["answer"],
            share=data["share"] == "yes",
            reason=data["reason"],
            consent=data["consent"],
        )
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise Http404("No such information request") from None
        if isinstance(exc, Conflict):
            return _partner_page(request, found, status=409, problem=exc.message)
        _form_error(form, exc)
        return _partner_page(request, found, status=422, answer_form=form)
    messages.success(request, "Your agency's answer is recorded and with the chair")
    return redirect("meetings:discussion_detail", discussion_id=found.pk)
