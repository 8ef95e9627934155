"""The MARAC referral pages: the referrals proposed at intake, one referral, and its decision."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from safehub.accounts.permissions import user_can
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from safehub.risk.forms import CONFIRM, MaracDecisionForm, MaracFilterForm
from safehub.risk.models import MaracReferral, MaracStatus
from safehub.risk.selectors import marac_referral_get, marac_referrals_in_scope
from safehub.risk.services import marac_referral_confirm, marac_referral_decline

PAGE_SIZE = 50

# Each of risk.marac.CRITERIA, as the pages say it.
CRITERIA_IN_WORDS: dict[str, str] = {
    "visible_high_risk": "Visible high risk (DASH)",
    "professional_judgement": "Professional judgement",
    "potential_escalation": "Potential escalation",
    "repeat": "Repeat referral",
}

STATUS_COLOURS: dict[str, str] = {
    MaracStatus.TO_CONFIRM: "yellow",
    MaracStatus.CONFIRMED: "green",
    MaracStatus.DECLINED: "grey",
}


def _criteria_in_words(referral: MaracReferral) -> list[str]:
    return [CRITERIA_IN_WORDS.get(code, code) for code in referral.criteria_codes]


def _referral_or_404(request: HttpRequest, referral_id: object) -> MaracReferral:
    try:
        return marac_referral_get(fetched_by=request.user, referral_id=str(referral_id))  # type: ignore[arg-type]
    except NotFound:
        raise Http404("No such MARAC referral") from None


@login_required
@require_GET
def referral_list(request: HttpRequest) -> HttpResponse:
    if not user_can(request.user, "marac.view"):
        return render(request, "403.html", status=403)
    referrals = marac_referrals_in_scope(fetched_by=request.user)  # type: ignore[arg-type]
    to_confirm = referrals.filter(status=MaracStatus.TO_CONFIRM).count()
    filter_form = MaracFilterForm(request.GET)
    status = filter_form.cleaned_data["status"] if filter_form.is_valid() else ""
    if status:
        referrals = referrals.filter(status=status)
    page = Paginator(referrals, PAGE_SIZE).get_page(request.GET.get("page"))
    with transaction.atomic():
        audit_record(
            actor=request.user,
            action=Action.SEARCH,
            object_type="risk.marac_referral_list",
            object_id=status or "all",
            detail={"page": page.number, "shown": [str(r.pk) for r in page]},
        )
    rows = [
        {
            "referral": r,
            "criteria": _criteria_in_words(r),
            "colour": STATUS_COLOURS.get(r.status, "grey"),
        }
        for r in page
    ]
    return render(
        request,
        "risk/marac_list.html",
        {
            "page": page,
            "rows": rows,
            "to_confirm": to_confirm,
            "filter_form": filter_form,
            "status": status,
            "status_label": dict(MaracStatus.choices).get(status, ""),
        },
    )


def _detail_page(
    request: HttpRequest,
    referral: MaracReferral,
    *,
    form: MaracDecisionForm | None = None,
    status: int = 200,
    problem: str = "",
) -> HttpResponse:
    """The referral page, audited as a view of the referral."""
    can_decide = referral.status == MaracStatus.TO_CONFIRM and user_can(
        request.user, "marac.confirm"
    )
    with transaction.atomic():
        audit_record(
            actor=request.user,
            action=Action.VIEW,
            obj=referral,
            detail={"status": referral.status},
        )
    criteria = [
        {"key": CRITERIA_IN_WORDS.get(c["code"], c["code"]), "value": c["evidence"]}
        for c in referral.criteria
    ]
    return render(
        request,
        "risk/marac_detail.html",
        {
            "referral": referral,
            "criteria": criteria,
            "colour": STATUS_COLOURS.get(referral.status, "grey"),
            # Named `form` so that the page's title says "Error:" when it was refused.
            "form": (form or MaracDecisionForm()) if can_decide else None,
            "can_decide": can_decide,
            "problem": problem,
        },
        status=status,
    )


@login_required
@require_GET
def referral_detail(request: HttpRequest, referral_id: object) -> HttpResponse:
    referral = _referral_or_404(request, referral_id)
    return _detail_page(request, referral)


@login_required
@require_POST
def referral_decide(request: HttpRequest, referral_id: object) -> HttpResponse:
    referral = _referral_or_404(request, referral_id)
    if not user_can(request.user, "marac.confirm"):
        return render(request, "403.html", status=403)
    form = MaracDecisionForm(request.POST)
    if not form.is_valid():
        if referral.status != MaracStatus.TO_CONFIRM:
            # A stale page: the form is gone from the referral as it stands now.
            problem = f"This referral was already decided ({referral.get_status_display()})."
            return _detail_page(request, referral, status=409, problem=problem)
        return _detail_page(request, referral, form=form, status=422)
    confirm = form.cleaned_data["decision"] == CONFIRM
    target = MaracStatus.CONFIRMED if confirm else MaracStatus.DECLINED
    already = referral.status == target
    try:
        if confirm:
            marac_referral_confirm(
                referral=referral,
                confirmed_by=request.user,  # type: ignore[arg-type]
                note=form.cleaned_data["note"],
            )
        else:
            marac_referral_decline(
                referral=referral,
                declined_by=request.user,  # type: ignore[arg-type]
                note=form.cleaned_data["note"],
            )
    except NotFound:
        raise Http404("No such MARAC referral") from None
    except PermissionDenied:
        return render(request, "403.html", status=403)
    except Conflict as exc:
        # Decided meanwhile by someone else: the page as it stands now, and why nothing changed.
        current = _referral_or_404(request, referral_id)
        return _detail_page(request, current, status=409, problem=exc.message)
    except DomainError as exc:
        # "note: say why …" goes on the note field; anything else above the form.
        field, sep, message = exc.message.partition(": ")
        if sep and field in form.fields:
            form.add_error(field, message[:1].upper() + message[1:])
        else:
            form.add_error(None, exc.message)
        return _detail_page(request, referral, form=form, status=422)
    if already:
        messages.info(request, f"This referral was already recorded: {target.label}")
    elif confirm:
        messages.success(request, f"{referral.victim_name} is referred to MARAC")
    else:
        messages.success(request, f"Recorded that {referral.victim_name} is not referred to MARAC")
    return redirect("risk:referral_detail", referral_id=referral.pk)
