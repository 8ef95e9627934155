"""Break-glass: a hub worker opens a contact held by another council, for reading only.

A family moves from Liverpool to Wirral and Wirral's hub takes the call while the child's contact
is in Liverpool's records. The worker may open it, but only by its exact reference (the contact's
reference, or the police force and incident reference: no search, no browsing another council's
queue), saying why (a purpose from a fixed list, and a reason in words). The opening:

- grants the worker leave to read that contact's page for `SAFEHUB_BREAK_GLASS_HOURS` hours (an
  `AccessGrant`): never to decide, route or reassign it, which keep the council's scope;
- is recorded in the audit log, with its purpose (and every page view under it too);
- is e-mailed, once per grant and not per page view, to the worker's hub managers and to the
  owning council's duty inbox: who, when, which record (by reference: no child's name) and why.

A reference that names a contact the worker's own council holds opens it as usual, without a
grant. A reference that names nothing the worker may open this way (no such record, a contact no
council holds yet) is refused with one message, which does not tell the two apart.
"""

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse

from safehub.accounts.models import Agency, AgencyKind, Role, User
from safehub.accounts.permissions import require
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core import clock
from safehub.core.errors import DomainError, NotFound, PermissionDenied
from safehub.core.outbox import outbox_enqueue
from safehub.referrals.models import AccessGrant, BreakGlassPurpose, Contact
from safehub.referrals.selectors import access_grants_live, contacts_in_scope

DEFAULT_HOURS = 4

NOT_FOUND = {
    "contact_reference": (
        "contact_reference: no record you can open has this contact reference: check it with "
        "whoever gave it to you"
    ),
    "incident_reference": (
        "incident_reference: no record you can open has this police incident reference: check "
        "the force and the reference with whoever gave them to you"
    ),
}


def break_glass_hours() -> int:
    """How long a grant runs: `SAFEHUB_BREAK_GLASS_HOURS`, 4 unless set."""
    return int(getattr(settings, "SAFEHUB_BREAK_GLASS_HOURS", DEFAULT_HOURS))


def break_glass_purpose_text(purpose: str) -> str:
    """What the audit event's `purpose` says: "Break-glass: Child moved into our area"."""
    return f"Break-glass: {BreakGlassPurpose(purpose).label}"


@dataclass(frozen=True)
class BreakGlassOpening:
    """What a break-glass request opened: the grants it runs under (new, or still running from
    an earlier request), or the asker's own council's contact the reference named (no grant)."""

    grants: list[AccessGrant] = field(default_factory=list)
    own: Contact | None = None


def _candidates(
    *, contact_reference: str, force_code: str, incident_reference: str
) -> tuple[str, str, QuerySet[Contact]]:
    """(the form field the reference came in, the reference as recorded, the contacts it names).
    Exact references only: a contact's own reference, or a force's incident reference."""
    contact_reference = contact_reference.strip()
    force_code = force_code.strip().upper()
    incident_reference = incident_reference.strip()
    if contact_reference and (force_code or incident_reference):
        raise DomainError(
            "contact_reference: enter a contact reference or a police incident reference, not both"
        )
    if contact_reference:
        try:
            key = uuid.UUID(contact_reference)
        except ValueError:
            raise DomainError(
                "contact_reference: enter the contact reference as it was given, like "
                "0b9c6f2e-4d1a-4c53-9a57-2f1f0d3c8e41"
            ) from None
        return "contact_reference", str(key), Contact.objects.filter(pk=key)
    if not force_code and not incident_reference:
        raise DomainError(
            "contact_reference: enter the contact reference, or the police force and the "
            "incident reference"
        )
    if not force_code:
        raise DomainError("force_code: choose the police force whose incident reference it is")
    if not incident_reference:
        raise DomainError("incident_reference: enter the police incident reference")
    # Exact, as the force wrote it; a reference typed in lower case finds an upper-case one.
    written = {incident_reference, incident_reference.upper()}
    contacts = Contact.objects.filter(
        notification__force_code=force_code, notification__incident_reference__in=written
    )
    return "incident_reference", f"{force_code} {incident_reference}", contacts


def contact_break_glass(
    *,
    opened_by: User,
    purpose: str,
    reason: str,
    contact_reference: str = "",
    force_code: str = "",
    incident_reference: str = "",
) -> BreakGlassOpening:
    """Open the contacts of another council that an exact reference names, for reading, with a
    purpose and a reason. An incident reference opens every child of that incident held by
    another council (the contact page shows the whole notification, which names them all).

    Refusals are domain errors naming the form field first ("incident_reference: …"). Every
    lookup is audited, those that find nothing too: a worker trying references is on record."""
    require(opened_by, "contact.break_glass")
    agency = opened_by.agency
    if agency is None or agency.kind != AgencyKind.CHILDREN_SERVICES:
        raise PermissionDenied("Only a council's hub staff open another council's record.")
    if purpose not in BreakGlassPurpose.values:
        raise DomainError("purpose: choose why you need the record")
    reason = reason.strip()
    if not reason:
        raise DomainError("reason: say why you need this record")
    where, reference, candidates = _candidates(
        contact_reference=contact_reference,
        force_code=force_code,
        incident_reference=incident_reference,
    )
    purpose_text = break_glass_purpose_text(purpose)
    now = clock.now()
    theirs: list[Contact] = []
    with transaction.atomic():
        # One request at a time per person, so that a double click makes one grant and one
        # e-mail of each kind.
        User.objects.select_for_update().filter(pk=opened_by.pk).first()
        theirs = list(
            candidates.filter(local_authority__kind=AgencyKind.CHILDREN_SERVICES)
            .exclude(local_authority=agency)
            .select_related("local_authority", "notification")
            .order_by("child_ref", "received_at", "pk")
        )
        own = None
        if not theirs:
            own = (
                contacts_in_scope(fetched_by=opened_by)
                .filter(pk__in=candidates.values("pk"))
                .order_by("child_ref", "received_at", "pk")
                .first()
            )
        grants, new = [], []
        live = access_grants_live(user=opened_by, now=now)
        for contact in theirs:
            grant = live.filter(contact=contact).order_by("-expires_at", "-id").first()
            if grant is None:
                assert contact.local_authority is not None
                grant = AccessGrant.objects.create(
                    user=opened_by,
                    agency=agency,
                    owner=contact.local_authority,
                    contact=contact,
                    reference=reference[:100],
                    purpose=purpose,
                    reason=reason,
                    granted_at=now,
                    expires_at=now + dt.timedelta(hours=break_glass_hours()),
                )
                new.append(grant)
                audit_record(
                    actor=opened_by,
                    action=Action.CREATE,
                    obj=grant,
                    purpose=purpose_text,
                    detail={
                        "break_glass": True,
                        "contact": str(contact.pk),
                        "owner": contact.local_authority.code,
                        "reference": reference,
                        "purpose": purpose,
                        "reason": reason,
                        "expires_at": grant.expires_at.isoformat(),
                    },
                )
            grants.append(grant)
        if theirs:
            found = "another_council"
        elif own is not None:
            found = "own_council"
        else:
            found = "nothing"
        audit_record(
            actor=opened_by,
            action=Action.SEARCH,
            object_type="referrals.break_glass",
            object_id=reference[:64],
            purpose=purpose_text,
            detail={
                "break_glass": True,
                "by": where,
                "found": found,
                "contacts": [str(c.pk) for c in theirs] or ([str(own.pk)] if own else []),
                "new_grants": [g.pk for g in new],
                "running_grants": [g.pk for g in grants if g not in new],
                "purpose": purpose,
                "reason": reason,
            },
        )
        if new:
            _tell(opened_by=opened_by, grants=new)
    if not theirs and own is None:
        # After the transaction: the refused lookup stays on record.
        raise NotFound(NOT_FOUND[where])
    return BreakGlassOpening(grants=grants, own=own)


def _when(at: dt.datetime) -> str:
    local = at.astimezone(clock.LONDON)
    return f"{local.day} {local:%B %Y at %H:%M}"


def _records(grants: list[AccessGrant]) -> str:
    lines = []
    for grant in grants:
        contact = grant.contact
        line = f"- contact {contact.pk}, held by {grant.owner.name}"
        if contact.notification is not None:
            line += (
                f" (police notification {contact.notification.force_code} "
                f"{contact.notification.incident_reference})"
            )
        lines.append(line)
    return "\n".join(lines)


def _tell(*, opened_by: User, grants: list[AccessGrant]) -> None:
    """E-mail the opener's hub managers (not the opener) and each owning council's duty inbox,
    once for the grants of one request. Subjects carry references, never a child's name."""
    agency = opened_by.agency
    assert agency is not None
    first = grants[0]
    who = f"{opened_by.display_name} ({opened_by.get_username()}, {agency.name})"
    base = settings.SAFEHUB_BASE_URL.rstrip("/")
    facts = (
        f"When: {_when(first.granted_at)}\n"
        f"Found by the reference: {first.reference}\n"
        f"Purpose: {first.get_purpose_display()}\n"
        f"Reason: {first.reason}\n"
        f"Access to read until: {_when(first.expires_at)}\n"
    )
    managers = [
        user
        for user in User.objects.filter(agency=agency, is_active=True)
        .exclude(pk=opened_by.pk)
        .order_by("username")
        if user.has_role(Role.HUB_MANAGER) and user.email
    ]
    if managers:
        outbox_enqueue(
            recipients=[user.email for user in managers],
            subject=f"Break-glass: {opened_by.display_name} opened record {first.reference}",
            body=(
                f"{who} opened another council's record in safehub under break-glass.\n\n"
                f"{facts}"
                f"Record{'s' if len(grants) > 1 else ''}:\n{_records(grants)}\n\n"
                "The opening is in the audit log, and the council that holds the record has "
                "been told. Your team's break-glass openings of the last 30 days: "
                f"{base}{reverse('referrals:break_glass_openings')}\n"
            ),
            reason="break_glass_manager",
            obj=first,
        )
    by_owner: dict[Agency, list[AccessGrant]] = defaultdict(list)
    for grant in grants:
        by_owner[grant.owner].append(grant)
    for owner, owned in by_owner.items():
        if not owner.email:
            continue
        links = "\n".join(
            f"{base}{reverse('referrals:contact_detail', args=[g.contact_id])}" for g in owned
        )
        outbox_enqueue(
            recipients=[owner.email],
            subject=(
                f"Break-glass: {agency.name} opened your council's record {owned[0].reference}"
            ),
            body=(
                f"{who} opened a record your council holds, in safehub, under break-glass.\n\n"
                f"{facts}"
                f"Record{'s' if len(owned) > 1 else ''}:\n{_records(owned)}\n\n"
                "They may read it, and nothing more, until the time above. The opening is in "
                "the record's access log:\n"
                f"{links}\n"
            ),
            reason="break_glass_owner",
            obj=owned[0],
        )
        for grant in owned:
            grant.owner_told = owner.email
    told = [user.get_username() for user in managers]
    for grant in grants:
        grant.managers_told = told
        grant.save(update_fields=["managers_told", "owner_told"])
