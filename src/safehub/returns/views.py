"""The statutory returns page: the asker's own council's Ofsted Annex A lists for a period and its
DfE CIN census for a year, as files. Each download is an audit event with the file's SHA-256 (the
census records its own, as `safehub export cin-census` does); a census that fails the DfE schema
or an error rule is not given, and its problems are listed with the rule and the child."""

import io
import tempfile
from pathlib import Path
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import FileResponse, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render

from safehub.accounts.models import AgencyKind
from safehub.accounts.permissions import user_can
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core import clock
from safehub.core.errors import DomainError
from safehub.returns.annex_a import annex_a_bytes, annex_a_filename
from safehub.returns.census import CensusInvalid, census_filename, census_write
from safehub.returns.forms import (
    AnnexAForm,
    CensusForm,
    annex_a_default_period,
    census_year_label,
    census_year_of,
)
from safehub.timescales.calendar import london_date

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ANNEX_A_PURPOSE = "Ofsted inspection: Annex A lists"
CENSUS_PURPOSE = "DfE children in need census"
PROBLEMS_SHOWN = 50  # a census broken everywhere lists its first problems, and how many more


@login_required
def index(request: HttpRequest) -> HttpResponseBase:
    user = request.user
    council = getattr(user, "agency", None)
    if (
        not user_can(user, "returns.export")
        or council is None
        or council.kind != AgencyKind.CHILDREN_SERVICES
    ):
        return render(request, "403.html", status=403)
    today = london_date(clock.now())
    start, end = annex_a_default_period(today)
    download = request.GET.get("download", "")
    annex_a = AnnexAForm(
        request.GET if download == "annex-a" else None,
        initial={"start": start, "end": end},
        today=today,
    )
    census = CensusForm(
        request.GET if download == "cin-census" else None,
        initial={"year": str(census_year_of(today) - 1)},
        today=today,
        prefix="census",
    )
    invalid = None
    if download == "annex-a" and annex_a.is_valid():
        try:
            return _annex_a(user, council, annex_a.cleaned_data)
        except DomainError as exc:
            _form_error(annex_a, exc)
    if download == "cin-census" and census.is_valid():
        try:
            return _census(user, council, census.cleaned_data["year"])
        except CensusInvalid as exc:
            invalid = exc.summary
        except DomainError as exc:
            _form_error(census, exc)
    with transaction.atomic():
        audit_record(
            actor=user, action=Action.VIEW, object_type="returns.index", object_id=council.code
        )
    problems = invalid.errors if invalid is not None else []
    context = {
        "council": council,
        "annex_a": annex_a,
        "census": census,
        "invalid": invalid,
        "invalid_year": census_year_label(invalid.year) if invalid is not None else "",
        "problems": problems[:PROBLEMS_SHOWN],
        "more_problems": max(0, len(problems) - PROBLEMS_SHOWN),
    }
    failed = annex_a.errors or census.errors or invalid is not None
    return render(request, "returns/index.html", context, status=422 if failed else 200)


def _annex_a(user: Any, council: Any, data: dict[str, Any]) -> FileResponse:
    """The workbook, given only once its export is recorded."""
    start, end = data["start"], data["end"]
    content, summary = annex_a_bytes(council, start, end)
    filename = annex_a_filename(council, start, end)
    with transaction.atomic():
        audit_record(
            actor=user,
            action=Action.EXPORT,
            object_type="returns.annex_a",
            object_id=council.code,
            purpose=ANNEX_A_PURPOSE,
            detail={**summary.as_detail(), "file": filename},
        )
    return _attachment(FileResponse(io.BytesIO(content), as_attachment=True, filename=filename))


def _census(user: Any, council: Any, year: int) -> FileResponse:
    """The census, written (and recorded) by the census module, then given."""
    with tempfile.TemporaryDirectory(prefix="safehub-census-") as folder:
        path = Path(folder) / census_filename(council, year)
        census_write(
            council=council, year=year, path=path, exported_by=user, purpose=CENSUS_PURPOSE
        )
        content = path.read_bytes()
    response = FileResponse(
        io.BytesIO(content), as_attachment=True, filename=path.name, content_type="application/xml"
    )
    return _attachment(response)


def _attachment(response: FileResponse) -> FileResponse:
    # Child-level data: no copy kept by the browser's or a proxy's cache.
    response["Cache-Control"] = "no-store"
    return response


def _form_error(form: Any, exc: DomainError) -> None:
    field, sep, message = exc.message.partition(": ")
    message = message[:1].upper() + message[1:] if sep else exc.message
    if sep and field in form.fields:
        form.add_error(field, message)
    else:
        form.add_error(None, message if sep else exc.message)
