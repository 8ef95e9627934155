import json
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from safehub.accounts.permissions import user_can
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core import clock
from safehub.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from safehub.meetings.models import StrategyDiscussion
from safehub.people.history import contact_history
from safehub.people.models import RerateDue
from safehub.referrals.break_glass import (
    break_glass_hours,
    break_glass_purpose_text,
    contact_break_glass,
)
from safehub.referrals.decisions import (
    contact_decide,
    contact_reassign,
    contact_take_next,
    decision_return,
    decision_sign_off,
)
from safehub.referrals.forms import (
    AccessLookupForm,
    BreakGlassForm,
    DecisionForm,
    ManualContactForm,
    QueueFilterForm,
    ReassignForm,
    ReviewForm,
    RouteForm,
)
from safehub.referrals.models import AccessGrant, Contact, ContactStatus, Decision, SignOff
from safehub.referrals.selectors import (
    access_grants_live,
    break_glass_openings,
    contact_access_events,
    contact_counts_by_status,
    contact_get,
    contact_get_readable,
    contact_queue,
    contacts_for_access_review,
    council_workers,
    decisions_awaiting_sign_off,
)
from safehub.referrals.services import contact_create_manual, contact_route
from safehub.timescales.models import Alert

PAGE_SIZE = 50
ACCESS_SHOWN = 100
ACCESS_REVIEW_SHOWN = 1000
ALERTS_SHOWN = 200


def _contact_or_404(request: HttpRequest, contact_id: object) -> Contact:
    try:
        return contact_get(fetched_by=request.user, contact_id=str(contact_id))  # type: ignore[arg-type]
    except NotFound:
        raise Http404("No such contact") from None


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    if not user_can(request.user, "contact.view"):
        if request.user.has_role("education_safeguarding_lead"):  # type: ignore[union-attr]
            # A school's safeguarding lead works from the Operation Encompass notices.
            return redirect("encompass:notice_list")
        return render(request, "403.html", status=403)
    user = request.user
    unrouted = request.GET.get("show") == "unrouted"
    workers = council_workers(fetched_by=user)  # type: ignore[arg-type]
    choices = [(str(w.pk), w.get_full_name() or w.username) for w in workers]
    filters = QueueFilterForm(request.GET or None, workers=choices)
    chosen = filters.cleaned_data if filters.is_bound and filters.is_valid() else {}
    now = clock.now()
    contacts = contact_queue(
        fetched_by=user,  # type: ignore[arg-type]
        unrouted=unrouted,
        rag=chosen.get("rag", ""),
        status=chosen.get("status", ""),
        worker=chosen.get("worker", ""),
        overdue=chosen.get("overdue", False),
        now=now,
    )
    page = Paginator(contacts, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = contact_counts_by_status(fetched_by=user)  # type: ignore[arg-type]
    can_sign_off = user_can(user, "contact.sign_off")
    awaiting = (
        list(decisions_awaiting_sign_off(fetched_by=user))  # type: ignore[arg-type]
        if can_sign_off
        else []
    )
    with transaction.atomic():
        audit_record(
            actor=user,
            action=Action.SEARCH,
            object_type="referrals.queue",
            object_id="unrouted" if unrouted else "all",
            detail={
                "filters": {k: v for k, v in chosen.items() if v},
                "page": page.number,
                "shown": [str(c.pk) for c in page],
                "awaiting_sign_off": [str(d.contact_id) for d in awaiting],
            },
        )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "referrals/queue.html",
        {
            "page": page,
            "now": now,
            "unrouted": unrouted,
            "filters": filters,
            "filtered": bool(chosen) and any(chosen.values()),
            "page_query": (query.urlencode() + "&") if query else "",
            "can_route": user_can(user, "contact.route"),
            "can_create": user_can(user, "contact.create"),
            "can_take": user_can(user, "contact.decide"),
            "can_sign_off": can_sign_off,
            "can_break_glass": user_can(user, "contact.break_glass"),
            "can_review_break_glass": user_can(user, "contact.break_glass_review"),
            "status_counts": [
                (label, counts.get(value, 0)) for value, label in ContactStatus.choices
            ],
            "awaiting": awaiting,
        },
    )


def _contact_page(
    request: HttpRequest,
    contact: Contact,
    route_form: RouteForm | None,
    status: int = 200,
    *,
    decision_form: DecisionForm | None = None,
    review_form: ReviewForm | None = None,
    problem: str = "",
    grant: AccessGrant | None = None,
) -> HttpResponse:
    """The contact page, audited as a view of the contact. Read under a break-glass `grant`
    (another council's contact), it offers no action and no access log, and says so at the top."""
    user = request.user
    if grant is not None:
        route_form = None
    can_decide = (
        grant is None
        and contact.status == ContactStatus.SCREENING
        and user_can(user, "contact.decide")
        and (contact.assigned_to_id == user.pk or user_can(user, "contact.sign_off"))
    )
    awaiting = (
        contact.decisions.filter(sign_off=SignOff.AWAITING_SIGN_OFF)
        .select_related("decided_by")
        .order_by("-decided_at", "-id")
        .first()
    )
    decisions = list(
        contact.decisions.select_related("decided_by", "signed_off_by").order_by(
            "-decided_at", "-id"
        )
    )
    can_review = (
        grant is None
        and awaiting is not None
        and user_can(user, "contact.sign_off")
        and awaiting.decided_by_id != user.pk
    )
    history = list(contact.status_changes.select_related("by").order_by("at", "id"))
    now = clock.now()
    clocks = [
        {
            "name": c.get_kind_display(),
            "due_at": c.due_at,
            "met_at": c.met_at,
            "state": c.state_at(now),
            "state_text": c.state_text(now),
            "rule": c.rule,
            "stop_reason": c.stop_reason,
        }
        for c in contact.clocks.order_by("started_at", "id")
    ]
    versions: list = []
    body = None
    raw = ""
    if contact.notification is not None:
        versions = list(contact.notification.versions.order_by("-number"))
        # Shown exactly as the force sent it: the stored bytes, not a re-serialised copy.
        raw = bytes(versions[0].body).decode("utf-8", errors="replace")
        body = json.loads(raw)
    detail: dict[str, Any] = {"notification_version": contact.notification_version}
    if grant is not None:
        detail.update(break_glass=True, grant=grant.pk, owner=grant.owner.code)
    # The child's history from the person index, scoped to the asker: what it showed in full
    # (and what only as "known to...") is recorded with the view.
    person_history = contact_history(contact=contact, fetched_by=user)  # type: ignore[arg-type]
    # The index linked the notification's people but triage could not be run again with what it
    # found (people/services.py rerate_due_retry keeps trying): the rating may be too low.
    rerate_due = (
        contact.notification_id is not None
        and contact.status in (ContactStatus.RECEIVED, ContactStatus.SCREENING)
        and RerateDue.objects.filter(notification_id=contact.notification_id).exists()
    )
    detail["history"] = person_history.audit_detail()
    with transaction.atomic():
        audit_record(
            actor=request.user,
            action=Action.VIEW,
            obj=contact,
            purpose=break_glass_purpose_text(grant.purpose) if grant is not None else "",
            detail=detail,
        )
    also_opened: list[AccessGrant] = []
    if grant is not None and contact.notification_id is not None:
        # The other children of the same incident that this person opened with it.
        also_opened = list(
            access_grants_live(user=user)  # type: ignore[arg-type]
            .filter(contact__notification_id=contact.notification_id)
            .exclude(contact=contact)
            .select_related("contact")
            .order_by("contact__child_ref")
        )
    access: list[Any] = []
    if grant is None and user_can(user, "contact.view_access"):
        access = contact_access_events(contact=contact, limit=ACCESS_SHOWN)
    discussions: list[Any] = []
    sharing: list[Any] = []
    can_call = False
    if grant is None:
        from safehub.meetings.services import contact_can_call
        from safehub.sharing.models import SharingDecision

        discussions = list(
            StrategyDiscussion.objects.filter(children__contact=contact)
            .select_related("chair")
            .order_by("-called_at")
        )
        can_call = contact_can_call(contact=contact, user=user)  # type: ignore[arg-type]
        sharing = list(
            SharingDecision.objects.filter(
                Q(contact=contact) | Q(discussion__children__contact=contact)
            )
            .select_related("from_agency", "recipient_agency")
            .distinct()
            .order_by("-at", "-id")[:100]
        )
    context = {
        "contact": contact,
        "discussions": discussions,
        "can_call": can_call,
        "sharing": sharing,
        "access": access,
        "access_shown": ACCESS_SHOWN,
        "body": body,
        "raw": raw,
        "versions": versions,
        "route_form": route_form,
        "decision_form": (decision_form or DecisionForm()) if can_decide else None,
        "awaiting": awaiting,
        "decisions": decisions,
        "can_review": can_review,
        "review_form": (review_form or ReviewForm()) if can_review else None,
        "history": history,
        "person_history": person_history,
        "rerate_due": rerate_due,
        "clocks": clocks,
        "can_reassign": grant is None
        and user_can(user, "contact.reassign")
        and contact.status != "closed",
        "grant": grant,
        "also_opened": also_opened,
        "now": now,
        "problem": problem,
        # The page's title says "Error:" when either form on it was refused.
        "form": decision_form if decision_form is not None else review_form,
    }
    return render(request, "referrals/contact_detail.html", context, status=status)


def _route_form(request: HttpRequest) -> RouteForm | None:
    return RouteForm() if user_can(request.user, "contact.route") else None


@login_required
def contact_detail(request: HttpRequest, contact_id: object) -> HttpResponse:
    # The one page that reads through a break-glass grant; every action keeps the council's scope.
    try:
        contact, grant = contact_get_readable(
            fetched_by=request.user,  # type: ignore[arg-type]
            contact_id=str(contact_id),
        )
    except NotFound:
        raise Http404("No such contact") from None
    return _contact_page(request, contact, _route_form(request), grant=grant)


def _refused(
    request: HttpRequest,
    contact_id: object,
    exc: DomainError,
    *,
    decision_form: DecisionForm | None = None,
    review_form: ReviewForm | None = None,
) -> HttpResponse:
    """A service's refusal as a page: 404, 403, the page with a 409 banner, or the form again
    with the error on the field the message names ("rationale: …")."""
    if isinstance(exc, NotFound):
        raise Http404("No such contact") from None
    if isinstance(exc, PermissionDenied):
        return render(request, "403.html", status=403)
    contact = _contact_or_404(request, contact_id)  # as it stands now
    if isinstance(exc, Conflict):
        return _contact_page(
            request,
            contact,
            _route_form(request),
            status=409,
            decision_form=decision_form,
            review_form=review_form,
            problem=exc.message,
        )
    form = decision_form if decision_form is not None else review_form
    field, sep, message = exc.message.partition(": ")
    if form is not None and sep and field in form.fields:
        form.add_error(field, message[:1].upper() + message[1:])
    elif form is not None:
        form.add_error(None, exc.message)
    return _contact_page(
        request,
        contact,
        _route_form(request),
        status=422,
        decision_form=decision_form,
        review_form=review_form,
    )


@login_required
@require_POST
def contact_take_next_view(request: HttpRequest) -> HttpResponse:
    try:
        contact = contact_take_next(taken_by=request.user)  # type: ignore[arg-type]
    except PermissionDenied:
        return render(request, "403.html", status=403)
    if contact is None:
        messages.info(request, "There are no contacts waiting")
        return redirect("referrals:queue")
    messages.success(request, f"You are screening {contact.given_names} {contact.family_name}")
    return redirect("referrals:contact_detail", contact_id=contact.pk)


@login_required
@require_POST
def contact_decide_view(request: HttpRequest, contact_id: object) -> HttpResponse:
    contact = _contact_or_404(request, contact_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        return _contact_page(request, contact, _route_form(request), status=422, decision_form=form)
    try:
        decision = contact_decide(
            contact=contact,
            decided_by=request.user,  # type: ignore[arg-type]
            outcome=form.cleaned_data["outcome"],
            rationale=form.cleaned_data["rationale"],
        )
    except DomainError as exc:
        return _refused(request, contact_id, exc, decision_form=form)
    messages.success(
        request, f"Decision recorded: {decision.get_outcome_display()}. It awaits sign-off."
    )
    return redirect("referrals:contact_detail", contact_id=contact.pk)


def _decision_or_404(contact: Contact, decision_id: int) -> Decision:
    decision = Decision.objects.filter(pk=decision_id, contact=contact).first()
    if decision is None:
        raise Http404("No such decision")
    return decision


def _review(
    request: HttpRequest,
    contact_id: object,
    decision_id: int,
    *,
    note_required: bool,
    act: Callable[..., object],
    done: str,
) -> HttpResponse:
    """A manager signs a decision off or returns it: the same form, checks and answers."""
    contact = _contact_or_404(request, contact_id)
    decision = _decision_or_404(contact, decision_id)
    form = ReviewForm(request.POST)
    if note_required and form.is_valid() and not form.cleaned_data["note"].strip():
        form.add_error("note", "Say why the decision is returned")
    if not form.is_valid():
        return _contact_page(request, contact, _route_form(request), status=422, review_form=form)
    try:
        act(decision=decision, by=request.user, note=form.cleaned_data["note"])
    except DomainError as exc:
        return _refused(request, contact_id, exc, review_form=form)
    messages.success(request, done)
    return redirect("referrals:contact_detail", contact_id=contact.pk)


@login_required
@require_POST
def decision_sign_off_view(
    request: HttpRequest, contact_id: object, decision_id: int
) -> HttpResponse:
    return _review(
        request,
        contact_id,
        decision_id,
        note_required=False,
        act=lambda *, decision, by, note: decision_sign_off(
            decision=decision, signed_off_by=by, note=note
        ),
        done="Decision signed off. The contact is closed.",
    )


@login_required
@require_POST
def decision_return_view(
    request: HttpRequest, contact_id: object, decision_id: int
) -> HttpResponse:
    return _review(
        request,
        contact_id,
        decision_id,
        note_required=True,
        act=lambda *, decision, by, note: decision_return(
            decision=decision, returned_by=by, note=note
        ),
        done="Decision returned to the worker. The contact is back in screening.",
    )


@login_required
@require_http_methods(["GET", "POST"])
def contact_new(request: HttpRequest) -> HttpResponse:
    if not user_can(request.user, "contact.create"):
        return render(request, "403.html", status=403)
    form = ManualContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            contact = contact_create_manual(created_by=request.user, **data)  # type: ignore[arg-type]
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Contact recorded and added to the triage queue")
            return redirect("referrals:contact_detail", contact_id=contact.pk)
    return render(request, "referrals/contact_new.html", {"form": form})


@login_required
@require_POST
def contact_route_view(request: HttpRequest, contact_id: object) -> HttpResponse:
    contact = _contact_or_404(request, contact_id)
    if not user_can(request.user, "contact.route"):
        return render(request, "403.html", status=403)
    form = RouteForm(request.POST)
    if form.is_valid():
        try:
            contact_route(
                contact=contact,
                routed_by=request.user,  # type: ignore[arg-type]
                council=form.cleaned_data["council"],
                reason=form.cleaned_data["reason"],
            )
        except NotFound:
            raise Http404("No such contact") from None
        except Conflict as exc:
            # The contact as it stands now, with why it cannot move (409, like the other acts).
            return _contact_page(request, contact, form, status=409, problem=exc.message)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Contact sent to {form.cleaned_data['council'].name}")
            try:
                contact_get(fetched_by=request.user, contact_id=contact.pk)  # type: ignore[arg-type]
            except NotFound:
                # Sent to another council: it has left this manager's sight.
                return redirect(reverse("referrals:queue") + "?show=unrouted")
        return redirect("referrals:contact_detail", contact_id=contact.pk)
    return _contact_page(request, contact, form, status=422)


@login_required
@require_http_methods(["GET", "POST"])
def contact_reassign_view(request: HttpRequest, contact_id: object) -> HttpResponse:
    """A manager gives the contact to another worker of the council, saying why."""
    contact = _contact_or_404(request, contact_id)
    user = request.user
    if not user_can(user, "contact.reassign"):
        return render(request, "403.html", status=403)
    workers = [
        w
        for w in council_workers(fetched_by=user)  # type: ignore[arg-type]
        if w.agency_id == contact.local_authority_id
    ]
    choices = [
        (
            str(w.pk),
            (w.get_full_name() or w.username)
            + (" (holds it now)" if w.pk == contact.assigned_to_id else ""),
        )
        for w in workers
    ]
    form = ReassignForm(request.POST or None, workers=choices)
    status = 200
    if request.method == "GET":
        with transaction.atomic():
            audit_record(actor=user, action=Action.VIEW, obj=contact, detail={"page": "reassign"})
    if request.method == "POST":
        status = 422
        if form.is_valid():
            to_user = next(w for w in workers if str(w.pk) == form.cleaned_data["worker"])
            try:
                contact_reassign(
                    contact=contact,
                    to_user=to_user,
                    by=user,  # type: ignore[arg-type]
                    reason=form.cleaned_data["reason"],
                )
            except NotFound:
                raise Http404("No such contact") from None
            except PermissionDenied:
                return render(request, "403.html", status=403)
            except Conflict as exc:
                form.add_error(None, exc.message)
                status = 409
            except DomainError as exc:
                field, sep, message = exc.message.partition(": ")
                name = {"to_user": "worker"}.get(field, field)
                if sep and name in form.fields:
                    form.add_error(name, message[:1].upper() + message[1:])
                else:
                    form.add_error(None, exc.message)
            else:
                name = to_user.get_full_name() or to_user.username
                messages.success(request, f"The contact is now held by {name}")
                return redirect("referrals:contact_detail", contact_id=contact.pk)
    return render(
        request,
        "referrals/contact_reassign.html",
        {"contact": contact, "form": form},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def contact_break_glass_view(request: HttpRequest) -> HttpResponse:
    """Open another council's record by its exact reference, saying why (break-glass)."""
    user = request.user
    if not user_can(user, "contact.break_glass"):
        return render(request, "403.html", status=403)
    form = BreakGlassForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                opened = contact_break_glass(
                    opened_by=user,  # type: ignore[arg-type]
                    purpose=data["purpose"],
                    reason=data["reason"],
                    contact_reference=data["contact_reference"],
                    force_code=data["force_code"],
                    incident_reference=data["incident_reference"],
                )
            except PermissionDenied:
                return render(request, "403.html", status=403)
            except DomainError as exc:
                name, sep, message = exc.message.partition(": ")
                if sep and name in form.fields:
                    form.add_error(name, message[:1].upper() + message[1:])
                else:
                    form.add_error(None, exc.message)
            else:
                if opened.own is not None:
                    messages.info(
                        request,
                        "This record is your own council's: it is open to you without "
                        "break-glass, and no one has been told",
                    )
                    return redirect("referrals:contact_detail", contact_id=opened.own.pk)
                return redirect("referrals:contact_detail", contact_id=opened.grants[0].contact_id)
    context = {
        "form": form,
        "hours": break_glass_hours(),
        "can_review": user_can(user, "contact.break_glass_review"),
    }
    return render(request, "referrals/break_glass.html", context, status=status)


@login_required
def break_glass_openings_view(request: HttpRequest) -> HttpResponse:
    """The break-glass openings by the people of the manager's council, last 30 days."""
    user = request.user
    if not user_can(user, "contact.break_glass_review"):
        return render(request, "403.html", status=403)
    now = clock.now()
    grants = list(break_glass_openings(fetched_by=user, now=now))  # type: ignore[arg-type]
    with transaction.atomic():
        audit_record(
            actor=user,
            action=Action.SEARCH,
            object_type="referrals.access_grant",
            object_id="team",
            detail={"days": 30, "shown": [g.pk for g in grants]},
        )
    return render(
        request,
        "referrals/break_glass_openings.html",
        {"grants": grants, "now": now},
    )


@login_required
def access_lookup(request: HttpRequest) -> HttpResponse:
    """Find a child of one's own council by the contact's or the incident's exact reference (no
    search by name), to see who has opened the record."""
    user = request.user
    if not user_can(user, "contact.view_access"):
        return render(request, "403.html", status=403)
    form = AccessLookupForm(request.GET or None)
    found: list[Contact] = []
    searched = form.is_bound and form.is_valid()
    if searched:
        reference = form.cleaned_data["reference"].strip()
        scope = contacts_for_access_review(fetched_by=user)  # type: ignore[arg-type]
        try:
            found = list(scope.filter(pk=uuid.UUID(reference)))
        except ValueError:
            found = list(
                scope.filter(notification__incident_reference=reference).order_by("child_ref")
            )
    with transaction.atomic():
        audit_record(
            actor=user,
            action=Action.SEARCH,
            object_type="referrals.access_lookup",
            object_id="",
            detail={"searched": searched, "found": [str(c.pk) for c in found]},
        )
    return render(
        request,
        "referrals/access_lookup.html",
        {"form": form, "found": found, "searched": searched},
    )


@login_required
def contact_access(request: HttpRequest, contact_id: uuid.UUID) -> HttpResponse:
    """Who has opened a child's record (the contact, its notification, the strategy discussions
    about the child), for the council's hub managers and auditors; every look is audited."""
    user = request.user
    contact = (
        contacts_for_access_review(fetched_by=user)  # type: ignore[arg-type]
        .filter(pk=contact_id)
        .first()
    )
    if contact is None:
        raise Http404("No such contact")
    events = contact_access_events(contact=contact, limit=ACCESS_REVIEW_SHOWN)
    with transaction.atomic():
        audit_record(
            actor=user,
            action=Action.VIEW,
            obj=contact,
            purpose="Who has seen this record",
            detail={"page": "access", "events": len(events)},
        )
    return render(
        request,
        "referrals/contact_access.html",
        {"contact": contact, "access": events, "access_shown": ACCESS_REVIEW_SHOWN},
    )


@login_required
def alerts(request: HttpRequest) -> HttpResponse:
    """The person's own alerts: the deadlines escalated to them, newest first, each with where
    its clock stands now."""
    user = request.user
    if not user_can(user, "alert.view"):
        return render(request, "403.html", status=403)
    mine = list(
        Alert.objects.filter(user=user)  # type: ignore[misc]
        .select_related("escalation__clock__contact")
        .order_by("-escalation__at", "-id")[:ALERTS_SHOWN]
    )
    now = clock.now()
    with transaction.atomic():
        audit_record(
            actor=user,
            action=Action.SEARCH,
            object_type="referrals.alerts",
            object_id=str(user.pk),
            detail={"shown": [str(a.escalation.clock.contact_id) for a in mine]},
        )
    return render(request, "referrals/alerts.html", {"alerts": mine, "now": now})
