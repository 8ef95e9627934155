import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from safehub.accounts.permissions import user_can
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core.errors import DomainError, NotFound
from safehub.referrals.forms import ManualContactForm, RouteForm
from safehub.referrals.models import Contact
from safehub.referrals.selectors import contact_get, contact_queue
from safehub.referrals.services import contact_create_manual, contact_route

PAGE_SIZE = 50


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
    unrouted = request.GET.get("show") == "unrouted"
    contacts = contact_queue(fetched_by=request.user, unrouted=unrouted)  # type: ignore[arg-type]
    page = Paginator(contacts, PAGE_SIZE).get_page(request.GET.get("page"))
    with transaction.atomic():
        audit_record(
            actor=request.user,
            action=Action.SEARCH,
            object_type="referrals.queue",
            object_id="unrouted" if unrouted else "all",
            detail={"page": page.number, "shown": [str(c.pk) for c in page]},
        )
    return render(
        request,
        "referrals/queue.html",
        {
            "page": page,
            "unrouted": unrouted,
            "can_route": user_can(request.user, "contact.route"),
            "can_create": user_can(request.user, "contact.create"),
        },
    )


def _contact_page(
    request: HttpRequest, contact: Contact, route_form: RouteForm | None, status: int = 200
) -> HttpResponse:
    """The contact page, audited as a view of the contact."""
    versions: list = []
    body = None
    raw = ""
    if contact.notification is not None:
        versions = list(contact.notification.versions.order_by("-number"))
        # Shown exactly as the force sent it: the stored bytes, not a re-serialised copy.
        raw = bytes(versions[0].body).decode("utf-8", errors="replace")
        body = json.loads(raw)
    with transaction.atomic():
        audit_record(
            actor=request.user,
            action=Action.VIEW,
            obj=contact,
            detail={"notification_version": contact.notification_version},
        )
    context = {
        "contact": contact,
        "body": body,
        "raw": raw,
        "versions": versions,
        "route_form": route_form,
    }
    return render(request, "referrals/contact_detail.html", context, status=status)


@login_required
def contact_detail(request: HttpRequest, contact_id: object) -> HttpResponse:
    contact = _contact_or_404(request, contact_id)
    route_form = RouteForm() if user_can(request.user, "contact.route") else None
    return _contact_page(request, contact, route_form)


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
