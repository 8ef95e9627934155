"""Writes on Operation Encompass notices: opening one for a child's contact, recording its
delivery, its acknowledgment by the school's safeguarding lead.

Who receives a notice:
1. the child's school, when it is known and has a designated safeguarding lead's e-mail;
2. otherwise (no school given, a URN not in the reference data, a school without a lead's
   e-mail: children educated at home fall here too) the education safeguarding inbox of the
   child's council, or of the school's council when the child's contact is not routed yet;
3. otherwise nobody yet: the notice is kept as `unrouted`, with its due time running, so that it
   shows as overdue if nobody routes the contact in time, and `encompass_sweep` sends it as soon
   as the contact has a council. Making the notice at once, rather than when the contact is
   routed, freezes its content from the notification that was actually received and keeps the
   statutory clock visible.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse

from safehub.accounts.models import Agency, AgencyKind, User
from safehub.accounts.permissions import require
from safehub.accounts.selectors import education_inbox_for
from safehub.audit.models import Action, AuditEvent
from safehub.audit.services import audit_event_build, audit_record
from safehub.core import clock
from safehub.core.errors import Conflict, NotFound, PermissionDenied
from safehub.core.models import OutboxMessage
from safehub.core.outbox import outbox_deliver, outbox_enqueue, outbox_message_build
from safehub.encompass.models import (
    ALLOWED_PREVIOUS,
    EncompassNotice,
    NoticeStatus,
    NoticeStatusChange,
    RecipientReason,
)
from safehub.encompass.selectors import encompass_notices_for
from safehub.intake.validation import NotificationBody, Person
from safehub.referrals.models import Contact
from safehub.sharing.models import Consent, LawfulBasis, SharingDecision, SharingKind
from safehub.sharing.services import sharing_decision_build
from safehub.timescales.calendar import encompass_due
from safehub.timescales.clocks import clock_meet
from safehub.timescales.models import ClockKind

# Reception to year 13: aged 4 to 17 on the day of the incident (statutory.md §3).
SCHOOL_AGE_FIRST, SCHOOL_AGE_LAST = 4, 17

SYSTEM_ACTOR = "safehub: Operation Encompass"
PURPOSE = "Operation Encompass: so that the school can support the child"
LAWFUL_BASIS = "DA Act 2021 s.49A / Children Act 2004 s.11 — public task"
DATA_PROTECTION_BASIS = (
    "UK GDPR art. 6(1)(e) public task; DPA 2018 Sch. 1 para 18, safeguarding of children"
)
# What leaves safehub in a notice, by name: the SharingDecision's "what fields" (§7.2).
FIELDS_SHARED = [
    "child.given_names",
    "child.family_name",
    "child.date_of_birth",
    "child.age_estimate",
    "police_reference",
    "occurred_at",
    "incident_address.line1",
    "incident_address.town",
    "incident_address.postcode",
    "present_at_incident",
    "voice_of_child",
]


def _age_on(born: dt.date, day: dt.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def encompass_is_school_age(
    *, date_of_birth: dt.date | None, age_estimate: int | None, unborn: bool, on: dt.date
) -> bool:
    """Whether a child is of school age (4 to 17) on the day `on`: from the date of birth, else
    from the officer's estimate. An unborn child, or one of unknown age, is not."""
    if unborn:
        return False
    if date_of_birth is not None:
        age = _age_on(date_of_birth, on)
    elif age_estimate is not None:
        age = age_estimate
    else:
        return False
    return SCHOOL_AGE_FIRST <= age <= SCHOOL_AGE_LAST


def encompass_content(*, body: NotificationBody, child: Person) -> dict[str, Any]:
    """The Encompass subset of a notification for one child, and nothing else."""
    address = body.incident_address
    return {
        "child": {
            "given_names": child.given_names,
            "family_name": child.family_name,
            "date_of_birth": child.date_of_birth.isoformat() if child.date_of_birth else None,
            "age_estimate": child.age_estimate if child.date_of_birth is None else None,
        },
        "police_reference": body.incident_reference,
        "occurred_at": body.occurred_at.astimezone(dt.UTC).isoformat(),
        "incident_address": {
            "line1": address.line1,
            "town": address.town,
            "postcode": address.postcode,
        },
        "present_at_incident": child.present_at_incident,
        "voice_of_child": child.voice_of_child,
    }


@dataclass(frozen=True)
class Recipient:
    agency: Agency | None
    email: str
    reason: RecipientReason


def encompass_recipient_for(*, contact: Contact) -> Recipient:
    """Who receives the notice for this child's contact (see the module's docstring)."""
    school = contact.school
    if (
        school is not None
        and school.kind == AgencyKind.SCHOOL
        and school.active
        and school.dsl_email
    ):
        return Recipient(school, school.dsl_email, RecipientReason.SCHOOL_DSL)
    council = contact.local_authority or (school.council if school is not None else None)
    if council is not None:
        inbox = education_inbox_for(council=council)
        if inbox is not None:
            return Recipient(inbox, inbox.email, RecipientReason.NO_KNOWN_SCHOOL)
    return Recipient(None, "", RecipientReason.UNROUTED)


def _move(
    notice: EncompassNotice,
    to: NoticeStatus,
    *,
    at: dt.datetime,
    by: User | None = None,
    note: str = "",
) -> bool:
    """Move the notice to `to` and log it. The same status again is a no-op (False); a move the
    table does not allow raises Conflict."""
    if notice.status == to:
        return False
    if notice.status not in ALLOWED_PREVIOUS.get(to, frozenset()):
        raise Conflict(
            f"A notice that is {NoticeStatus(notice.status).label.lower()} cannot become "
            f"{to.label.lower()}.",
            code="illegal_transition",
        )
    NoticeStatusChange.objects.create(
        notice=notice, at=at, from_status=notice.status, to_status=to, by=by, note=note[:300]
    )
    notice.status = to
    return True


def _link(notice: EncompassNotice) -> str:
    base = getattr(settings, "SAFEHUB_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    return base + reverse("encompass:notice_detail", args=[notice.pk])


def encompass_email(notice: EncompassNotice) -> tuple[str, str]:
    """The e-mail's subject and body: the subject names no child; the body is the Encompass
    subset and the link to acknowledge it."""
    for_school = notice.reason_for_recipient == RecipientReason.SCHOOL_DSL
    if for_school:
        subject = "Operation Encompass notice for your school: police reference "
        intro = (
            "The police attended a domestic abuse incident that may affect a child at your "
            "school. This notice is for the designated safeguarding lead (the Key Adult)."
        )
    else:
        subject = "Operation Encompass notice, no known school: police reference "
        intro = (
            "The police attended a domestic abuse incident that may affect a child of school "
            "age for whom no school is known, or who is educated at home. Please tell the "
            "child's school if you know it, or follow your procedure for children educated "
            "at home."
        )
    rows = "\n".join(f"{label}: {value}" for label, value in notice.subset_rows())
    body = (
        f"Operation Encompass notice\n\n{intro}\n\n{rows}\n\n"
        "Use this information in confidence, on a need-to-know basis, to support the child. "
        "Do not forward this e-mail.\n\n"
        f"Please confirm that you have received it, in safehub:\n{_link(notice)}\n"
    )
    return subject + notice.police_reference, body


def _sharing_detail(notice: EncompassNotice) -> dict[str, Any]:
    """The disclosure as the audit event tells it (the sharing decision is its own row too:
    `encompass_sharing_decision`)."""
    recipient = notice.recipient
    return {
        "decision": "share",
        "recipient": {
            "agency": recipient.code if recipient else None,
            "name": recipient.name if recipient else None,
            "email": notice.recipient_email,
            "reason": notice.reason_for_recipient,
        },
        "fields_shared": FIELDS_SHARED,
        "purpose": PURPOSE,
        "lawful_basis": LAWFUL_BASIS,
        "data_protection_basis": DATA_PROTECTION_BASIS,
        "consent_status": notice.consent_to_share or "not_recorded",
        "reason": (
            "A child of school age named in a police domestic abuse notification: the school "
            "is told before the next school day starts."
        ),
        "contact": str(notice.contact_id),
        "police_reference": notice.police_reference,
        "due_at": notice.due_at.isoformat(),
        "outbox_message": notice.outbox_message_id,
    }


_CONSENT = {"given": Consent.GIVEN, "refused": Consent.REFUSED, "not_sought": Consent.NOT_REQUIRED}


def encompass_sharing_decision(notice: EncompassNotice) -> SharingDecision:
    """The notice's sharing decision (statutory.md §7.2), not saved: made by safehub on the
    council's behalf, under the Encompass duty; consent is not needed for it."""
    contact = notice.contact
    return sharing_decision_build(
        by=None,
        by_name=SYSTEM_ACTOR,
        from_agency=contact.local_authority,
        shared=True,
        kind=SharingKind.ENCOMPASS,
        recipient_agency=notice.recipient,
        recipient=notice.recipient_email,
        fields=FIELDS_SHARED,
        purpose=PURPOSE,
        lawful_basis=LawfulBasis.ENCOMPASS,
        consent=_CONSENT.get(notice.consent_to_share, Consent.NOT_KNOWN),
        reason=(
            "A child of school age named in a police domestic abuse notification: the school "
            "is told before the next school day starts."
        ),
        contact=contact,
        obj=notice,
    )


def _queue_email(notice: EncompassNotice, *, now: dt.datetime) -> None:
    """Put the notice's e-mail in the outbox and keep the message on the notice (not saved)."""
    subject, body = encompass_email(notice)
    notice.outbox_message = outbox_enqueue(
        recipients=[notice.recipient_email],
        subject=subject,
        body=body,
        reason="encompass_notice",
        obj=notice,
    )
    notice.queued_at = now


@dataclass
class NoticeDraft:
    """A new notice and what goes with it, built but not saved: its e-mail (None until it has a
    recipient) and the first line of its history. Its audit event is built once the e-mail has an
    id (`audit_event`)."""

    notice: EncompassNotice
    message: OutboxMessage | None
    change: NoticeStatusChange

    def audit_event(self) -> AuditEvent:
        notice = self.notice
        if notice.recipient_id is not None:
            return audit_event_build(
                actor=SYSTEM_ACTOR,
                action=Action.DISCLOSE,
                obj=notice,
                purpose=PURPOSE,
                detail=_sharing_detail(notice),
            )
        return audit_event_build(
            actor=SYSTEM_ACTOR,
            action=Action.CREATE,
            obj=notice,
            purpose=PURPOSE,
            detail={
                "status": notice.status,
                "reason": "No known school and no council yet: sent once the contact is routed.",
                "contact": str(notice.contact_id),
                "due_at": notice.due_at.isoformat(),
            },
        )


def encompass_notice_draft(
    *,
    contact: Contact,
    body: NotificationBody,
    child: Person,
    recorded_at: dt.datetime,
    now: dt.datetime,
) -> NoticeDraft | None:
    """The Operation Encompass notice for one child's new contact, not saved: for a child of
    school age only (None otherwise)."""
    incident_day = body.occurred_at.astimezone(clock.LONDON).date()
    if not encompass_is_school_age(
        date_of_birth=child.date_of_birth,
        age_estimate=child.age_estimate,
        unborn=child.unborn,
        on=incident_day,
    ):
        return None
    recipient = encompass_recipient_for(contact=contact)
    school = (
        recipient.agency
        if recipient.agency is not None and recipient.agency.kind == AgencyKind.SCHOOL
        else None
    )
    notice = EncompassNotice(
        contact=contact,
        recipient=recipient.agency,
        recipient_email=recipient.email,
        reason_for_recipient=recipient.reason,
        recorded_at=recorded_at,
        due_at=encompass_due(recorded_at, school),
        status=NoticeStatus.QUEUED if recipient.agency is not None else NoticeStatus.UNROUTED,
        content=encompass_content(body=body, child=child),
        consent_to_share=body.consent_to_share or "",
        created_at=now,
    )
    message = None
    if recipient.agency is not None:
        subject, text = encompass_email(notice)
        message = outbox_message_build(
            recipients=[notice.recipient_email],
            subject=subject,
            body=text,
            reason="encompass_notice",
            obj=notice,
        )
        notice.queued_at = now
    change = NoticeStatusChange(
        notice=notice,
        at=now,
        from_status="",
        to_status=notice.status,
        note=notice.get_reason_for_recipient_display(),
    )
    return NoticeDraft(notice=notice, message=message, change=change)


def encompass_drafts_save(drafts: list[NoticeDraft]) -> None:
    """Save many new notices inside the caller's transaction, a few writes for them all. Their
    e-mails get no delivery task of their own: the worker's sweep sends them within a minute."""
    if not connection.in_atomic_block:
        raise RuntimeError("encompass_drafts_save must run inside the intake transaction")
    if not drafts:
        return
    messages = [d.message for d in drafts if d.message is not None]
    OutboxMessage.objects.bulk_create(messages)
    for draft in drafts:
        if draft.message is not None:
            draft.notice.outbox_message = draft.message
    EncompassNotice.objects.bulk_create([d.notice for d in drafts])
    NoticeStatusChange.objects.bulk_create([d.change for d in drafts])
    AuditEvent.objects.bulk_create([d.audit_event() for d in drafts])
    SharingDecision.objects.bulk_create(
        [encompass_sharing_decision(d.notice) for d in drafts if d.notice.recipient_id is not None]
    )


def encompass_open_for_contact(
    *, contact: Contact, body: NotificationBody, child: Person, recorded_at: dt.datetime
) -> EncompassNotice | None:
    """The Operation Encompass notice for one child's contact from a police notification, made
    inside the caller's transaction: for a child of school age only (None otherwise). Its e-mail
    goes into the outbox at once when the recipient is known, with the disclosure audited. A
    contact that already has a notice keeps it (returned unchanged: its content is frozen)."""
    if not connection.in_atomic_block:
        raise RuntimeError("encompass_open_for_contact must run inside the intake transaction")
    existing = EncompassNotice.objects.filter(contact=contact).first()
    if existing is not None:
        return existing
    draft = encompass_notice_draft(
        contact=contact, body=body, child=child, recorded_at=recorded_at, now=clock.now()
    )
    if draft is None:
        return None
    notice = draft.notice
    if draft.message is not None:
        draft.message.save(force_insert=True)
        outbox_deliver.enqueue(message_id=draft.message.pk)
        notice.outbox_message = draft.message
    notice.save(force_insert=True)
    draft.change.save(force_insert=True)
    draft.audit_event().save(force_insert=True)
    if notice.recipient_id is not None:
        encompass_sharing_decision(notice).save(force_insert=True)
    return notice


def encompass_acknowledge(*, notice: EncompassNotice, acknowledged_by: User) -> EncompassNotice:
    """The recipient's safeguarding lead says the notice was received. Out of the user's scope:
    NotFound; in scope without the role, or not the recipient's: PermissionDenied; already
    acknowledged: a no-op; still waiting for a recipient: Conflict."""
    with transaction.atomic():
        if not encompass_notices_for(fetched_by=acknowledged_by).filter(pk=notice.pk).exists():
            raise NotFound("No such notice.")
        require(acknowledged_by, "encompass.acknowledge")
        locked = EncompassNotice.objects.select_for_update().get(pk=notice.pk)
        if locked.recipient_id is None or locked.recipient_id != acknowledged_by.agency_id:
            raise PermissionDenied("Only the recipient's safeguarding lead can acknowledge it.")
        previous = locked.status
        now = clock.now()
        if not _move(locked, NoticeStatus.ACKNOWLEDGED, at=now, by=acknowledged_by):
            return locked
        locked.acknowledged_at = now
        locked.acknowledged_by = acknowledged_by
        locked.save(update_fields=["status", "acknowledged_at", "acknowledged_by"])
        # Read by the lead before the outbox recorded the e-mail delivered: the school knows.
        clock_meet(contact_id=locked.contact_id, kind=ClockKind.ENCOMPASS, at=now)
        audit_record(
            actor=acknowledged_by,
            action=Action.UPDATE,
            obj=locked,
            detail={"status": {"from": previous, "to": locked.status}},
        )
    return locked


@dataclass(frozen=True)
class SweepResult:
    dispatched: int
    delivered: int


def encompass_sweep(*, now: dt.datetime | None = None) -> SweepResult:
    """Bring notices up to date; safe to run at any time, as often as wanted (the worker or
    cron): send the notices that were waiting for a recipient and now have one (their contact was
    routed), and record as sent those whose e-mail the outbox has delivered (the outbox does not
    call back). Each notice in its own transaction."""
    now = now or clock.now()
    dispatched = delivered = 0
    waiting = EncompassNotice.objects.filter(status=NoticeStatus.UNROUTED).values_list(
        "pk", flat=True
    )
    for pk in list(waiting):
        with transaction.atomic():
            notice = (
                EncompassNotice.objects.select_for_update(of=("self",))
                .select_related("contact__school", "contact__local_authority")
                .filter(pk=pk, status=NoticeStatus.UNROUTED)
                .first()
            )
            if notice is None:
                continue
            recipient = encompass_recipient_for(contact=notice.contact)
            if recipient.agency is None:
                continue
            notice.recipient = recipient.agency
            notice.recipient_email = recipient.email
            notice.reason_for_recipient = recipient.reason
            _move(notice, NoticeStatus.QUEUED, at=now, note=recipient.reason.label)
            _queue_email(notice, now=now)
            notice.save()
            audit_record(
                actor=SYSTEM_ACTOR,
                action=Action.DISCLOSE,
                obj=notice,
                purpose=PURPOSE,
                detail=_sharing_detail(notice),
            )
            encompass_sharing_decision(notice).save(force_insert=True)
            dispatched += 1
    arrived = EncompassNotice.objects.filter(
        status=NoticeStatus.QUEUED, outbox_message__sent_at__isnull=False
    ).values_list("pk", flat=True)
    for pk in list(arrived):
        with transaction.atomic():
            notice = (
                EncompassNotice.objects.select_for_update(of=("self",))
                .select_related("outbox_message")
                .filter(pk=pk, status=NoticeStatus.QUEUED)
                .first()
            )
            if notice is None or notice.outbox_message is None:
                continue
            sent_at = notice.outbox_message.sent_at
            if sent_at is None:
                continue
            _move(notice, NoticeStatus.SENT, at=now, note="Delivered by the outbox")
            notice.sent_at = sent_at
            notice.save(update_fields=["status", "sent_at"])
            clock_meet(contact_id=notice.contact_id, kind=ClockKind.ENCOMPASS, at=sent_at)
            delivered += 1
    return SweepResult(dispatched=dispatched, delivered=delivered)
