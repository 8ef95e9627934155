"""Writes on contacts: opening them from notifications and manual contacts, routing them."""

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from safehub.accounts.models import Agency, AgencyKind, User
from safehub.accounts.permissions import require
from safehub.accounts.selectors import councils_for_district, reference_prefetch, school_by_urn
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core import clock
from safehub.core.errors import Conflict, DomainError, NotFound
from safehub.core.outbox import outbox_enqueue
from safehub.core.postcodes import postcode_district, postcode_normalise
from safehub.intake.models import Notification
from safehub.intake.validation import Address, NotificationBody, Person
from safehub.people.services import contact_person_index
from safehub.referrals.models import Contact, ReferralSource, Routing, contact_child_key
from safehub.referrals.selectors import contacts_in_scope
from safehub.timescales.calendar import working_days_due
from safehub.timescales.clocks import clock_start, clocks_stop
from safehub.timescales.models import Clock, ClockKind


def contact_route_for(*, postcode: str | None) -> tuple[Agency | None, str]:
    """The council that serves a postcode, and how it was found. Never guesses: a district split
    between councils, or one the hub does not serve, is left for a person to route."""
    if not postcode:
        return None, Routing.NO_ADDRESS
    councils = councils_for_district(district=postcode_district(postcode))
    if len(councils) == 1:
        return councils[0], Routing.ROUTED
    if len(councils) > 1:
        return None, Routing.SPLIT_DISTRICT
    return None, Routing.UNKNOWN_POSTCODE


def _child_address(child: Person, incident: Address) -> Address | None:
    if child.address is not None:
        return child.address
    if child.lives_at_incident_address is False:
        return None
    return incident


def _child_fields(child: Person, body: NotificationBody) -> dict[str, Any]:
    address = _child_address(child, body.incident_address)
    council, routing = contact_route_for(postcode=address.postcode if address else None)
    school = school_by_urn(urn=child.school_urn) if child.school_urn else None
    return {
        "given_names": child.given_names,
        "family_name": child.family_name,
        "date_of_birth": child.date_of_birth,
        "child_key": contact_child_key(child.given_names, child.family_name, child.date_of_birth),
        "age_estimate": child.age_estimate,
        "unborn": child.unborn,
        "expected_date_of_birth": child.expected_date_of_birth,
        "sex": child.sex or "",
        "address": address.model_dump(mode="json") if address else {},
        "postcode": address.postcode if address else "",
        "school": school,
        "school_urn": child.school_urn or "",
        "present_at_incident": child.present_at_incident,
        "witnessed": child.witnessed,
        "injured": child.injured,
        "local_authority": council,
        "routing": routing,
    }


def contacts_for_notification(
    *, notification: Notification, body: NotificationBody, version: int, received_at: dt.datetime
) -> list[Contact]:
    """One contact per child (unborn children included), each routed to the child's council;
    built, not saved."""
    return [
        Contact(
            notification=notification,
            notification_version=version,
            child_ref=child.ref,
            received_at=received_at,
            incident_at=body.occurred_at,
            referral_source=ReferralSource.POLICE,
            police_grade=body.risk.officer_grade,
            **_child_fields(child, body),
        )
        for child in body.people
        if child.role == "child"
    ]


def contacts_prefetch_reference(bodies: Iterable[NotificationBody]) -> None:
    """Within `reference_cache()`: load, in two queries, the councils and schools that opening the
    contacts of all these notifications will look up."""
    districts: set[str] = set()
    urns: set[str] = set()
    for body in bodies:
        for child in body.people:
            if child.role != "child":
                continue
            address = _child_address(child, body.incident_address)
            if address is not None and address.postcode:
                districts.add(postcode_district(address.postcode))
            if child.school_urn:
                urns.add(child.school_urn)
    reference_prefetch(districts=districts, school_urns=urns)


def contacts_update_for_notification(
    *, notification: Notification, body: NotificationBody, version: int
) -> tuple[list[Contact], list[Contact]]:
    """An amended notification: bring each child's contact up to the new version, open contacts
    for children named for the first time, and tell each allocated worker. Contacts a person has
    already routed keep their council. Returns (updated, opened)."""
    existing = {c.child_ref: c for c in notification.contacts.select_for_update()}
    updated, opened = [], []
    for child in body.people:
        if child.role != "child":
            continue
        fields = _child_fields(child, body)
        contact = existing.get(child.ref)
        if contact is None:
            opened.extend(
                Contact.objects.bulk_create(
                    [
                        Contact(
                            notification=notification,
                            notification_version=version,
                            child_ref=child.ref,
                            received_at=clock.now(),
                            incident_at=body.occurred_at,
                            referral_source=ReferralSource.POLICE,
                            police_grade=body.risk.officer_grade,
                            **fields,
                        )
                    ]
                )
            )
            continue
        new_council = fields["local_authority"]
        keep_council = contact.routing == Routing.ROUTED_BY_PERSON or (
            contact.assigned_to_id is not None and new_council != contact.local_authority
        )
        if keep_council:
            # A person routed it, or a worker holds it: the move is theirs to make.
            fields.pop("local_authority")
            fields.pop("routing")
            contact.reroute_to = new_council if new_council != contact.local_authority else None
        council_before = contact.local_authority_id
        for name, value in fields.items():
            setattr(contact, name, value)
        if contact.local_authority_id != council_before:
            # The clocks carry the contact's council (the dashboard counts them by it).
            Clock.objects.filter(contact=contact).update(
                local_authority_id=contact.local_authority_id
            )
        contact.notification_version = version
        contact.withdrawn_in_version = None
        contact.police_grade = body.risk.officer_grade
        contact.incident_at = body.occurred_at
        contact.save()
        updated.append(contact)
        _tell_allocated_worker(contact, notification, version, "concerns a child")
    named = {child.ref for child in body.people if child.role == "child"}
    for ref, contact in existing.items():
        if ref not in named and contact.withdrawn_in_version is None:
            contact.withdrawn_in_version = version
            # No deadline runs on a child the police no longer name; the flag asks a person to
            # look (the Encompass notice, if any, went already).
            clocks_stop(
                contact_id=contact.pk,
                kinds=[k for k in ClockKind.values if k != ClockKind.ENCOMPASS],
                reason=f"No longer named in version {version} of the notification",
                at=clock.now(),
            )
            contact.next_due_at = None
            contact.save(update_fields=["withdrawn_in_version", "next_due_at"])
            _tell_allocated_worker(contact, notification, version, "no longer names a child")
    return updated, opened


def _tell_allocated_worker(
    contact: Contact, notification: Notification, version: int, what: str
) -> None:
    """E-mail the worker holding a contact that a notification changed under them. The e-mail
    names no one: it says where to look."""
    if contact.assigned_to is None or not contact.assigned_to.email:
        return
    outbox_enqueue(
        recipients=[contact.assigned_to.email],
        subject=f"Police notification {notification.incident_reference} was amended",
        body=(
            f"The police sent version {version} of notification "
            f"{notification.force_code} {notification.incident_reference}, which {what} whose "
            "contact is allocated to you. Open the contact in safehub to see what changed.\n\n"
            f"Contact reference: {contact.pk}\n"
        ),
        reason="notification_amended",
        obj=contact,
    )


MANUAL_SOURCES = [choice for choice in ReferralSource.choices if choice[0] != ReferralSource.POLICE]


def contact_create_manual(
    *,
    created_by: User,
    referral_source: str,
    referrer_name: str,
    referrer_organisation: str,
    referrer_contact: str,
    reason: str,
    given_names: str,
    family_name: str,
    date_of_birth: dt.date | None,
    age_estimate: int | None,
    sex: str,
    address_line1: str,
    town: str,
    postcode: str,
    school_urn: str,
) -> Contact:
    """A contact from a source other than the police: a school, a GP, a neighbour, anonymous."""
    require(created_by, "contact.create")
    if referral_source not in ReferralSource.values or referral_source == ReferralSource.POLICE:
        raise DomainError("referral_source: police contacts arrive as notifications")
    normalised = postcode_normalise(postcode) if postcode else None
    if postcode and normalised is None:
        raise DomainError("postcode: not a UK postcode")
    council, routing = contact_route_for(postcode=normalised)
    if (
        council is None
        and created_by.agency
        and created_by.agency.kind == AgencyKind.CHILDREN_SERVICES
    ):
        # The worker taking the call belongs to a council: it is theirs until a person re-routes.
        council, routing = created_by.agency, Routing.ROUTED_BY_PERSON
    now = clock.now()
    # Not rated (the RAG rules read a police notification): screened within one working day of
    # receipt, as Working Together asks of every contact (T1).
    due = working_days_due(now, 1)
    with transaction.atomic():
        contact = Contact.objects.create(
            received_at=now,
            due_at=due,
            next_due_at=due,
            referral_source=referral_source,
            referrer_name=referrer_name,
            referrer_organisation=referrer_organisation,
            referrer_contact=referrer_contact,
            reason=reason,
            given_names=given_names,
            family_name=family_name,
            date_of_birth=date_of_birth,
            age_estimate=age_estimate,
            sex=sex,
            address={"line1": address_line1, "town": town, "postcode": normalised or ""},
            postcode=normalised or "",
            school=school_by_urn(urn=school_urn) if school_urn else None,
            school_urn=school_urn,
            local_authority=council,
            routing=routing,
            created_by=created_by,
        )
        clock_start(
            contact=contact,
            kind=ClockKind.SCREENING,
            started_at=now,
            due_at=due,
            rule="Not rated: by the end of the 1st working day after the day of receipt",
        )
        contact_person_index(contact=contact, now=now)
        audit_record(
            actor=created_by,
            action=Action.CREATE,
            obj=contact,
            detail={"referral_source": referral_source},
        )
    return contact


def contact_route(*, contact: Contact, routed_by: User, council: Agency, reason: str) -> Contact:
    """A person sends an unrouted contact (or a wrongly routed one) to a council."""
    require(routed_by, "contact.route")
    if council.kind != AgencyKind.CHILDREN_SERVICES:
        raise DomainError("council: not a council's children's services")
    if not reason.strip():
        raise DomainError("reason: say why this council")
    # The service checks the scope itself, as the workflow's do (referrals.decisions): outside
    # it (another council's contact, even one read under break-glass) is 'not found'.
    if not contacts_in_scope(fetched_by=routed_by).filter(pk=contact.pk).exists():
        raise NotFound("No such contact.")
    with transaction.atomic():
        locked = Contact.objects.select_for_update().filter(pk=contact.pk).first()
        if locked is None:
            raise NotFound("No such contact.")
        if locked.local_authority_id == council.pk:
            return locked
        if locked.assigned_to_id is not None:
            raise Conflict("The contact is allocated: return it before routing it elsewhere.")
        previous = locked.local_authority.la_code if locked.local_authority else None
        locked.local_authority = council
        locked.routing = Routing.ROUTED_BY_PERSON
        locked.save(update_fields=["local_authority", "routing"])
        Clock.objects.filter(contact=locked).update(local_authority=council)
        audit_record(
            actor=routed_by,
            action=Action.UPDATE,
            obj=locked,
            detail={"routed_from": previous, "routed_to": council.la_code, "reason": reason},
        )
    return locked
