"""The audit log for the council's information governance lead (the auditor role): what the
people of their own agency did over a period, as the CSV `safehub audit export` writes (each row
with its place in the hash chain), the export itself an audit event with the file's SHA-256."""

import datetime as dt
import tempfile
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import FileResponse, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render

from safehub.accounts.permissions import user_can
from safehub.audit.export import ExportFilters, audit_export
from safehub.audit.forms import ExportForm
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core import clock


@login_required
def export_view(request: HttpRequest) -> HttpResponseBase:
    user = request.user
    agency = getattr(user, "agency", None)
    if not user_can(user, "audit.export") or agency is None:
        return render(request, "403.html", status=403)
    today = clock.now().astimezone(clock.LONDON).date()
    initial = {"start": today - dt.timedelta(days=30), "end": today}
    form = ExportForm(request.GET or None, initial=initial)
    if "download" in request.GET and form.is_valid():
        filters = ExportFilters(
            start=form.cleaned_data["start"], end=form.cleaned_data["end"], agency=agency.code
        )
        folder = Path(tempfile.mkdtemp(prefix="safehub-audit-"))
        path = folder / f"audit-{agency.code}-{filters.start}-{filters.end}.csv"
        audit_export(filters=filters, path=path, exported_by=user, purpose="Information governance")
        handle = path.open("rb")
        path.unlink()  # the open handle keeps the file until the response is sent
        folder.rmdir()
        return FileResponse(handle, as_attachment=True, filename=path.name, content_type="text/csv")
    with transaction.atomic():
        audit_record(
            actor=user, action=Action.VIEW, object_type="audit.export", object_id=agency.code
        )
    status = 422 if form.is_bound and form.errors else 200
    return render(request, "audit/export.html", {"form": form, "agency": agency}, status=status)
