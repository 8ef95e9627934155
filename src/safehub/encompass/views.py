"""The Operation Encompass pages: a lead's notices, one notice, its acknowledgment."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from safehub.accounts.permissions import user_can
from safehub.accounts.permissions import user_can as hub_user_can
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core import clock
from safehub.core.errors import Conflict, NotFound, PermissionDenied
from safehub.encompass.models import EncompassNotice, NoticeStatus
from safehub.encompass.selectors import encompass_notice_get, encompass_notice_list
from safehub.encompass.services import encompass_acknowledge

PAGE_SIZE = 50


def _notice_or_404(request: HttpRequest, notice_id: object) -> EncompassNotice:
    try:
        return encompass_notice_get(fetched_by=request.user, notice_id=str(notice_id))  # type: ignore[arg-type]
    except NotFound:
        raise Http404("No such notice") from None


def _can_acknowledge(request: HttpRequest, notice: EncompassNotice) -> bool:
    return (
        user_can(request.user, "encompass.acknowledge")
        and notice.recipient_id is not None
        and notice.recipient_id == getattr(request.user, "agency_id", None)
        and notice.status in (NoticeStatus.QUEUED, NoticeStatus.SENT)
    )


def _base_context(request: HttpRequest) -> dict[str, object]:
    # Hub staff keep the hub's navigation; a school's lead sees only what is theirs.
    return {"hub_navigation": hub_user_can(request.user, "contact.view")}


@login_required
@require_GET
def notice_list(request: HttpRequest) -> HttpResponse:
    if not user_can(request.user, "encompass.view"):
        return render(request, "403.html", status=403)
    now = clock.now()
    notices = encompass_notice_list(fetched_by=request.user, now=now)  # type: ignore[arg-type]
    page = Paginator(notices, PAGE_SIZE).get_page(request.GET.get("page"))
    with transaction.atomic():
        audit_record(
            actor=request.user,
            action=Action.VIEW,
            object_type="encompass.notice_list",
            object_id=str(getattr(request.user, "agency_id", "") or ""),
            detail={"page": page.number, "shown": [str(n.pk) for n in page]},
        )
    return render(
        request,
        "encompass/notice_list.html",
        {**_base_context(request), "page": page},
    )


def _render_detail(
    request: HttpRequest, notice: EncompassNotice, *, status: int = 200
) -> HttpResponse:
    now = clock.now()
    return render(
        request,
        "encompass/notice_detail.html",
        {
            **_base_context(request),
            "notice": notice,
            "rows": notice.subset_rows(),
            "overdue": notice.is_overdue(now),
            "can_acknowledge": _can_acknowledge(request, notice),
        },
        status=status,
    )


@login_required
@require_GET
def notice_detail(request: HttpRequest, notice_id: object) -> HttpResponse:
    notice = _notice_or_404(request, notice_id)
    with transaction.atomic():
        audit_record(
            actor=request.user,
            action=Action.VIEW,
            obj=notice,
            detail={"status": notice.status, "fields_shown": "encompass_subset"},
        )
    return _render_detail(request, notice)


@login_required
@require_POST
def notice_acknowledge(request: HttpRequest, notice_id: object) -> HttpResponse:
    notice = _notice_or_404(request, notice_id)
    already = notice.status == NoticeStatus.ACKNOWLEDGED
    try:
        notice = encompass_acknowledge(notice=notice, acknowledged_by=request.user)  # type: ignore[arg-type]
    except NotFound:
        raise Http404("No such notice") from None
    except PermissionDenied:
        return render(request, "403.html", status=403)
    except Conflict as exc:
        messages.error(request, exc.message)
        return _render_detail(request, notice, status=409)
    if already:
        messages.info(request, "This notice was already acknowledged")
    else:
        messages.success(request, "Notice acknowledged")
    return redirect("encompass:notice_detail", notice_id=notice.pk)
