"""The clerical review pages: the queue of uncertain links, a review (the record and the candidate
person's records side by side, with the evidence), a person's page, merging two people and undoing
a merge. Every page that shows a person's records is audited: it is child-level data.

The order of refusals is the access matrix's: a record outside the asker's council (or a role that
sees no person index) is "not found", then a missing permission is 403, then an act the record's
state refuses is 409 (shown above the form, with the page as it stands now). A refusal of what was
typed is shown on the field it names (422)."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from safehub.accounts.models import User
from safehub.accounts.permissions import user_can
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from safehub.people import review as services
from safehub.people.forms import MergeForm, ReviewDecisionForm, UndoForm
from safehub.people.models import Merge, Person, ReviewStatus
from safehub.people.selectors import (
    evidence_rows,
    evidence_sentence,
    merge_get,
    person_find,
    person_get,
    person_page,
    person_records,
    record_view,
    review_get,
    review_queue,
    review_target,
)

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _form_error(form: Any, exc: DomainError, *, fields: dict[str, str] | None = None) -> None:
    """A service's "field: problem" on that field of the form (a service's argument may be a
    field of another name: `fields` maps it), else above the form."""
    field, sep, message = exc.message.partition(": ")
    field = (fields or {}).get(field, field)
    message = message[:1].upper() + message[1:] if sep else exc.message
    if sep and field in form.fields:
        form.add_error(field, message)
    else:
        form.add_error(None, message)


def _refused(exc: Conflict) -> str:
    """A 409's message without the service's field name, as a sentence."""
    _, sep, message = exc.message.partition(": ")
    text = message if sep else exc.message
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


def _audit_view(user: User, obj: Any, page: str, records: list[Any]) -> None:
    with transaction.atomic():
        audit_record(
            actor=user,
            action=Action.VIEW,
            obj=obj,
            detail={"page": page, "records": [str(v.record.pk) for v in records]},
        )


@login_required
def review_queue_view(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user_can(user, "person.review"):
        return render(request, "403.html", status=403)
    rows = review_queue(user=user)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    with transaction.atomic():
        audit_record(
            actor=user,
            action=Action.SEARCH,
            object_type="people.review_queue",
            object_id="open",
            detail={"shown": [row.review.pk for row in page.object_list]},
        )
    return render(request, "people/review_queue.html", {"page": page, "total": len(rows)})


@login_required
@require_http_methods(["GET", "POST"])
def review_detail_view(request: HttpRequest, review_id: int) -> HttpResponse:
    user = _user(request)
    try:
        review = review_get(user=user, review_id=review_id)
    except NotFound:
        raise Http404("No such review") from None
    if not user_can(user, "person.review"):
        return render(request, "403.html", status=403)
    form = ReviewDecisionForm(request.POST if request.method == "POST" else None)
    status, problem = 200, ""
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            act = services.review_link if data["decision"] == "link" else services.review_keep_apart
            try:
                done = act(review=review, by=user, reason=data["reason"])
            except PermissionDenied:
                return render(request, "403.html", status=403)
            except NotFound:
                raise Http404("No such review") from None
            except Conflict as exc:
                problem, status = _refused(exc), 409
                review.refresh_from_db()
            except DomainError as exc:
                _form_error(form, exc)
            else:
                done.record.refresh_from_db()
                if done.status == ReviewStatus.LINKED:
                    text = f"The record is linked to {done.record.person.reference}"
                else:
                    text = f"The record is kept apart from {done.candidate.reference}"
                messages.success(request, text)
                return redirect("people:review_queue")
    target = review_target(review)
    record = record_view(review.record)
    candidate_records = person_records(target, user=None)
    # Every showing of the records is audited, a form shown again after a refusal too.
    _audit_view(user, review, "review", [record, *candidate_records])
    rows = evidence_rows(review.match_evidence)
    context = {
        "review": review,
        "record": record,
        "record_person": review.record.person,
        "target": target,
        "candidate_records": candidate_records,
        "evidence": rows,
        "sentence": evidence_sentence(review.match_evidence),
        "percent": round(review.match_probability * 100),
        "form": form,
        "problem": problem,
        "can_decide": review.status == ReviewStatus.OPEN,
    }
    return render(request, "people/review_detail.html", context, status=status)


@login_required
def person_detail_view(request: HttpRequest, person_id: Any) -> HttpResponse:
    user = _user(request)
    try:
        person = person_get(user=user, person_id=person_id)
    except NotFound:
        raise Http404("No such person") from None
    page = person_page(user=user, person=person)
    _audit_view(user, person, "person", page.records)
    can_merge = user_can(user, "person.merge")
    return render(
        request,
        "people/person_detail.html",
        {"p": page, "person": person, "can_merge": can_merge},
    )


@login_required
@require_http_methods(["GET", "POST"])
def person_merge_view(request: HttpRequest, person_id: Any) -> HttpResponse:
    """Two steps on one URL: the other person's reference and the reason, then a page showing
    both people to confirm (`confirm=yes` merges)."""
    user = _user(request)
    try:
        kept = person_get(user=user, person_id=person_id)
    except NotFound:
        raise Http404("No such person") from None
    if not user_can(user, "person.merge"):
        return render(request, "403.html", status=403)
    form = MergeForm(request.POST if request.method == "POST" else None)
    kept_records = person_records(kept, user=user)
    context: dict[str, Any] = {
        "kept": kept,
        "kept_name": _name(kept_records),
        "kept_records": kept_records,
        "form": form,
        "problem": "",
    }

    def show(status: int = 200, *, merged: Person | None = None) -> HttpResponse:
        """The form (or, with `merged`, the page to confirm), the records it shows audited."""
        _audit_view(user, kept, "merge", kept_records)
        if merged is None:
            return render(request, "people/person_merge.html", context, status=status)
        merged_records = person_records(merged, user=user)
        _audit_view(user, merged, "merge confirm", merged_records)
        context.update(
            merged=merged, merged_name=_name(merged_records), merged_records=merged_records
        )
        return render(request, "people/person_merge_confirm.html", context, status=status)

    if request.method == "GET":
        return show()
    if not form.is_valid():
        return show(422)
    try:
        merged = person_find(user=user, reference=form.cleaned_data["reference"])
    except NotFound:
        form.add_error("reference", "No person of your council's records has this reference")
        return show(422)
    if merged.pk == kept.pk:
        form.add_error("reference", "This is the person you are merging into: enter another")
        return show(422)
    if request.POST.get("confirm") != "yes":
        return show(merged=merged)
    try:
        services.person_merge(kept=kept, merged=merged, by=user, reason=form.cleaned_data["reason"])
    except PermissionDenied:
        return render(request, "403.html", status=403)
    except NotFound:
        raise Http404("No such person") from None
    except Conflict as exc:
        context["problem"] = _refused(exc)
        return show(409)
    except DomainError as exc:
        _form_error(form, exc, fields={"merged": "reference"})
        return show(422)
    messages.success(request, f"{merged.reference} is merged into {kept.reference}")
    return redirect("people:person_detail", person_id=kept.pk)


def _name(records: list[Any]) -> str:
    return next((v.name for v in records if v.given_names or v.family_name), "No name recorded")


@login_required
@require_http_methods(["GET", "POST"])
def merge_undo_view(request: HttpRequest, merge_id: int) -> HttpResponse:
    user = _user(request)
    try:
        merge = merge_get(user=user, merge_id=merge_id)
    except NotFound:
        raise Http404("No such merge") from None
    if not user_can(user, "person.merge"):
        return render(request, "403.html", status=403)
    form = UndoForm(request.POST if request.method == "POST" else None)
    status, problem = 200, ""
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                services.person_unmerge(merge=merge, by=user, reason=form.cleaned_data["reason"])
            except PermissionDenied:
                return render(request, "403.html", status=403)
            except NotFound:
                raise Http404("No such merge") from None
            except Conflict as exc:
                problem, status = _refused(exc), 409
                merge.refresh_from_db()
            except DomainError as exc:
                _form_error(form, exc)
            else:
                messages.success(
                    request,
                    f"The merge is undone: {merge.merged.reference} has their records back",
                )
                return redirect("people:person_detail", person_id=merge.merged_id)
    moving = _moving(merge)
    _audit_view(user, merge, "undo merge", moving)
    context = {
        "merge": merge,
        "kept": merge.kept,
        "merged": merge.merged,
        "moving": moving,
        "form": form,
        "problem": problem,
    }
    return render(request, "people/merge_undo.html", context, status=status)


def _moving(merge: Merge) -> list[Any]:
    """The records the merge moved, as they are now (the undo moves them back)."""
    from safehub.people.models import SourceRecord

    ids = [entry["id"] for entry in merge.records]
    records = SourceRecord.objects.filter(pk__in=ids).select_related("notification", "person")
    return [record_view(r) for r in records.order_by("-seen_at", "id")]
