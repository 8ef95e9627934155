"""Strategy discussion pages. The council's hub sees the whole record and runs it; a partner
practitioner sees only their agency's invitation and request (`partner_view`). Every page view is
audited; every act goes through `safehub.meetings.services`."""

import datetime as dt
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
        "missing": services.missing_statutory(discussion) if open_ else [],
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
    found = _chair_act(request, discussion_id)
    if isinstance(found, HttpResponse):
        return found
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _chair_page(request, found, status=422, forms={"invite": form})
    data = form.cleaned_data
    try:
        participant = services.participant_add(
            discussion=found,
            by=_user(request),
            invitation=services.Invitation(
                data["role"],
                data["agency"],
                name=data["name"],
                email=data["email"],
                question=data["question"],
            ),
        )
    except DomainError as exc:
        return _refused(request, found, exc, "invite", form)
    messages.success(request, f"{participant.agency.name} invited and asked for information")
    return redirect("meetings:discussion_detail", discussion_id=found.pk)


@login_required
@require_http_methods(["GET", "POST"])
def reschedule_view(request: HttpRequest, discussion_id: Any) -> HttpResponse:
    found = _chair_act(request, discussion_id)
    if isinstance(found, HttpResponse):
        return found
    initial = {
        "starts_at": found.starts_at.astimezone(clock.LONDON).replace(tzinfo=None),
        "duration_minutes": int((found.ends_at - found.starts_at).total_seconds() // 60),
        "mode": found.mode,
        "location": found.location,
    }
    form = RescheduleForm(request.POST or None, initial=initial)
    status, problem = 200, ""
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.discussion_reschedule(
                    discussion=found,
                    by=_user(request),
                    starts_at=data["starts_at"],
                    ends_at=data["starts_at"] + dt.timedelta(minutes=data["duration_minutes"]),
                    location=data["location"],
                    mode=data["mode"],
                    reason=data["reason"],
                )
            except Conflict as exc:
                problem, status = exc.message, 409
            except DomainError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, "The discussion is changed: every invitee has the update")
                return redirect("meetings:discussion_detail", discussion_id=found.pk)
    else:
        with transaction.atomic():
            audit_record(
                actor=request.user, action=Action.VIEW, obj=found, detail={"page": "reschedule"}
            )
    return render(
        request,
        "meetings/discussion_change.html",
        {"discussion": found, "form": form, "problem": problem, "what": "reschedule"},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def cancel_view(request: HttpRequest, discussion_id: Any) -> HttpResponse:
    found = _chair_act(request, discussion_id)
    if isinstance(found, HttpResponse):
        return found
    form = CancelForm(request.POST or None)
    status, problem = 200, ""
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                services.discussion_cancel(
                    discussion=found,
                    by=_user(request),
                    reason=form.cleaned_data["reason"],
                    still_needed=form.cleaned_data["still_needed"] == "yes",
                )
            except Conflict as exc:
                problem, status = exc.message, 409
            except DomainError as exc:
                _form_error(form, exc)
            else:
                messages.success(request, "The discussion is cancelled: every invitee is told")
                return redirect("meetings:discussion_detail", discussion_id=found.pk)
    else:
        with transaction.atomic():
            audit_record(
                actor=request.user, action=Action.VIEW, obj=found, detail={"page": "cancel"}
            )
    return render(
        request,
        "meetings/discussion_change.html",
        {"discussion": found, "form": form, "problem": problem, "what": "cancel"},
        status=status,
    )


@login_required
@require_POST
def attendance_view(request: HttpRequest, discussion_id: Any) -> HttpResponse:
    found = _chair_act(request, discussion_id)
    if isinstance(found, HttpResponse):
        return found
    participants = participants_of(found)
    form = AttendanceForm(request.POST, participants=participants)
    if not form.is_valid():
        return _chair_page(request, found, status=422, forms={"attendance": form})
    entries = [
        services.AttendanceEntry(
            participant_id=p.pk,
            attendance=form.cleaned_data.get(f"attendance_{p.pk}", ""),
            name=form.cleaned_data.get(f"name_{p.pk}", ""),
            role=form.cleaned_data.get(f"role_{p.pk}", ""),
        )
        for p in participants
    ]
    try:
        services.attendance_record(discussion=found, by=_user(request), entries=entries)
    except DomainError as exc:
        return _refused(request, found, exc, "attendance", form)
    messages.success(request, "Attendance recorded")
    return redirect("meetings:discussion_detail", discussion_id=found.pk)


@login_required
@require_POST
def outcome_view(request: HttpRequest, discussion_id: Any) -> HttpResponse:
    found = _chair_act(request, discussion_id)
    if isinstance(found, HttpResponse):
        return found
    children = [
        (str(c.contact_id), f"{c.contact.given_names} {c.contact.family_name}")
        for c in found.children.select_related("contact")
    ]
    form = OutcomeForm(request.POST, children=children)
    if not form.is_valid():
        return _chair_page(request, found, status=422, forms={"outcome": form})
    data = form.cleaned_data
    try:
        services.outcome_record(
            discussion=found,
            by=_user(request),
            held_at=data["held_at"],
            enquiry=data["enquiry"],
            immediate_protection=data["immediate_protection"] == "yes",
            rationale=data["rationale"],
            risks={contact_id: data[f"risks_{contact_id}"] for contact_id, _ in children},
            icpc_date=data.get("icpc_date"),
            icpc_arranged_by=data.get("icpc_arranged_by", ""),
            missing_reason=data.get("missing_reason", ""),
            reconvene={"yes": True, "no": False}.get(data.get("reconvene", "")),
        )
    except DomainError as exc:
        return _refused(request, found, exc, "outcome", form)
    messages.success(request, "Outcome recorded")
    return redirect("meetings:discussion_detail", discussion_id=found.pk)


@login_required
@require_POST
def action_add_view(request: HttpRequest, discussion_id: Any) -> HttpResponse:
    found = _chair_act(request, discussion_id)
    if isinstance(found, HttpResponse):
        return found
    form = ActionForm(request.POST)
    if not form.is_valid():
        return _chair_page(request, found, status=422, forms={"action": form})
    try:
        services.action_add(discussion=found, by=_user(request), **form.cleaned_data)
    except DomainError as exc:
        return _refused(request, found, exc, "action", form)
    messages.success(request, "Action added")
    return redirect("meetings:discussion_detail", discussion_id=found.pk)


@login_required
@require_POST
def action_done_view(request: HttpRequest, discussion_id: Any, action_id: int) -> HttpResponse:
    found = _chair_act(request, discussion_id)
    if isinstance(found, HttpResponse):
        return found
    action = DiscussionAction.objects.filter(pk=action_id, discussion=found).first()
    if action is None:
        raise Http404("No such action")
    form = DoneForm(request.POST)
    form.is_valid()
    try:
        services.action_done(
            action=action, by=_user(request), note=form.cleaned_data.get("note", "")
        )
    except DomainError as exc:
        return _refused(request, found, exc, "done", form)
    messages.success(request, "Action recorded as done")
    return redirect("meetings:discussion_detail", discussion_id=found.pk)


@login_required
@require_POST
def request_chase_view(request: HttpRequest, discussion_id: Any, request_id: int) -> HttpResponse:
    found = _chair_act(request, discussion_id)
    if isinstance(found, HttpResponse):
        return found
    info = InformationRequest.objects.filter(pk=request_id, participant__discussion=found).first()
    if info is None:
        raise Http404("No such request")
    try:
        services.request_chase(request=info, by=_user(request))
    except DomainError as exc:
        return _refused(request, found, exc, "chase", None)
    messages.success(request, "Reminder sent")
    return redirect("meetings:discussion_detail", discussion_id=found.pk)


@login_required
@require_POST
def refusal_view(request: HttpRequest, discussion_id: Any) -> HttpResponse:
    found = _chair_act(request, discussion_id)
    if isinstance(found, HttpResponse):
        return found
    form = RefusalForm(request.POST)
    if not form.is_valid():
        return _chair_page(request, found, status=422, forms={"refusal": form})
    try:
        services.refusal_record(discussion=found, by=_user(request), **form.cleaned_data)
    except DomainError as exc:
        return _refused(request, found, exc, "refusal", form)
    messages.success(request, "The decision not to share is recorded")
    return redirect("meetings:discussion_detail", discussion_id=found.pk)


@login_required
@require_POST
def minutes_send_view(request: HttpRequest, discussion_id: Any) -> HttpResponse:
    found = _chair_act(request, discussion_id)
    if isinstance(found, HttpResponse):
        return found
    try:
        services.minutes_send(discussion=found, by=_user(request))
    except DomainError as exc:
        return _refused(request, found, exc, "minutes", None)
    messages.success(request, "Minutes sent to every invited agency")
    return redirect("meetings:discussion_detail", discussion_id=found.pk)


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
