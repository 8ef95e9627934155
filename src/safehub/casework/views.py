"""Casework pages: the council's open referrals and what each waits for, a referral's page, and
the short forms that record what the statutory returns need. Every page view is audited; every
act goes through `safehub.casework.services`, whose refusals are shown on the field they name
(422) or, when the record is in the wrong state, above the form (409).

The order of refusals is the access matrix's: a referral outside the asker's council (or a role
that sees no casework) is "not found", then a missing permission is 403."""

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from safehub.accounts.models import User
from safehub.accounts.permissions import user_can
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.casework import services
from safehub.casework.codes import Disability
from safehub.casework.forms import (
    AssessmentStartForm,
    AuthoriseForm,
    ChildDetailsForm,
    CINPlanEndForm,
    CINPlanForm,
    CloseForm,
    ConferenceForm,
    PlanEndForm,
    PlanForm,
    PlanReviewForm,
)
from safehub.casework.models import (
    Assessment,
    CaseEpisode,
    ChildProtectionPlan,
    CINPlan,
    Section47,
)
from safehub.casework.selectors import (
    assessment_due,
    assessment_is_late,
    episode_get,
    episode_parts,
    open_episodes,
    plan_review_days,
    plan_review_due,
)
from safehub.core import clock
from safehub.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from safehub.timescales.calendar import london_date

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _episode_or_404(request: HttpRequest, episode_id: Any) -> CaseEpisode:
    try:
        return episode_get(user=_user(request), episode_id=episode_id)
    except NotFound:
        raise Http404("No such referral") from None


def _form_error(form: Any, exc: DomainError) -> None:
    """A service's "field: problem" on that field (a sentence, capitalised), or above the form
    when the field is not on it."""
    field, sep, message = exc.message.partition(": ")
    message = message[:1].upper() + message[1:] if sep else exc.message
    if sep and field in form.fields:
        form.add_error(field, message)
    else:
        form.add_error(None, message)


@login_required
def episode_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user_can(user, "casework.view"):
        return render(request, "403.html", status=403)
    rows = open_episodes(user=user)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    with transaction.atomic():
        audit_record(
            actor=user,
            action=Action.SEARCH,
            object_type="casework.list",
            object_id="open",
            detail={"shown": [str(row.episode.pk) for row in page.object_list]},
        )
    return render(
        request,
        "casework/episode_list.html",
        {"page": page, "total": len(rows), "today": london_date(clock.now())},
    )


@login_required
def episode_detail(request: HttpRequest, episode_id: Any) -> HttpResponse:
    user = _user(request)
    episode = _episode_or_404(request, episode_id)
    context = {
        "episode": episode,
        "contact": episode.contact,
        "can_record": user_can(user, "casework.record") and episode.closed_on is None,
        "can_authorise": user_can(user, "casework.authorise") and episode.closed_on is None,
        "can_see_contact": user_can(user, "contact.view"),
        **episode_parts(episode),
    }
    context["open_assessment"] = any(a.authorised_on is None for a in context["assessments"])
    context["child_url"] = (
        reverse("casework:child_details", args=[episode.pk]) if context["can_record"] else ""
    )
    labels = dict(Disability.choices)
    context["disabilities"] = [labels.get(code, code) for code in episode.disabilities]
    context["now"] = clock.now()
    # One children in need plan at a time, and none alongside a protection plan (rule 4001).
    context["plan_rows"] = [
        {"plan": plan, "reviews": plan_review_days(plan), "review_due": plan_review_due(plan)}
        for plan in context["plans"]
    ]
    context["cin_plan_allowed"] = not any(
        p.ended_on is None for p in [*context["cin_plans"], *context["plans"]]
    )
    with transaction.atomic():
        audit_record(actor=user, action=Action.VIEW, obj=episode, detail={"page": "referral"})
    return render(request, "casework/episode_detail.html", context)


def _act_page(
    request: HttpRequest,
    episode_id: Any,
    *,
    permission: str,
    what: str,
    template: str,
    form: Callable[[CaseEpisode, Any, Any], Any],
    act: Callable[[CaseEpisode, Any, dict[str, Any]], object],
    done: str,
    find: Callable[[CaseEpisode], Any] | None = None,
    extra: Callable[[CaseEpisode, Any], dict[str, Any]] | None = None,
) -> HttpResponse:
    """One form about a referral (or a part of it that `find` picks, 404 if not the
    referral's): shown (the view audited), then the act; a refusal is shown on the form."""
    user = _user(request)
    episode = _episode_or_404(request, episode_id)
    if not user_can(user, permission):
        return render(request, "403.html", status=403)
    target = find(episode) if find is not None else None
    bound = form(episode, target, request.POST if request.method == "POST" else None)
    status, problem = 200, ""
    if request.method == "POST":
        status = 422
        if bound.is_valid():
            try:
                act(episode, target, bound.cleaned_data)
            except PermissionDenied:
                return render(request, "403.html", status=403)
            except NotFound:
                raise Http404("No such referral") from None
            except Conflict as exc:
                problem, status = exc.message, 409
                episode.refresh_from_db()
                if target is not None:
                    target.refresh_from_db()  # shown as it now stands
            except DomainError as exc:
                _form_error(bound, exc)
            else:
                messages.success(request, done)
                return redirect("casework:episode_detail", episode_id=episode.pk)
    else:
        with transaction.atomic():
            audit_record(actor=user, action=Action.VIEW, obj=episode, detail={"page": what})
    context = {
        "episode": episode,
        "contact": episode.contact,
        "form": bound,
        "problem": problem,
        "target": target,
        **(extra(episode, target) if extra is not None else {}),
    }
    return render(request, template, context, status=status)


def _assessment(assessment_id: int) -> Callable[[CaseEpisode], Assessment]:
    def find(episode: CaseEpisode) -> Assessment:
        found = Assessment.objects.filter(pk=assessment_id, episode=episode).first()
        if found is None:
            raise Http404("No such assessment")
        return found

    return find


def _long(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def _plan_extra(target: ChildProtectionPlan | CINPlan) -> dict[str, Any]:
    if not isinstance(target, ChildProtectionPlan):
        return {"review_days": [], "review_due": None}
    return {
        "review_days": [_long(day) for day in plan_review_days(target)],
        "review_due": plan_review_due(target),
    }


def _plan(plan_id: int) -> Callable[[CaseEpisode], ChildProtectionPlan]:
    def find(episode: CaseEpisode) -> ChildProtectionPlan:
        found = ChildProtectionPlan.objects.filter(pk=plan_id, episode=episode).first()
        if found is None:
            raise Http404("No such child protection plan")
        return found

    return find


def _cin_plan(plan_id: int) -> Callable[[CaseEpisode], CINPlan]:
    def find(episode: CaseEpisode) -> CINPlan:
        found = CINPlan.objects.filter(pk=plan_id, episode=episode).first()
        if found is None:
            raise Http404("No such children in need plan")
        return found

    return find


def _enquiry(enquiry_id: int) -> Callable[[CaseEpisode], Section47]:
    def find(episode: CaseEpisode) -> Section47:
        found = (
            Section47.objects.select_related("discussion")
            .filter(pk=enquiry_id, episode=episode)
            .first()
        )
        if found is None:
            raise Http404("No such section 47 enquiry")
        return found

    return find


@login_required
@require_http_methods(["GET", "POST"])
def child_details_view(request: HttpRequest, episode_id: Any) -> HttpResponse:
    def form(episode: CaseEpisode, target: Any, data: Any) -> ChildDetailsForm:
        initial = {
            "upn": episode.upn,
            "upn_unknown": episode.upn_unknown,
            "ethnicity": episode.ethnicity,
            "primary_need": episode.primary_need,
            "disabilities": episode.disabilities,
        }
        return ChildDetailsForm(data, initial=initial)

    return _act_page(
        request,
        episode_id,
        permission="casework.record",
        what="child details",
        template="casework/child_details.html",
        form=form,
        act=lambda episode, target, data: services.child_details_update(
            episode=episode, by=_user(request), **data
        ),
        done="The child's details are recorded",
    )


@login_required
@require_http_methods(["GET", "POST"])
def assessment_authorise_view(
    request: HttpRequest, episode_id: Any, assessment_id: int
) -> HttpResponse:
    today = london_date(clock.now())

    def form(episode: CaseEpisode, target: Assessment, data: Any) -> AuthoriseForm:
        return AuthoriseForm(
            data,
            late=assessment_is_late(episode, today),
            initial={
                "authorised_on": today,
                "child_seen_on": target.child_seen_on,
                # What the referral records so far (abuse or neglect unless changed): the usual
                # primary need of a child living with domestic abuse.
                "primary_need": episode.primary_need,
            },
        )

    def act(episode: CaseEpisode, target: Assessment, data: dict[str, Any]) -> object:
        return services.assessment_authorise(
            assessment=target,
            by=_user(request),
            authorised_on=data["authorised_on"],
            child_seen_on=data.get("child_seen_on"),
            factors=data["factors"],
            needs_support=data["needs_support"] == "yes",
            late_reason=data.get("late_reason", ""),
            primary_need=data["primary_need"],
        )

    return _act_page(
        request,
        episode_id,
        permission="casework.authorise",
        what="authorise assessment",
        template="casework/assessment_authorise.html",
        form=form,
        act=act,
        done="The assessment is authorised",
        find=_assessment(assessment_id),
        extra=lambda episode, target: {"due": assessment_due(episode)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def assessment_start_view(request: HttpRequest, episode_id: Any) -> HttpResponse:
    return _act_page(
        request,
        episode_id,
        permission="casework.record",
        what="start assessment",
        template="casework/simple_form.html",
        form=lambda episode, target, data: AssessmentStartForm(
            data, initial={"started_on": london_date(clock.now())}
        ),
        act=lambda episode, target, data: services.assessment_start(
            episode=episode, by=_user(request), started_on=data["started_on"]
        ),
        done="The assessment is started",
        extra=lambda episode, target: {
            "heading": "Start another assessment",
            "button": "Start the assessment",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def conference_view(request: HttpRequest, episode_id: Any, enquiry_id: int) -> HttpResponse:
    def act(episode: CaseEpisode, target: Section47, data: dict[str, Any]) -> object:
        held = data["held"] == "yes"
        return services.icpc_record(
            enquiry=target,
            by=_user(request),
            icpc_on=data.get("icpc_on") if held else None,
            not_required=not held,
            led_to_plan={"yes": True, "no": False}.get(data.get("led_to_plan") or "")
            if held
            else None,
        )

    return _act_page(
        request,
        episode_id,
        permission="casework.record",
        what="record conference",
        template="casework/conference.html",
        form=lambda episode, target, data: ConferenceForm(data),
        act=act,
        done="The initial child protection conference is recorded",
        find=_enquiry(enquiry_id),
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_start_view(request: HttpRequest, episode_id: Any, enquiry_id: int) -> HttpResponse:
    return _act_page(
        request,
        episode_id,
        permission="casework.record",
        what="start protection plan",
        template="casework/plan_start.html",
        form=lambda episode, target, data: PlanForm(data),
        act=lambda episode, target, data: services.plan_start(
            enquiry=target,
            by=_user(request),
            category=data["category"],
            previous_plans=data["previous_plans"],
        ),
        done="The child protection plan is started",
        find=_enquiry(enquiry_id),
    )


@login_required
@require_http_methods(["GET", "POST"])
def cin_plan_start_view(request: HttpRequest, episode_id: Any) -> HttpResponse:
    return _act_page(
        request,
        episode_id,
        permission="casework.record",
        what="start children in need plan",
        template="casework/simple_form.html",
        form=lambda episode, target, data: CINPlanForm(
            data, initial={"started_on": london_date(clock.now())}
        ),
        act=lambda episode, target, data: services.cin_plan_start(
            episode=episode, by=_user(request), started_on=data["started_on"]
        ),
        done="The children in need plan is started",
        extra=lambda episode, target: {
            "heading": "Start a children in need plan",
            "button": "Start the plan",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def close_view(request: HttpRequest, episode_id: Any) -> HttpResponse:
    return _act_page(
        request,
        episode_id,
        permission="casework.record",
        what="close referral",
        template="casework/close.html",
        form=lambda episode, target, data: CloseForm(
            data, initial={"closed_on": london_date(clock.now())}
        ),
        act=lambda episode, target, data: services.episode_close(
            episode=episode, by=_user(request), closed_on=data["closed_on"], reason=data["reason"]
        ),
        done="The referral is closed",
        extra=lambda episode, target: {"nfa": _nothing_done(episode)},
    )


def _nothing_done(episode: CaseEpisode) -> bool:
    """Whether closing now would record a referral with no further action (ReferralNFA)."""
    return not (
        episode.assessments.exists()
        or episode.enquiries.exists()
        or episode.plans.exists()
        or episode.cin_plans.exists()
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_review_view(request: HttpRequest, episode_id: Any, plan_id: int) -> HttpResponse:
    return _act_page(
        request,
        episode_id,
        permission="casework.record",
        what="record plan review",
        template="casework/plan_review.html",
        form=lambda episode, target, data: PlanReviewForm(
            data, initial={"latest_category": target.latest_category}
        ),
        act=lambda episode, target, data: services.plan_review_record(
            plan=target,
            by=_user(request),
            reviewed_on=data["reviewed_on"],
            latest_category=data["latest_category"],
        ),
        done="The review conference is recorded",
        find=_plan(plan_id),
        extra=lambda episode, target: _plan_extra(target),
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_end_view(request: HttpRequest, episode_id: Any, plan_id: int) -> HttpResponse:
    return _act_page(
        request,
        episode_id,
        permission="casework.record",
        what="end protection plan",
        template="casework/plan_end.html",
        form=lambda episode, target, data: PlanEndForm(data),
        act=lambda episode, target, data: services.plan_end(
            plan=target, by=_user(request), ended_on=data["ended_on"]
        ),
        done="The child protection plan is ended",
        find=_plan(plan_id),
        extra=lambda episode, target: {
            "heading": "End the child protection plan",
            "what": "Child protection plan",
            **_plan_extra(target),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def cin_plan_end_view(request: HttpRequest, episode_id: Any, plan_id: int) -> HttpResponse:
    return _act_page(
        request,
        episode_id,
        permission="casework.record",
        what="end children in need plan",
        template="casework/plan_end.html",
        form=lambda episode, target, data: CINPlanEndForm(data),
        act=lambda episode, target, data: services.cin_plan_end(
            plan=target, by=_user(request), ended_on=data["ended_on"]
        ),
        done="The children in need plan is ended",
        find=_cin_plan(plan_id),
        extra=lambda episode, target: {
            "heading": "End the children in need plan",
            "what": "Children in need plan",
            **_plan_extra(target),
        },
    )
