"""Sharing decisions for the information governance lead and the hub's managers: a page and a
CSV export, both audited."""

import csv
import datetime as dt

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from safehub.accounts.permissions import user_can
from safehub.audit.export import safe_cell
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core import clock
from safehub.sharing.selectors import sharing_decisions_for

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PeriodForm(forms.Form):
    start = forms.DateField(label="From", required=False, widget=DATE_INPUT)
    end = forms.DateField(label="Up to (not including)", required=False, widget=DATE_INPUT)


def _period(request: HttpRequest) -> tuple[PeriodForm, dt.date, dt.date]:
    today = clock.now().astimezone(clock.LONDON).date()
    form = PeriodForm(request.GET or None)
    start, end = today - dt.timedelta(days=30), today + dt.timedelta(days=1)
    if form.is_bound and form.is_valid():
        start = form.cleaned_data["start"] or start
        end = form.cleaned_data["end"] or end
    return form, start, end


@login_required
def decision_list(request: HttpRequest) -> HttpResponse:
    if not user_can(request.user, "sharing.view"):
        return render(request, "403.html", status=403)
    form, start, end = _period(request)
    decisions = sharing_decisions_for(fetched_by=request.user, start=start, end=end)  # type: ignore[arg-type]
    page = Paginator(decisions, 100).get_page(request.GET.get("page"))
    with transaction.atomic():
        audit_record(
            actor=request.user,
            action=Action.SEARCH,
            object_type="sharing.decisions",
            object_id=f"{start}..{end}",
            detail={"shown": [d.pk for d in page]},
        )
    return render(
        request,
        "sharing/decision_list.html",
        {"form": form, "page": page, "start": start, "end": end},
    )


COLUMNS = [
    "at",
    "made_by",
    "from_agency",
    "shared",
    "kind",
    "recipient_agency",
    "recipient",
    "fields",
    "purpose",
    "lawful_basis",
    "consent",
    "reason",
    "contact",
    "discussion",
]


@login_required
def decision_export(request: HttpRequest) -> HttpResponse:
    if not user_can(request.user, "sharing.view"):
        return render(request, "403.html", status=403)
    _form, start, end = _period(request)
    decisions = sharing_decisions_for(fetched_by=request.user, start=start, end=end)  # type: ignore[arg-type]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="sharing-decisions-{start}-{end}.csv"'
    writer = csv.writer(response)
    writer.writerow(COLUMNS)
    rows = 0
    for d in decisions.iterator(chunk_size=2000):
        cells = [
            d.made_by_name,
            d.from_agency.code if d.from_agency else "",
            d.shared,
            d.kind,
            d.recipient_agency.code if d.recipient_agency else "",
            d.recipient,
            ";".join(d.fields),
            d.purpose,
            d.get_lawful_basis_display(),
            d.consent,
            d.reason,
            str(d.contact_id or ""),
            d.discussion.reference if d.discussion else "",
        ]
        # Free text typed into safehub must never run as a formula in a spreadsheet.
        writer.writerow([d.at.isoformat(), *(safe_cell(cell) for cell in cells)])
        rows += 1
    with transaction.atomic():
        audit_record(
            actor=request.user,
            action=Action.EXPORT,
            object_type="sharing.decisions",
            object_id=f"{start}..{end}",
            detail={"rows": rows},
        )
    return response
