import datetime as dt

from django.db.models import Q, QuerySet

from safehub.accounts.models import User
from safehub.accounts.permissions import user_can
from safehub.core import clock
from safehub.sharing.models import SharingDecision


def sharing_decisions_for(
    *, fetched_by: User, start: dt.date | None = None, end: dt.date | None = None
) -> QuerySet[SharingDecision]:
    """The sharing decisions made by, to, or about a child of, the asker's agency; in [start,
    end) by London date when given."""
    decisions = SharingDecision.objects.select_related(
        "from_agency", "recipient_agency", "contact", "discussion"
    )
    agency = fetched_by.agency
    if agency is None or not user_can(fetched_by, "sharing.view"):
        return decisions.none()
    decisions = decisions.filter(
        Q(from_agency=agency) | Q(recipient_agency=agency) | Q(contact__local_authority=agency)
    )
    if start is not None:
        lo = dt.datetime.combine(start, dt.time.min, tzinfo=clock.LONDON)
        decisions = decisions.filter(at__gte=lo)
    if end is not None:
        hi = dt.datetime.combine(end, dt.time.min, tzinfo=clock.LONDON)
        decisions = decisions.filter(at__lt=hi)
    return decisions.order_by("-at", "-id")
