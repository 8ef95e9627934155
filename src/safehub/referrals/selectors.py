"""Reads of contacts, always scoped to the person who asks. Lists and single contacts use the
same scope, so a list can never show what a contact page would refuse."""

import datetime as dt
import uuid
from typing import Any

from django.db.models import Count, F, Q, QuerySet

from safehub.accounts.models import AgencyKind, User
from safehub.accounts.permissions import user_can
from safehub.core import clock
from safehub.core.errors import NotFound
from safehub.referrals.models import AccessGrant, Contact, ContactStatus, Decision, SignOff


def contacts_in_scope(*, fetched_by: User) -> QuerySet[Contact]:
    """Hub staff see their own council's contacts (managers also the ones waiting to be routed);
    police hub officers see the contacts from their force's notifications. Nobody else."""
    contacts = Contact.objects.select_related("local_authority", "notification", "school")
    agency = fetched_by.agency
    if agency is None or not user_can(fetched_by, "contact.view"):
        return contacts.none()
    if agency.kind == AgencyKind.CHILDREN_SERVICES:
        scope = Q(local_authority=agency)
        if user_can(fetched_by, "contact.route"):
            scope |= Q(local_authority__isnull=True)
        return contacts.filter(scope)
    if agency.kind == AgencyKind.POLICE_FORCE:
        return contacts.filter(notification__force=agency)
    return contacts.none()


def contact_queue(
    *,
    fetched_by: User,
    unrouted: bool = False,
    rag: str = "",
    status: str = "",
    worker: str = "",
    overdue: bool = False,
    now: dt.datetime | None = None,
) -> QuerySet[Contact]:
    """The triage queue: the asker's contacts ordered by their soonest running deadline (then
    the oldest first; contacts with no deadline last), with its filters:

    - `rag`: red, amber, green, or "none" (not rated);
    - `status`: a contact status, "open" (any but closed: the default) or "all";
    - `worker`: "me", "nobody" (unclaimed), or a user's id;
    - `overdue`: only contacts with an open deadline already passed.
    """
    contacts = contacts_in_scope(fetched_by=fetched_by).select_related("assigned_to")
    if unrouted:
        contacts = contacts.filter(local_authority__isnull=True)
    if rag == "none":
        contacts = contacts.filter(rag="")
    elif rag:
        contacts = contacts.filter(rag=rag)
    if status in ("", "open"):
        contacts = contacts.exclude(status=ContactStatus.CLOSED)
    elif status != "all":
        contacts = contacts.filter(status=status)
    if worker == "me":
        contacts = contacts.filter(assigned_to=fetched_by)
    elif worker == "nobody":
        contacts = contacts.filter(assigned_to__isnull=True)
    elif worker.isdigit():
        contacts = contacts.filter(assigned_to_id=int(worker))
    if overdue:
        contacts = contacts.filter(next_due_at__lt=now or clock.now())
    return contacts.order_by(F("next_due_at").asc(nulls_last=True), "received_at", "id")


def council_workers(*, fetched_by: User) -> list[User]:
    """The people of the asker's council who screen contacts: whom a contact can be given to."""
    agency = fetched_by.agency
    if agency is None or agency.kind != AgencyKind.CHILDREN_SERVICES:
        return []
    return [
        user
        for user in User.objects.filter(agency=agency, is_active=True).order_by(
            "first_name", "last_name", "username"
        )
        if user_can(user, "contact.decide")
    ]


def contact_get(*, fetched_by: User, contact_id: str | uuid.UUID) -> Contact:
    """One contact in the asker's scope; anything else is 'not found', never 'forbidden'."""
    try:
        key = uuid.UUID(str(contact_id))
    except ValueError:
        raise NotFound("No such contact.") from None
    contact = contacts_in_scope(fetched_by=fetched_by).filter(pk=key).first()
    if contact is None:
        raise NotFound("No such contact.")
    return contact


def access_grants_live(*, user: User, now: dt.datetime | None = None) -> QuerySet[AccessGrant]:
    """The user's break-glass grants that still run. None once the user no longer holds the
    permission: a grant never outlives the role that asked for it."""
    if not user_can(user, "contact.break_glass") or not user_can(user, "contact.view"):
        return AccessGrant.objects.none()
    now = now or clock.now()
    return AccessGrant.objects.filter(user=user, granted_at__lte=now, expires_at__gt=now)


def contacts_readable(*, fetched_by: User, now: dt.datetime | None = None) -> QuerySet[Contact]:
    """The contacts whose page the asker may read: their scope (`contacts_in_scope`), and the
    contacts of another council they hold a live break-glass grant for.

    For the contact page only. Everything that acts on a contact (take, decide, sign off,
    return, route, reassign) and every list keeps `contacts_in_scope`: a grant lets a worker read
    another council's record, never work it or browse that council's queue."""
    own = contacts_in_scope(fetched_by=fetched_by)
    granted = access_grants_live(user=fetched_by, now=now).values("contact_id")
    return Contact.objects.select_related("local_authority", "notification", "school").filter(
        Q(pk__in=own.values("pk")) | Q(pk__in=granted)
    )


def contact_get_readable(
    *, fetched_by: User, contact_id: str | uuid.UUID, now: dt.datetime | None = None
) -> tuple[Contact, AccessGrant | None]:
    """One contact for its page, and the break-glass grant it is read under (None: in the
    asker's own scope). Outside both, 'not found', as `contact_get`."""
    try:
        key = uuid.UUID(str(contact_id))
    except ValueError:
        raise NotFound("No such contact.") from None
    now = now or clock.now()
    contact = contacts_readable(fetched_by=fetched_by, now=now).filter(pk=key).first()
    if contact is None:
        raise NotFound("No such contact.")
    if contacts_in_scope(fetched_by=fetched_by).filter(pk=key).exists():
        return contact, None
    grant = (
        access_grants_live(user=fetched_by, now=now)
        .filter(contact_id=key)
        .select_related("owner")
        .order_by("-expires_at", "-id")
        .first()
    )
    if grant is None:  # ran out between the two reads
        raise NotFound("No such contact.")
    return contact, grant


def break_glass_openings(
    *, fetched_by: User, days: int = 30, now: dt.datetime | None = None
) -> QuerySet[AccessGrant]:
    """The break-glass grants made by the people of the asker's agency in the last `days` days,
    newest first: for the team's managers (and auditors) to review."""
    agency = fetched_by.agency
    if agency is None or not user_can(fetched_by, "contact.break_glass_review"):
        return AccessGrant.objects.none()
    since = (now or clock.now()) - dt.timedelta(days=days)
    return (
        AccessGrant.objects.filter(agency=agency, granted_at__gte=since)
        .select_related("user", "owner", "contact__notification")
        .order_by("-granted_at", "-id")
    )


def decisions_awaiting_sign_off(*, fetched_by: User) -> QuerySet[Decision]:
    """Decisions a manager has still to sign off or return, oldest first, over the contacts the
    asker may see."""
    return (
        Decision.objects.filter(
            sign_off=SignOff.AWAITING_SIGN_OFF,
            contact__in=contacts_in_scope(fetched_by=fetched_by).values("pk"),
        )
        .select_related("contact", "decided_by")
        .order_by("decided_at", "id")
    )


def contact_counts_by_status(*, fetched_by: User) -> dict[str, int]:
    """How many contacts in the asker's scope stand in each status (every status, zeros too)."""
    counts = dict.fromkeys(ContactStatus.values, 0)
    rows = (
        contacts_in_scope(fetched_by=fetched_by).order_by().values("status").annotate(n=Count("pk"))
    )
    for row in rows:
        counts[row["status"]] = row["n"]
    return counts


def contacts_for_access_review(*, fetched_by: User) -> QuerySet[Contact]:
    """The contacts whose "who has seen this record" the asker may read: a hub manager's or an
    auditor's own council's. An auditor sees the log and who the child is, not the record."""
    agency = fetched_by.agency
    if (
        agency is None
        or agency.kind != AgencyKind.CHILDREN_SERVICES
        or not user_can(fetched_by, "contact.view_access")
    ):
        return Contact.objects.none()
    return Contact.objects.select_related("local_authority", "notification").filter(
        local_authority=agency
    )


def contact_access_events(*, contact: Contact, limit: int) -> list[dict[str, Any]]:
    """Every opening of the child's record, newest first: the contact, its police notification,
    and the strategy discussions about the child."""
    from safehub.audit.models import Action, AuditEvent
    from safehub.meetings.models import DiscussionChild

    opened = Q(object_type="referrals.contact", object_id=str(contact.pk))
    if contact.notification_id is not None:
        opened |= Q(object_type="intake.notification", object_id=str(contact.notification_id))
    discussions = [
        str(pk)
        for pk in DiscussionChild.objects.filter(contact=contact).values_list(
            "discussion_id", flat=True
        )
    ]
    if discussions:
        opened |= Q(object_type="meetings.strategydiscussion", object_id__in=discussions)
    rows = (
        AuditEvent.objects.filter(opened, action=Action.VIEW)
        .order_by("-at", "-id")
        .values("at", "actor", "agency__name", "role", "purpose", "object_type")[:limit]
    )
    return [dict(row) for row in rows]
