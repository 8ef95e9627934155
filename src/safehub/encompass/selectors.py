"""Reads of Encompass notices, scoped to the person who asks. The list and the notice page use
the same scope, so a list can never show what a notice page would refuse."""

import datetime as dt
import uuid

from django.db.models import Case, IntegerField, QuerySet, Value, When

from safehub.accounts.models import AgencyKind, User
from safehub.accounts.permissions import user_can
from safehub.core.errors import NotFound
from safehub.encompass.models import EncompassNotice, NoticeStatus, overdue_q
from safehub.referrals.selectors import contacts_in_scope


def encompass_notices_for(*, fetched_by: User) -> QuerySet[EncompassNotice]:
    """A school's safeguarding lead sees their school's notices; a council education
    safeguarding user sees their council inbox's; the hub's staff see the notices of the contacts
    they may see in their council (managers also those waiting for a council). Nobody else."""
    notices = EncompassNotice.objects.select_related(
        "recipient", "outbox_message", "acknowledged_by", "contact"
    )
    agency = fetched_by.agency
    if agency is None or not user_can(fetched_by, "encompass.view"):
        return notices.none()
    if agency.kind in (AgencyKind.SCHOOL, AgencyKind.EDUCATION_SAFEGUARDING):
        if not fetched_by.has_role("education_safeguarding_lead"):
            return notices.none()
        return notices.filter(recipient=agency)
    if agency.kind == AgencyKind.CHILDREN_SERVICES:
        return notices.filter(contact__in=contacts_in_scope(fetched_by=fetched_by))
    return notices.none()


def encompass_notice_list(*, fetched_by: User, now: dt.datetime) -> QuerySet[EncompassNotice]:
    """The notices in scope, overdue first, then the others not yet acknowledged by due time,
    then the acknowledged ones."""
    return (
        encompass_notices_for(fetched_by=fetched_by)
        .annotate(
            rank=Case(
                When(status=NoticeStatus.ACKNOWLEDGED, then=Value(2)),
                When(overdue_q(now), then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("rank", "due_at", "id")
    )


def encompass_notice_get(*, fetched_by: User, notice_id: str | uuid.UUID) -> EncompassNotice:
    """One notice in the asker's scope; anything else is 'not found', never 'forbidden'."""
    try:
        key = uuid.UUID(str(notice_id))
    except ValueError:
        raise NotFound("No such notice.") from None
    notice = encompass_notices_for(fetched_by=fetched_by).filter(pk=key).first()
    if notice is None:
        raise NotFound("No such notice.")
    return notice


def encompass_overdue(*, now: dt.datetime) -> QuerySet[EncompassNotice]:
    """Every notice due before `now` that has been neither delivered nor acknowledged: for the
    hub's alerts, not scoped to a person."""
    return (
        EncompassNotice.objects.select_related("recipient", "outbox_message", "contact")
        .filter(overdue_q(now))
        .order_by("due_at", "id")
    )
