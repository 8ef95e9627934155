"""Strategy discussions: call one, invite the agencies and ask them what they know, take their
answers, record who took part, the outcome and the actions, send the minutes.

Every act runs in one transaction with its audit event, its sharing decisions and its e-mails
(through the outbox), so that nothing is sent that is not recorded, and nothing recorded that is
not sent. Refusals name the field at fault ("participants: …"); a discussion in the wrong state
is a Conflict (409).
"""

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from safehub.accounts.models import Agency, AgencyKind, User
from safehub.accounts.permissions import require, user_can
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.casework.services import enquiry_start
from safehub.core import clock
from safehub.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from safehub.core.outbox import outbox_enqueue
from safehub.meetings.invitations import (
    cancellation_email,
    chase_email,
    discussion_ics,
    ics_attachment,
    invitation_email,
    minutes_pdf,
)
from safehub.meetings.models import (
    Attendance,
    DiscussionAction,
    DiscussionChild,
    DiscussionStatus,
    Enquiry,
    InformationRequest,
    Participant,
    ParticipantRole,
    RequestStatus,
    Response,
    StrategyDiscussion,
)
from safehub.meetings.selectors import discussion_for_chair, participants_of
from safehub.referrals.models import Contact, ContactStatus, Decision, Outcome, SignOff
from safehub.referrals.selectors import contacts_in_scope
from safehub.risk.selectors import policy_active
from safehub.sharing.models import Consent, LawfulBasis, SharingKind
from safehub.sharing.services import sharing_record
from safehub.timescales.calendar import add_working_days, end_of_working_day, london_date
from safehub.timescales.clocks import (
    clock_lengths,
    clock_meet,
    clock_start,
    clocks_next_due,
    clocks_stop,
    strategy_discussion_due,
)
from safehub.timescales.models import Clock, ClockKind, ClockState

R = ParticipantRole
PURPOSE = "Strategy discussion: to decide whether a child is at risk of significant harm"
ANSWER_REASON = (
    "Asked by the council for the strategy discussion; relevant to the children's safety."
)

# --- What each agency is told about the people asked about (need to know, statutory.md §7.2) --

# The details of a child and of an adult that each role is given to find them in its records.
# A school is asked about its own pupils only, and about no adult.
CHILD_FIELDS: dict[str, tuple[str, ...]] = {
    R.POLICE: ("given_names", "family_name", "date_of_birth", "address"),
    R.HEALTH: ("given_names", "family_name", "date_of_birth", "postcode", "nhs_number"),
    R.SCHOOL: ("given_names", "family_name", "date_of_birth", "upn"),
}
ADULT_FIELDS: dict[str, tuple[str, ...]] = {
    R.POLICE: ("given_names", "family_name", "date_of_birth", "address", "relationship"),
    R.HEALTH: ("given_names", "family_name", "date_of_birth", "postcode", "nhs_number"),
    R.SCHOOL: (),
}
OTHER_CHILD_FIELDS = ("given_names", "family_name", "date_of_birth")
OTHER_ADULT_FIELDS = ("given_names", "family_name", "date_of_birth", "postcode")

DEFAULT_QUESTIONS: dict[str, str] = {
    R.POLICE: (
        "Previous incidents at the address and involving the adults named; bail conditions, "
        "orders and warning markers; the officers' view of the risk to the children."
    ),
    R.HEALTH: (
        "Health involvement with the children and the adults named: GP, health visitor or "
        "school nurse, A&E attendances, missed appointments, mental health and substance use."
    ),
    R.SCHOOL: (
        "Attendance, presentation and behaviour of the pupils named; anything they have said; "
        "earlier concerns recorded by the school."
    ),
    R.DOMESTIC_ABUSE: (
        "Whether the adult victim is known to the service, current risk and safety planning, "
        "and any MARAC history."
    ),
}
GENERIC_QUESTION = (
    "What your agency knows about the people named that bears on the children's safety."
)


def default_question(role: str) -> str:
    return DEFAULT_QUESTIONS.get(role, GENERIC_QUESTION)


def required_roles() -> list[str]:
    return list(settings.SAFEHUB_STRATEGY_REQUIRED_ROLES)


@dataclass(frozen=True)
class Invitation:
    """One agency to invite: in what role, the person (or the duty inbox when no name is given),
    and what it is asked."""

    role: str
    agency: Agency
    name: str = ""
    email: str = ""
    question: str = ""


def _latest_body(contact: Contact) -> dict[str, Any]:
    if contact.notification_id is None:
        return {}
    version = contact.notification.versions.order_by("-number").first()  # type: ignore[union-attr]
    return json.loads(bytes(version.body)) if version is not None else {}


def _address_text(address: dict[str, Any] | None) -> str:
    if not address:
        return ""
    parts = [address.get("line1"), address.get("town"), address.get("postcode")]
    return ", ".join(p for p in parts if p)


_RELATIONSHIP = {"victim": "Adult victim", "suspect": "Suspect", "adult_other": "Other adult"}


def request_subjects(
    *, role: str, agency: Agency, children: list[Contact]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The people an agency is asked about, each with only the details that agency is given, and
    the names of the fields shared (for the sharing decision)."""
    child_fields = CHILD_FIELDS.get(role, OTHER_CHILD_FIELDS)
    adult_fields = ADULT_FIELDS.get(role, OTHER_ADULT_FIELDS)
    if role == R.CHILDREN_SOCIAL_CARE:
        return [], []
    subjects: list[dict[str, Any]] = []
    body = _latest_body(children[0]) if children else {}
    people = {p.get("ref"): p for p in body.get("people", [])}
    for contact in children:
        if role == R.SCHOOL and contact.school_id != agency.pk:
            continue  # a school is asked about its own pupils only
        person = people.get(contact.child_ref, {})
        values = {
            "given_names": contact.given_names,
            "family_name": contact.family_name,
            "date_of_birth": contact.date_of_birth.isoformat() if contact.date_of_birth else "",
            "address": _address_text(contact.address),
            "postcode": contact.postcode,
            "nhs_number": (person.get("identifiers") or {}).get("nhs_number") or "",
            "upn": (person.get("identifiers") or {}).get("upn") or "",
        }
        subjects.append(
            {"who": "child", "relationship": "Child"}
            | {k: values[k] for k in child_fields if values.get(k)}
        )
    if adult_fields:
        for person in body.get("people", []):
            if person.get("role") == "child":
                continue
            address = person.get("address") or {}
            values = {
                "given_names": person.get("given_names", ""),
                "family_name": person.get("family_name", ""),
                "date_of_birth": person.get("date_of_birth") or "",
                "address": _address_text(address),
                "postcode": address.get("postcode", ""),
                "nhs_number": (person.get("identifiers") or {}).get("nhs_number") or "",
                "relationship": _RELATIONSHIP.get(person.get("role", ""), "Adult"),
            }
            entry = {"who": "adult", "relationship": "Adult in the household"}
            entry |= {k: values[k] for k in adult_fields if values.get(k)}
            subjects.append(entry)
    fields = [f"child.{k}" for k in child_fields] + [f"adult.{k}" for k in adult_fields]
    if not any(s["who"] == "adult" for s in subjects):
        fields = [f for f in fields if not f.startswith("adult.")]
    return subjects, fields


INVITATION_FIELDS = ["discussion.reference", "discussion.starts_at", "discussion.location"]


def _lawful_basis_for(agency: Agency) -> str:
    return (
        LawfulBasis.LAW_ENFORCEMENT
        if agency.kind == AgencyKind.POLICE_FORCE
        else LawfulBasis.PUBLIC_TASK_SAFEGUARDING
    )


# --- Calling a discussion -------------------------------------------------------------------------


def _s47_decision(contact: Contact) -> Decision | None:
    return (
        contact.decisions.filter(outcome=Outcome.STRATEGY_DISCUSSION_S47)
        .exclude(sign_off=SignOff.RETURNED)
        .order_by("-decided_at", "-id")
        .first()
    )


def _request_deadline(starts_at: dt.datetime, now: dt.datetime) -> dt.datetime:
    return max(now, starts_at - dt.timedelta(minutes=settings.SAFEHUB_REQUEST_LEAD_MINUTES))


def _check_invitations(invitations: list[Invitation]) -> None:
    roles = [i.role for i in invitations]
    for invitation in invitations:
        if invitation.role not in R.values:
            raise DomainError(f"participants: {invitation.role!r} is not a participant role")
        if not (invitation.email or invitation.agency.email or _school_email(invitation.agency)):
            raise DomainError(
                f"participants: {invitation.agency.name} has no e-mail address: give one"
            )
    seen: set[tuple[str, int]] = set()
    for invitation in invitations:
        key = (invitation.role, invitation.agency.pk)
        if key in seen:
            raise DomainError(
                f"participants: {invitation.agency.name} is invited twice as "
                f"{R(invitation.role).label.lower()}"
            )
        seen.add(key)
    missing = [r for r in required_roles() if r not in roles]
    if missing:
        names = ", ".join(R(r).label.lower() for r in missing)
        minimum = ", ".join(R(r).label.lower() for r in required_roles())
        raise DomainError(
            f"participants: invite {names}: a strategy discussion involves {minimum} as a minimum"
        )


def _school_email(agency: Agency) -> str:
    return agency.dsl_email if agency.kind == AgencyKind.SCHOOL else ""


def _invite(
    *,
    discussion: StrategyDiscussion,
    invitation: Invitation,
    children: list[Contact],
    by: User,
    now: dt.datetime,
) -> Participant:
    """Add one agency: its invitation, its information request (all but children's social care),
    the e-mail with the .ics, and the sharing decisions for both."""
    agency = invitation.agency
    email = invitation.email or _school_email(agency) or agency.email
    participant = Participant.objects.create(
        discussion=discussion,
        role=invitation.role,
        agency=agency,
        invitee_name=invitation.name,
        invitee_email=email,
        statutory=invitation.role in required_roles(),
        invited_at=now,
    )
    request = None
    if invitation.role != R.CHILDREN_SOCIAL_CARE:
        subjects, fields = request_subjects(role=invitation.role, agency=agency, children=children)
        request = InformationRequest.objects.create(
            participant=participant,
            question=invitation.question.strip() or default_question(invitation.role),
            subjects=subjects,
            deadline=_request_deadline(discussion.starts_at, now),
            sent_at=now,
        )
        sharing_record(
            by=by,
            from_agency=discussion.local_authority,
            shared=True,
            kind=SharingKind.INFORMATION_REQUEST,
            recipient_agency=agency,
            recipient=email,
            fields=[*fields, "request.question"],
            purpose=PURPOSE,
            lawful_basis=LawfulBasis.PUBLIC_TASK_SAFEGUARDING,
            consent=discussion.consent,
            reason=(
                f"{agency.name} is asked what it knows, so that it is in the room; only the "
                "details it needs to find the people in its records are given."
            ),
            contact=discussion.contact,
            discussion=discussion,
            obj=request,
        )
    _send_invitation(participant, request, by=by)
    return participant


def _send_invitation(
    participant: Participant,
    request: InformationRequest | None,
    *,
    by: User,
    update: bool = False,
    to: str = "",
    to_name: str = "",
) -> None:
    discussion = participant.discussion
    email = to or participant.invitee_email
    subject, body = invitation_email(participant, request, update=update)
    ics = discussion_ics(
        discussion,
        attendee_email=email,
        attendee_name=to_name or participant.invitee_name or participant.agency.name,
        required=participant.statutory,
    )
    outbox_enqueue(
        recipients=[email],
        subject=subject,
        body=body,
        reason="strategy_discussion_invitation",
        obj=participant,
        attachments=[ics_attachment(ics)],
    )
    if participant.agency_id == discussion.local_authority_id:
        return  # the council's own: nothing leaves it
    sharing_record(
        by=by,
        from_agency=discussion.local_authority,
        shared=True,
        kind=SharingKind.INVITATION,
        recipient_agency=participant.agency,
        recipient=email,
        fields=INVITATION_FIELDS,
        purpose=PURPOSE,
        lawful_basis=LawfulBasis.PUBLIC_TASK_SAFEGUARDING,
        consent=discussion.consent,
        reason=(
            ("The discussion changed: " if update else "")
            + f"{participant.agency.name} is invited as "
            f"{participant.get_role_display().lower()}; the invitation names no one."
        ),
        contact=discussion.contact,
        discussion=discussion,
        obj=participant,
    )


def contact_can_call(*, contact: Contact, user: User) -> bool:
    """Whether the contact page offers `user` to call a discussion: their council's contact,
    with a section 47 decision (a manager: any contact still open), and none called already."""
    if not user_can(user, "discussion.call") or contact.local_authority_id is None:
        return False
    if contact.local_authority_id != user.agency_id:
        return False
    if StrategyDiscussion.objects.filter(
        status=DiscussionStatus.CALLED, children__contact=contact
    ).exists():
        return False
    if _s47_decision(contact) is not None:
        return True
    return user_can(user, "contact.sign_off") and contact.status != ContactStatus.CLOSED


def household_contacts(contact: Contact) -> QuerySet[Contact]:
    """The children a discussion about `contact` may also be about: the same incident's children
    in the same council."""
    if contact.notification_id is None:
        return Contact.objects.filter(pk=contact.pk)
    return Contact.objects.filter(
        notification_id=contact.notification_id,
        local_authority_id=contact.local_authority_id,
        withdrawn_in_version__isnull=True,
    ).order_by("child_ref")


def discussion_call(
    *,
    contact: Contact,
    called_by: User,
    children: list[Contact],
    reason: str,
    format: str,
    mode: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    location: str,
    invitations: list[Invitation],
    consent: str = Consent.NOT_REQUIRED,
) -> StrategyDiscussion:
    """Call a strategy discussion about one or several children of a household.

    From a section 47 decision (awaiting sign-off or signed off) any worker who may call one; from
    any other contact still open, a manager. The caller chairs it. Invitations go out with the
    .ics, and each invited agency is asked for what it knows, by a deadline before it starts."""
    require(called_by, "discussion.call")
    if not contacts_in_scope(fetched_by=called_by).filter(pk=contact.pk).exists():
        raise NotFound("No such contact.")
    if contact.local_authority_id is None or contact.local_authority_id != called_by.agency_id:
        raise NotFound("No such contact.")
    if not reason.strip():
        raise DomainError("reason: say why there is cause to suspect significant harm")
    if location.strip() == "":
        raise DomainError("location: say where it is held, or how to join")
    if ends_at <= starts_at:
        raise DomainError("ends_at: it must end after it starts")
    if consent not in Consent.values:
        raise DomainError(f"consent: {consent!r} is not a consent position")
    household = {c.pk for c in household_contacts(contact)}
    if not children:
        children = [contact]
    for child in children:
        if child.pk not in household:
            raise DomainError(f"children: {child} is not a child of this household in this council")
    _check_invitations(invitations)
    now = clock.now()
    with transaction.atomic():
        # Every child's row, in one order: two people calling one for the same household at
        # once wait for each other, and the second finds the first's (a Conflict below).
        ids = sorted({contact.pk, *(c.pk for c in children)}, key=str)
        rows = {
            c.pk: c for c in Contact.objects.select_for_update().filter(pk__in=ids).order_by("pk")
        }
        locked = rows.get(contact.pk)
        if locked is None:
            raise NotFound("No such contact.")
        decision = _s47_decision(locked)
        if decision is None:
            if not user_can(called_by, "contact.sign_off"):
                raise PermissionDenied(
                    "Only a manager calls a strategy discussion without a section 47 decision."
                )
            if locked.status == ContactStatus.CLOSED:
                raise Conflict(
                    "The contact is closed: a discussion is called from a section 47 decision "
                    "or an open contact.",
                    code="illegal_transition",
                )
        open_already = StrategyDiscussion.objects.filter(
            status=DiscussionStatus.CALLED, children__contact__in=[c.pk for c in children]
        ).first()
        if open_already is not None:
            raise Conflict(
                f"A strategy discussion ({open_already.reference}) is already called for "
                "this child: change it, or record its outcome, first.",
                code="already_called",
            )
        rules = policy_active().rules
        due_at, due_rule = _discussion_due(children, called_at=now, rules=rules)
        council = locked.local_authority
        assert council is not None  # checked above: the contact is routed to the caller's council
        discussion = StrategyDiscussion.objects.create(
            local_authority=council,
            contact=locked,
            decision=decision,
            called_by=called_by,
            called_at=now,
            chair=called_by,
            reason=reason,
            due_at=due_at,
            due_rule=due_rule,
            format=format,
            mode=mode,
            starts_at=starts_at,
            ends_at=ends_at,
            location=location,
            consent=consent,
        )
        for child in children:
            DiscussionChild.objects.create(discussion=discussion, contact=child)
        audit_record(
            actor=called_by,
            action=Action.CREATE,
            obj=discussion,
            detail={
                "contact": str(locked.pk),
                "children": [str(c.pk) for c in children],
                "decision": decision.pk if decision else None,
                "starts_at": starts_at.isoformat(),
                "due_at": due_at.isoformat(),
                "participants": [f"{i.role}:{i.agency.code}" for i in invitations],
            },
        )
        for invitation in invitations:
            _invite(
                discussion=discussion,
                invitation=invitation,
                children=children,
                by=called_by,
                now=now,
            )
    return discussion


def _discussion_due(
    children: list[Contact], *, called_at: dt.datetime, rules: dict[str, Any]
) -> tuple[dt.datetime, str]:
    """The soonest due time of the children's strategy discussion clocks; a child with none
    running (a manager called it without a decision) gets one from now."""
    dues: list[tuple[dt.datetime, str]] = []
    for child in children:
        running = (
            Clock.objects.filter(
                contact=child,
                kind=ClockKind.STRATEGY_DISCUSSION,
                met_at__isnull=True,
                state__in=[ClockState.RUNNING, ClockState.BREACHED],
            )
            .order_by("-started_at")
            .first()
        )
        if running is None:
            due, rule = strategy_discussion_due(start=called_at, rag=child.rag, rules=rules)
            running = clock_start(
                contact=child,
                kind=ClockKind.STRATEGY_DISCUSSION,
                started_at=called_at,
                due_at=due,
                rule=f"{rule} the discussion was called",
            )
            _refresh_next_due(child)
        dues.append((running.due_at, running.rule))
    return min(dues)


def _refresh_next_due(contact: Contact) -> None:
    contact.next_due_at = clocks_next_due(contact_id=contact.pk)
    Contact.objects.filter(pk=contact.pk).update(next_due_at=contact.next_due_at)


def _locked(discussion: StrategyDiscussion) -> StrategyDiscussion:
    locked = StrategyDiscussion.objects.select_for_update().filter(pk=discussion.pk).first()
    if locked is None:
        raise NotFound("No such strategy discussion.")
    return locked


def _require_called(discussion: StrategyDiscussion, what: str) -> None:
    if discussion.status != DiscussionStatus.CALLED:
        raise Conflict(
            f"The discussion is {discussion.get_status_display().lower()}: {what} no more.",
            code="illegal_transition",
        )


def participant_add(
    *, discussion: StrategyDiscussion, by: User, invitation: Invitation
) -> Participant:
    """Invite another agency, as the case needs, after the discussion was called."""
    discussion = discussion_for_chair(user=by, discussion_id=discussion.pk)
    with transaction.atomic():
        locked = _locked(discussion)
        _require_called(locked, "agencies can be invited")
        existing = [
            Invitation(p.role, p.agency) for p in locked.participants.select_related("agency")
        ]
        if any(i.role == invitation.role and i.agency.pk == invitation.agency.pk for i in existing):
            raise DomainError(
                f"participants: {invitation.agency.name} is already invited as "
                f"{R(invitation.role).label.lower()}"
            )
        _check_invitations([*existing, invitation])
        children = [c.contact for c in locked.children.select_related("contact")]
        participant = _invite(
            discussion=locked, invitation=invitation, children=children, by=by, now=clock.now()
        )
        audit_record(
            actor=by,
            action=Action.UPDATE,
            obj=locked,
            detail={"invited": f"{invitation.role}:{invitation.agency.code}"},
        )
    return participant


def discussion_reschedule(
    *,
    discussion: StrategyDiscussion,
    by: User,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    location: str,
    mode: str,
    reason: str,
) -> StrategyDiscussion:
    """Move the discussion: every invitee gets the updated invitation (the same UID, the next
    SEQUENCE); open requests' deadlines move with it."""
    discussion = discussion_for_chair(user=by, discussion_id=discussion.pk)
    if ends_at <= starts_at:
        raise DomainError("ends_at: it must end after it starts")
    if not location.strip():
        raise DomainError("location: say where it is held, or how to join")
    if not reason.strip():
        raise DomainError("reason: say why it changes")
    with transaction.atomic():
        locked = _locked(discussion)
        _require_called(locked, "it can be changed")
        before = {"starts_at": locked.starts_at.isoformat(), "location": locked.location}
        locked.starts_at, locked.ends_at = starts_at, ends_at
        locked.location, locked.mode = location, mode
        locked.sequence += 1
        locked.save(update_fields=["starts_at", "ends_at", "location", "mode", "sequence"])
        now = clock.now()
        InformationRequest.objects.filter(
            participant__discussion=locked, status=RequestStatus.OPEN
        ).update(deadline=_request_deadline(starts_at, now))
        audit_record(
            actor=by,
            action=Action.UPDATE,
            obj=locked,
            detail={"before": before, "starts_at": starts_at.isoformat(), "reason": reason},
        )
        for participant in participants_of(locked):
            request = getattr(participant, "request", None)
            _send_invitation(
                participant,
                request if request and request.status == RequestStatus.OPEN else None,
                by=by,
                update=True,
            )
            if participant.response == Response.DELEGATED and participant.delegate_email:
                _send_invitation(
                    participant,
                    None,
                    by=by,
                    update=True,
                    to=participant.delegate_email,
                    to_name=participant.delegate_name,
                )
    return locked


def discussion_cancel(
    *, discussion: StrategyDiscussion, by: User, reason: str, still_needed: bool
) -> StrategyDiscussion:
    """Cancel: every invitee gets the cancellation (METHOD:CANCEL); open requests are withdrawn.
    When no discussion is needed any more, the children's discussion clocks stop with the
    reason; otherwise they run on, and the next one must be called."""
    discussion = discussion_for_chair(user=by, discussion_id=discussion.pk)
    if not reason.strip():
        raise DomainError("reason: say why it is cancelled")
    with transaction.atomic():
        locked = _locked(discussion)
        _require_called(locked, "it can be cancelled")
        now = clock.now()
        locked.status = DiscussionStatus.CANCELLED
        locked.cancelled_at = now
        locked.cancel_reason = reason
        locked.sequence += 1
        locked.save(update_fields=["status", "cancelled_at", "cancel_reason", "sequence"])
        InformationRequest.objects.filter(
            participant__discussion=locked, status=RequestStatus.OPEN
        ).update(status=RequestStatus.WITHDRAWN)
        for participant in participants_of(locked):
            subject, body = cancellation_email(participant)
            invited = [participant.invitee_email]
            if participant.response == Response.DELEGATED and participant.delegate_email:
                invited.append(participant.delegate_email)  # the colleague's calendar too
            for email in invited:
                ics = discussion_ics(locked, attendee_email=email, method="CANCEL")
                outbox_enqueue(
                    recipients=[email],
                    subject=subject,
                    body=body,
                    reason="strategy_discussion_cancellation",
                    obj=participant,
                    attachments=[ics_attachment(ics, method="CANCEL")],
                )
        if not still_needed:
            for child in locked.children.select_related("contact"):
                clocks_stop(
                    contact_id=child.contact_id,
                    kinds=[ClockKind.STRATEGY_DISCUSSION],
                    reason=f"No strategy discussion is needed: {reason}",
                    at=now,
                )
                _refresh_next_due(child.contact)
        audit_record(
            actor=by,
            action=Action.UPDATE,
            obj=locked,
            detail={"status_to": "cancelled", "reason": reason, "still_needed": still_needed},
        )
    return locked


# --- Partners' answers ---------------------------------------------------------------------------


def _own_participants(discussion: StrategyDiscussion, user: User) -> list[Participant]:
    if user.agency_id is None:
        raise NotFound("No such strategy discussion.")
    mine = list(discussion.participants.select_related("agency").filter(agency_id=user.agency_id))
    if not mine:
        raise NotFound("No such strategy discussion.")
    return mine


def invitation_respond(
    *,
    discussion: StrategyDiscussion,
    by: User,
    response: str,
    delegate_name: str = "",
    delegate_email: str = "",
    note: str = "",
) -> list[Participant]:
    """A partner practitioner replies for their agency: accept, send a colleague instead (who
    gets the invitation), or send information instead of attending."""
    require(by, "discussion.respond")
    if response not in (Response.ACCEPTED, Response.DELEGATED, Response.INFORMATION_INSTEAD):
        raise DomainError(f"response: {response!r} is not a reply to an invitation")
    if response == Response.DELEGATED and not (delegate_name.strip() and delegate_email.strip()):
        raise DomainError("delegate_name: name the colleague who attends, and their e-mail")
    with transaction.atomic():
        locked = _locked(discussion)
        mine = _own_participants(locked, by)
        _require_called(locked, "invitations can be answered")
        now = clock.now()
        for participant in mine:
            participant.response = response
            participant.delegate_name = delegate_name if response == Response.DELEGATED else ""
            participant.delegate_email = delegate_email if response == Response.DELEGATED else ""
            participant.response_note = note
            participant.responded_at = now
            participant.responded_by = by
            participant.save(
                update_fields=[
                    "response",
                    "delegate_name",
                    "delegate_email",
                    "response_note",
                    "responded_at",
                    "responded_by",
                ]
            )
            if response == Response.DELEGATED:
                _send_invitation(participant, None, by=by, to=delegate_email, to_name=delegate_name)
            audit_record(
                actor=by,
                action=Action.UPDATE,
                obj=participant,
                detail={"discussion": str(locked.pk), "response": response, "note": note},
            )
    return mine


def request_answer(
    *,
    discussion: StrategyDiscussion,
    by: User,
    answer: str,
    share: bool = True,
    reason: str = "",
    lawful_basis: str = "",
    consent: str = Consent.NOT_REQUIRED,
) -> InformationRequest:
    """A partner's practitioner answers their agency's request: what they share, on what basis;
    or that they do not share, and why (golden rule 7 asks for both to be recorded)."""
    require(by, "discussion.respond")
    with transaction.atomic():
        locked = _locked(discussion)
        mine = [p for p in _own_participants(locked, by) if hasattr(p, "request")]
        if not mine:
            raise NotFound("No such information request.")
        request = InformationRequest.objects.select_for_update().get(pk=mine[0].request.pk)
        if locked.status == DiscussionStatus.CANCELLED or request.status == RequestStatus.WITHDRAWN:
            raise Conflict(
                "The request was withdrawn: the discussion is cancelled.", code="withdrawn"
            )
        if request.status != RequestStatus.OPEN:
            raise Conflict(
                f"Your agency has already answered ({request.get_status_display().lower()}).",
                code="already_answered",
            )
        agency = mine[0].agency
        if share:
            if not answer.strip():
                raise DomainError("answer: write what your agency knows, or choose not to share")
            basis = lawful_basis or _lawful_basis_for(agency)
        else:
            if not reason.strip():
                raise DomainError("reason: say why your agency does not share")
            basis = LawfulBasis.NONE
        now = clock.now()
        request.status = RequestStatus.ANSWERED if share else RequestStatus.NOT_SHARED
        request.answer = answer if share else ""
        request.answered_by = by
        request.answered_at = now
        request.save(update_fields=["status", "answer", "answered_by", "answered_at"])
        sharing_record(
            by=by,
            from_agency=agency,
            shared=share,
            kind=SharingKind.ANSWER,
            recipient_agency=locked.local_authority,
            recipient=f"{locked.local_authority.name}, strategy discussion {locked.reference}",
            fields=["answer"],
            purpose=PURPOSE,
            lawful_basis=basis,
            consent=consent,
            reason=reason.strip() or ANSWER_REASON,
            contact=locked.contact,
            discussion=locked,
            obj=request,
        )
        audit_record(
            actor=by,
            action=Action.UPDATE,
            obj=request,
            detail={"discussion": str(locked.pk), "status_to": request.status},
        )
    return request


def request_chase(*, request: InformationRequest, by: User | None = None) -> InformationRequest:
    """Remind an agency that has not answered (by the chair, or by the sweep before the
    deadline). Each chase is an e-mail through the outbox, counted on the request."""
    with transaction.atomic():
        locked = (
            InformationRequest.objects.select_for_update()
            .select_related("participant__discussion__local_authority", "participant__agency")
            .get(pk=request.pk)
        )
        if locked.status != RequestStatus.OPEN:
            raise Conflict("The request is answered: there is nothing to chase.", code="answered")
        subject, body = chase_email(locked)
        outbox_enqueue(
            recipients=[locked.participant.invitee_email],
            subject=subject,
            body=body,
            reason="information_request_chase",
            obj=locked,
        )
        locked.chased_at = clock.now()
        locked.chase_count += 1
        locked.save(update_fields=["chased_at", "chase_count"])
        audit_record(
            actor=by or "safehub: strategy discussions",
            action=Action.UPDATE,
            obj=locked,
            detail={"chased": locked.chase_count, "agency": locked.participant.agency.code},
        )
    return locked


# --- The chair's record ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AttendanceEntry:
    participant_id: int
    attendance: str
    name: str = ""
    role: str = ""


def attendance_record(
    *, discussion: StrategyDiscussion, by: User, entries: list[AttendanceEntry]
) -> StrategyDiscussion:
    """Who took part, agency by agency: attended (who, in what role), apologies with or without
    information, or did not attend."""
    discussion = discussion_for_chair(user=by, discussion_id=discussion.pk)
    with transaction.atomic():
        locked = _locked(discussion)
        _require_called(locked, "attendance can be changed")
        participants = {p.pk: p for p in locked.participants.select_related("agency")}
        changes = []
        for entry in entries:
            participant = participants.get(entry.participant_id)
            if participant is None:
                raise DomainError(f"attendance: no participant {entry.participant_id}")
            if entry.attendance not in Attendance.values:
                raise DomainError(
                    f"attendance: {entry.attendance!r} is not an attendance for "
                    f"{participant.agency.name}"
                )
            if entry.attendance == Attendance.ATTENDED and not entry.name.strip():
                raise DomainError(f"attendance: name who attended for {participant.agency.name}")
            participant.attendance = entry.attendance
            participant.attended_name = (
                entry.name if entry.attendance == Attendance.ATTENDED else ""
            )
            participant.attended_role = (
                entry.role if entry.attendance == Attendance.ATTENDED else ""
            )
            participant.save(update_fields=["attendance", "attended_name", "attended_role"])
            changes.append(f"{participant.agency.code}:{entry.attendance or 'not_recorded'}")
        audit_record(actor=by, action=Action.UPDATE, obj=locked, detail={"attendance": changes})
    return locked


def missing_statutory(
    discussion: StrategyDiscussion, participants: list[Participant] | None = None
) -> list[Participant]:
    """The statutory agencies that neither attended nor sent information (an answer to the
    request counts as information). `participants`: the discussion's, when already read."""
    required = set(required_roles())
    by_role: dict[str, list[Participant]] = {}
    for participant in participants if participants is not None else participants_of(discussion):
        if participant.role in required:
            by_role.setdefault(participant.role, []).append(participant)
    missing = []
    for role, participants in by_role.items():
        if role == R.CHILDREN_SOCIAL_CARE and any(
            p.attendance == Attendance.NOT_RECORDED for p in participants
        ):
            continue  # the council convenes and chairs it: present unless recorded otherwise
        if not any(p.sent_information for p in participants):
            missing.extend(participants)
    return missing


def _icpc_anchor_keeps(existing: Clock | None) -> bool:
    return existing is not None and settings.SAFEHUB_ICPC_ANCHOR == "initiating"


def outcome_record(
    *,
    discussion: StrategyDiscussion,
    by: User,
    held_at: dt.datetime,
    enquiry: str,
    immediate_protection: bool | None,
    rationale: str,
    risks: dict[Any, str],
    icpc_date: dt.date | None = None,
    icpc_arranged_by: str = "",
    missing_reason: str = "",
    reconvene: bool | None = None,
) -> StrategyDiscussion:
    """Record the outcome. Refused while a statutory agency neither attended nor sent
    information, unless the chair says why and whether to meet again (and that is counted).

    The children's discussion clocks are met when it was held. A section 47 enquiry starts the
    ICPC clock: 15 working days (policy) after the discussion that started it (statutory T4;
    `SAFEHUB_ICPC_ANCHOR`)."""
    discussion = discussion_for_chair(user=by, discussion_id=discussion.pk)
    if enquiry not in Enquiry.values:
        raise DomainError("enquiry: say whether there is a section 47 enquiry, single or joint")
    if immediate_protection is None:
        raise DomainError("immediate_protection: say whether immediate protection is needed")
    if not rationale.strip():
        raise DomainError("rationale: give the reasons for the decision")
    now = clock.now()
    if held_at > now + dt.timedelta(minutes=5):
        raise DomainError("held_at: an outcome is recorded once the discussion has been held")
    with transaction.atomic():
        locked = _locked(discussion)
        _require_called(locked, "an outcome can be recorded")
        # Children's social care convenes and chairs: unless the chair recorded otherwise, it
        # attended, in the person of whoever records the outcome.
        locked.participants.filter(
            role=R.CHILDREN_SOCIAL_CARE, attendance=Attendance.NOT_RECORDED
        ).update(
            attendance=Attendance.ATTENDED, attended_name=by.display_name, attended_role="Chair"
        )
        missing = missing_statutory(locked)
        names = [f"{p.get_role_display().lower()} ({p.agency.name})" for p in missing]
        if missing and not missing_reason.strip():
            raise DomainError(
                "missing_reason: "
                + " and ".join(names)
                + (" has" if len(names) == 1 else " have")
                + " neither attended nor sent information: record why the outcome is recorded "
                "without them, and whether to meet again"
            )
        if missing and reconvene is None:
            raise DomainError("reconvene: say whether the discussion meets again")
        children = list(locked.children.select_related("contact"))
        for child in children:
            text = risks.get(child.contact_id) or risks.get(str(child.contact_id)) or ""
            child.risks = text
            child.save(update_fields=["risks"])
        locked.status = DiscussionStatus.HELD
        locked.held_at = held_at
        locked.outcome_recorded_at = now
        locked.outcome_recorded_by = by
        locked.enquiry = enquiry
        locked.immediate_protection = immediate_protection
        locked.outcome_rationale = rationale
        locked.icpc_date = icpc_date
        locked.icpc_arranged_by = icpc_arranged_by
        locked.missing_agencies = names
        locked.missing_reason = missing_reason if missing else ""
        locked.reconvene = reconvene if missing else None
        n = clock_lengths(policy_active().rules)["icpc_working_days"]
        if enquiry != Enquiry.NONE:
            locked.icpc_target = _icpc_target(children, held_at=held_at, n=n)
        locked.save()
        for child in children:
            clock_meet(contact_id=child.contact_id, kind=ClockKind.STRATEGY_DISCUSSION, at=held_at)
            if locked.icpc_target is not None:
                _start_icpc(child.contact, locked, held_at=held_at, n=n)
                _enquiry_record(child.contact, locked, by=by, held_at=held_at, n=n)
            _refresh_next_due(child.contact)
        audit_record(
            actor=by,
            action=Action.UPDATE,
            obj=locked,
            detail={
                "status_to": "held",
                "held_at": held_at.isoformat(),
                "enquiry": enquiry,
                "immediate_protection": immediate_protection,
                "icpc_target": locked.icpc_target.isoformat() if locked.icpc_target else None,
                "missing": names,
                "reconvene": locked.reconvene,
            },
        )
    return locked


def _enquiry_record(
    contact: Contact, discussion: StrategyDiscussion, *, by: User, held_at: dt.datetime, n: int
) -> None:
    """The child's section 47 enquiry, initiated here unless one started by an earlier discussion
    is still open (its conference not yet recorded): the census counts the initiating one."""
    episode = getattr(contact, "episode", None)
    if (
        episode is not None
        and episode.enquiries.filter(icpc_on__isnull=True, icpc_not_required=False).exists()
    ):
        return
    held_on = london_date(held_at)
    enquiry_start(
        contact=contact,
        discussion=discussion,
        by=by,
        started_on=held_on,
        icpc_target=add_working_days(held_on, n),
    )


def _open_icpc(contact_id: Any) -> Clock | None:
    return Clock.objects.filter(
        contact_id=contact_id,
        kind=ClockKind.ICPC,
        met_at__isnull=True,
        state__in=[ClockState.RUNNING, ClockState.BREACHED],
    ).first()


def _icpc_target(children: list[DiscussionChild], *, held_at: dt.datetime, n: int) -> dt.date:
    """The conference's target date: the n-th working day after this discussion; under the
    "initiating" anchor, a child whose enquiry an earlier discussion started keeps that one's
    target, and the discussion states the soonest of its children's."""
    own = add_working_days(london_date(held_at), n)
    if settings.SAFEHUB_ICPC_ANCHOR != "initiating":
        return own
    targets = [own]
    for child in children:
        existing = _open_icpc(child.contact_id)
        if existing is not None:
            targets.append(london_date(existing.due_at))
    return min(targets)


def _start_icpc(
    contact: Contact, discussion: StrategyDiscussion, *, held_at: dt.datetime, n: int
) -> None:
    existing = _open_icpc(contact.pk)
    if _icpc_anchor_keeps(existing):
        return  # anchored on the discussion that started the enquiry
    if existing is not None:
        clocks_stop(
            contact_id=contact.pk,
            kinds=[ClockKind.ICPC],
            reason=f"Re-anchored on the later strategy discussion {discussion.reference}",
            at=held_at,
        )
    clock_start(
        contact=contact,
        kind=ClockKind.ICPC,
        started_at=held_at,
        due_at=end_of_working_day(add_working_days(london_date(held_at), n)),
        rule=f"End of the {n}th working day after the strategy discussion {discussion.reference}",
    )


def action_add(
    *,
    discussion: StrategyDiscussion,
    by: User,
    description: str,
    owner_name: str,
    agency: Agency,
    due_on: dt.date,
) -> DiscussionAction:
    """An action with an owner, their agency and a due date, followed up until done."""
    discussion = discussion_for_chair(user=by, discussion_id=discussion.pk)
    if not description.strip():
        raise DomainError("description: say what is to be done")
    if not owner_name.strip():
        raise DomainError("owner_name: say who does it")
    with transaction.atomic():
        locked = _locked(discussion)
        if locked.status == DiscussionStatus.CANCELLED:
            raise Conflict("The discussion is cancelled.", code="illegal_transition")
        action = DiscussionAction.objects.create(
            discussion=locked,
            description=description,
            owner_name=owner_name,
            agency=agency,
            due_on=due_on,
            created_by=by,
            created_at=clock.now(),
        )
        audit_record(
            actor=by,
            action=Action.CREATE,
            obj=action,
            detail={"discussion": str(locked.pk), "agency": agency.code, "due_on": str(due_on)},
        )
    return action


def action_done(*, action: DiscussionAction, by: User, note: str) -> DiscussionAction:
    discussion_for_chair(user=by, discussion_id=action.discussion_id)
    with transaction.atomic():
        locked = DiscussionAction.objects.select_for_update().get(pk=action.pk)
        if locked.done_at is not None:
            raise Conflict("The action is already done.", code="illegal_transition")
        locked.done_at = clock.now()
        locked.done_by = by
        locked.done_note = note
        locked.save(update_fields=["done_at", "done_by", "done_note"])
        audit_record(
            actor=by, action=Action.UPDATE, obj=locked, detail={"done": True, "note": note}
        )
    return locked


def refusal_record(
    *,
    discussion: StrategyDiscussion,
    by: User,
    recipient_agency: Agency,
    kind: str,
    withheld: str,
    reason: str,
) -> Any:
    """The chair's decision not to share something with an agency (golden rule 7: recorded
    whether or not one shares), with what was withheld and why."""
    discussion = discussion_for_chair(user=by, discussion_id=discussion.pk)
    if not withheld.strip():
        raise DomainError("withheld: say what is not shared")
    with transaction.atomic():
        locked = _locked(discussion)
        return sharing_record(
            by=by,
            from_agency=locked.local_authority,
            shared=False,
            kind=kind,
            recipient_agency=recipient_agency,
            recipient=recipient_agency.name,
            fields=[withheld.strip()],
            purpose=PURPOSE,
            lawful_basis=LawfulBasis.NONE,
            consent=locked.consent,
            reason=reason,
            contact=locked.contact,
            discussion=locked,
            obj=locked,
        )


def minutes_send(*, discussion: StrategyDiscussion, by: User) -> StrategyDiscussion:
    """E-mail the minutes (PDF) to every agency invited, each a recorded disclosure."""
    discussion = discussion_for_chair(user=by, discussion_id=discussion.pk)
    with transaction.atomic():
        locked = _locked(discussion)
        if locked.status != DiscussionStatus.HELD:
            raise Conflict("Minutes are sent once the outcome is recorded.", code="not_held")
        pdf = minutes_pdf(locked)
        attachment = {
            "filename": f"strategy-discussion-{locked.reference}.pdf",
            "content_base64": base64.b64encode(pdf).decode(),
            "content_type": "application/pdf",
        }
        for participant in participants_of(locked):
            if participant.role == R.CHILDREN_SOCIAL_CARE:
                continue
            outbox_enqueue(
                recipients=[participant.invitee_email],
                subject=f"Minutes: strategy discussion {locked.reference}",
                body=(
                    f"The minutes of strategy discussion {locked.reference}, held by "
                    f"{locked.local_authority.name}, are attached.\n\nThey are "
                    "OFFICIAL-SENSITIVE: keep them in your agency's records; share them only "
                    "with those who need them to keep the children safe.\n"
                ),
                reason="strategy_discussion_minutes",
                obj=participant,
                attachments=[attachment],
            )
            sharing_record(
                by=by,
                from_agency=locked.local_authority,
                shared=True,
                kind=SharingKind.MINUTES,
                recipient_agency=participant.agency,
                recipient=participant.invitee_email,
                fields=[
                    "children.names_and_dates_of_birth",
                    "children.risks",
                    "agencies.information",
                    "attendance",
                    "decision",
                    "icpc",
                    "actions",
                ],
                purpose=PURPOSE,
                lawful_basis=LawfulBasis.PUBLIC_TASK_SAFEGUARDING,
                consent=locked.consent,
                reason=(
                    f"{participant.agency.name} took part as "
                    f"{participant.get_role_display().lower()} and has actions or a role in "
                    "what follows."
                ),
                contact=locked.contact,
                discussion=locked,
                obj=locked,
            )
        locked.minutes_sent_at = clock.now()
        locked.save(update_fields=["minutes_sent_at"])
    return locked


# --- The sweep ------------------------------------------------------------------------------------


def meetings_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Chase, once, every open request whose deadline is near (`SAFEHUB_REQUEST_CHASE_MINUTES`
    before it) and that nobody has chased yet; remind once the owner's agency of an action past
    its due date. Safe to run at any time."""
    now = now or clock.now()
    near = now + dt.timedelta(minutes=settings.SAFEHUB_REQUEST_CHASE_MINUTES)
    chased = 0
    for request in InformationRequest.objects.filter(
        status=RequestStatus.OPEN,
        chase_count=0,
        deadline__lte=near,
        participant__discussion__status=DiscussionStatus.CALLED,
    ):
        try:
            request_chase(request=request)
            chased += 1
        except Conflict:
            pass  # answered meanwhile
    reminded = 0
    today = london_date(now)
    for action in DiscussionAction.objects.filter(
        done_at__isnull=True, chased_at__isnull=True, due_on__lt=today
    ).select_related("agency", "discussion"):
        with transaction.atomic():
            claimed = DiscussionAction.objects.filter(pk=action.pk, chased_at__isnull=True).update(
                chased_at=now
            )
            if not claimed or not action.agency.email:
                continue
            outbox_enqueue(
                recipients=[action.agency.email],
                subject=f"Overdue action: strategy discussion {action.discussion.reference}",
                body=(
                    f"An action agreed at strategy discussion {action.discussion.reference} for "
                    f"{action.owner_name} ({action.agency.name}) was due on "
                    f"{action.due_on:%-d %B %Y} and is not recorded as done. Please tell "
                    f"{action.discussion.local_authority.name}'s hub.\n"
                ),
                reason="strategy_discussion_action_overdue",
                obj=action,
            )
            reminded += 1
    return {"chased": chased, "actions_reminded": reminded}
