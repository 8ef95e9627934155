"""The performance dashboard: a council's (or a force's) figures, the national figures, each
figure as CSV, and the contacts behind a number. Every page and download is audited; the figures
are `safehub.reports.figures`, the contacts behind them are scoped by the triage queue's own
scoping function."""

import csv
from collections import OrderedDict
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from safehub.accounts.models import User
from safehub.accounts.permissions import user_can
from safehub.audit.export import safe_cell
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core import clock
from safehub.referrals.selectors import contacts_in_scope
from safehub.reports.figures import (
    BY_SLUG,
    FIGURES,
    drill_contacts,
    figure_compute,
    figures_compute,
)
from safehub.reports.forms import PERIOD_CHOICES, period_form
from safehub.reports.present import csv_rows, figure_view
from safehub.reports.rollup import rollup_as_of
from safehub.reports.scope import Period, Scope, can_drill, national_scope, scope_for


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "403.html", status=403)


def _own_scope(request: HttpRequest, period: Period) -> Scope | None:
    return scope_for(_user(request), period)


def _object_id(scope: Scope, period: Period) -> str:
    who = scope.council or scope.force
    return f"{scope.kind}:{who.code if who else 'all'}:{period}"


def _period_query(period: Period) -> str:
    return (
        f"period=custom&start_day={period.start.day}&start_month={period.start.month}"
        f"&start_year={period.start.year}&end_day={period.end.day}"
        f"&end_month={period.end.month}&end_year={period.end.year}"
    )


def _render_dashboard(
    request: HttpRequest, *, scope: Scope, national: bool, csv_name: str
) -> HttpResponse:
    user = _user(request)
    form = period_form(request.GET)
    period = form.chosen()
    if not national:
        scope = _own_scope(request, period) or scope
    now = clock.now()
    drill = can_drill(user, scope)
    query = _period_query(period)
    sections: OrderedDict[str, list[Any]] = OrderedDict()
    figures = figures_compute(scope=scope, period=period, now=now)
    for definition, figure in zip(FIGURES, figures, strict=True):
        url = reverse(csv_name) + f"?figure={definition.slug}&" + query
        sections.setdefault(definition.section, []).append(
            figure_view(figure, period=period, drill=drill, csv_url=url)
        )
    as_of = rollup_as_of(period, now) if national else None
    with transaction.atomic():
        audit_record(
            actor=user,
            action=Action.VIEW,
            object_type="reports.dashboard",
            object_id=_object_id(scope, period),
            detail={"scope": scope.kind, "period": str(period)},
        )
    return render(
        request,
        "reports/dashboard.html",
        {
            "form": form,
            "choices": PERIOD_CHOICES,
            "chosen": request.GET.get("period", "30") if form.is_bound else "30",
            "period": period,
            "scope": scope,
            "sections": sections,
            "drill": drill,
            "national": national,
            "as_of": as_of,
            "can_national": user_can(user, "report.national"),
            "can_own": user_can(user, "report.view") and scope_for(user, period) is not None,
        },
    )


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user_can(user, "report.view"):
        return _forbidden(request)
    scope = _own_scope(request, Period.last(1))
    if scope is None:
        # A role that reads figures, in an agency that has none (neither council nor force).
        return _forbidden(request)
    return _render_dashboard(request, scope=scope, national=False, csv_name="reports:csv")


@login_required
def national(request: HttpRequest) -> HttpResponse:
    if not user_can(_user(request), "report.national"):
        return _forbidden(request)
    return _render_dashboard(
        request, scope=national_scope(), national=True, csv_name="reports:national_csv"
    )


def _csv(request: HttpRequest, scope: Scope, period: Period, slug: str) -> HttpResponse:
    figure = figure_compute(slug=slug, scope=scope, period=period)
    rows = csv_rows(figure)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{slug}-{scope.kind}-{period.start}-{period.end}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow([f"{figure.title}: {scope.name}, {period.start} to {period.end}"])
    for row in rows:
        # Agency names are typed into safehub: never a formula in a spreadsheet.
        writer.writerow([safe_cell(str(cell)) for cell in row])
    with transaction.atomic():
        audit_record(
            actor=_user(request),
            action=Action.EXPORT,
            object_type=f"reports.{slug}",
            object_id=_object_id(scope, period),
            detail={"rows": len(rows) - 1, "scope": scope.kind},
        )
    return response


def _figure(request: HttpRequest) -> str:
    figure = request.GET.get("figure", "rag")
    if figure not in BY_SLUG:
        raise Http404("No such figure")
    return figure


@login_required
def figure_csv(request: HttpRequest) -> HttpResponse:
    """One figure of the asker's dashboard (`?figure=`, the first table by default) as CSV."""
    if not user_can(_user(request), "report.view"):
        return _forbidden(request)
    figure = _figure(request)
    period = period_form(request.GET).chosen()
    scope = _own_scope(request, period)
    if scope is None:
        return _forbidden(request)
    return _csv(request, scope, period, figure)


@login_required
def national_csv(request: HttpRequest) -> HttpResponse:
    if not user_can(_user(request), "report.national"):
        return _forbidden(request)
    figure = _figure(request)
    return _csv(request, national_scope(), period_form(request.GET).chosen(), figure)


def _keep_query(request: HttpRequest) -> str:
    keep = request.GET.copy()
    keep.pop("page", None)
    return keep.urlencode() + "&" if keep else ""


@login_required
def contacts(request: HttpRequest) -> HttpResponse:
    """The contacts behind one number: only those the asker may see in the queue, of the
    council (or force) whose dashboard it is; never nationally."""
    user = _user(request)
    if not user_can(user, "contact.view"):
        return _forbidden(request)
    form = period_form(request.GET)
    period = form.chosen()
    scope = _own_scope(request, period)
    if scope is None or not can_drill(user, scope):
        raise Http404("No contacts to list")
    slug = request.GET.get("figure", "rag")
    measure = request.GET.get("measure", "contacts" if slug == "rag" else "")
    council = request.GET.get("council", "")
    try:
        found = drill_contacts(
            slug=slug, measure=measure, scope=scope, period=period, council=council
        )
    except KeyError:
        raise Http404("No such figure") from None
    mine = contacts_in_scope(fetched_by=user).filter(pk__in=found.values("pk"))
    ordered = mine.select_related("assigned_to").order_by("received_at", "id")
    page = Paginator(ordered, 100).get_page(request.GET.get("page"))
    figure = figure_compute(slug=slug, scope=scope, period=Period(period.start, period.start))
    column = figure.column(measure)
    with transaction.atomic():
        audit_record(
            actor=user,
            action=Action.SEARCH,
            object_type="reports.contacts",
            object_id=_object_id(scope, period),
            detail={
                "figure": slug,
                "measure": measure,
                "council": council,
                "shown": [str(c.pk) for c in page],
            },
        )
    return render(
        request,
        "reports/contacts.html",
        {
            "page": page,
            "count": page.paginator.count,
            "figure": figure,
            "column": column,
            "period": period,
            "scope": scope,
            "council": council,
            "back": reverse("reports:dashboard") + "?" + _period_query(period) + f"#{slug}",
            "query": _keep_query(request),
        },
    )
