"""Strategy discussions, service by service (safehub.meetings.services).

The spec's high-risk example is received at 09:00 on Tuesday 24 November 2026: Amy (C1, a pupil
of Birkenhead St Mary's, URN 900001) and Leo (C2, aged two), both rated red, in Wirral (LA344).
Alice, a Wirral hub social worker, decides on a section 47 strategy discussion for both and calls
one for 14:00 the same day, inviting Wirral children's social care, Merseyside Police (MSP),
Wirral's community health trust (RY7), Amy's school and the Wirral domestic abuse service
(DAS-WIR). Hana is a health practitioner of RY7; Morgan is the school's safeguarding lead; Harriet
(Alder Hey, RBS) is a health practitioner of an agency that is not invited.
"""

import datetime as dt
from collections import Counter
from email.message import EmailMessage

import pytest
from icalendar import Calendar

from safehub.accounts.models import Agency
from safehub.audit.models import Action, AuditEvent
from safehub.core import clock
from safehub.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from safehub.core.models import OutboxMessage, OutboxStatus
from safehub.core.outbox import outbox_deliver_due
from safehub.core.testing import example_bytes
from safehub.intake.models import Channel
from safehub.intake.services import notification_receive
from safehub.meetings.models import (
    Attendance,
    DiscussionAction,
    DiscussionChild,
    DiscussionFormat,
    DiscussionMode,
    DiscussionStatus,
    Enquiry,
    InformationRequest,
    Participant,
    ParticipantRole,
    RequestStatus,
    Response,
    StrategyDiscussion,
)
from safehub.meetings.services import (
    AttendanceEntry,
    Invitation,
    action_add,
    action_done,
    attendance_record,
    discussion_call,
    discussion_cancel,
    discussion_reschedule,
    invitation_respond,
    meetings_sweep,
    minutes_send,
    outcome_record,
    participant_add,
    request_answer,
)
from safehub.referrals.decisions import contact_decide, contact_reassign
from safehub.referrals.models import Contact, Outcome
from safehub.sharing.models import LawfulBasis, Shared, SharingDecision, SharingKind
from safehub.timescales.calendar import add_working_days, end_of_working_day
from safehub.timescales.models import Clock, ClockKind, ClockState

UTC = dt.UTC
R = ParticipantRole
# frozen_now: Tuesday 24 Nov 2026, 09:00 GMT (London is on UTC in November).
T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
STARTS = dt.datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
ENDS = dt.datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
AFTER = dt.datetime(2026, 11, 24, 15, 30, tzinfo=UTC)  # the chair records the outcome
# A red contact's discussion is due by the end of the same London day: 23:59:59 GMT.
END_OF_TUESDAY = dt.datetime(2026, 11, 24, 23, 59, 59, tzinfo=UTC)

HEALTH_NAME = "Wirral Community Health and Care NHS Foundation Trust"
EMAILS = {
    "MSP": "ppn.msp@police.example",
    "RY7": "safeguarding.ry7@nhs.example",
    "URN900001": "dsl.900001@school.example",  # the school's safeguarding lead, not its office
    "DAS-WIR": "referrals.das-wir@da.example",
    "LA344": "mash@wirral.council.example",
}
PARTNERS = ["MSP", "RY7", "URN900001", "DAS-WIR"]  # everyone but children's social care

# What no invitation, calendar entry or invitation e-mail may hold: the children's and the
# adults' names, dates of birth, the address.
NAMES = [
    "Amy",
    "Leo",
    "Jane",
    "John",
    "2017-06-11",
    "2024-01-20",
    "1992-04-02",
    "1989-09-30",
    "14 Example Road",
    "CH41 6AB",
]


# --- Fixtures and helpers ---------------------------------------------------------------------


def agency(code: str) -> Agency:
    return Agency.objects.get(code=code)


def invitations(*, without: tuple[str, ...] = ()) -> list[Invitation]:
    everyone = [
        Invitation(R.CHILDREN_SOCIAL_CARE, agency("LA344")),
        Invitation(R.POLICE, agency("MSP")),
        Invitation(R.HEALTH, agency("RY7")),
        Invitation(R.SCHOOL, agency("URN900001")),
        Invitation(R.DOMESTIC_ABUSE, agency("DAS-WIR")),
    ]
    return [i for i in everyone if i.role not in without]


def call(
    contact: Contact,
    by,
    children: list[Contact],
    *,
    starts_at: dt.datetime = STARTS,
    invited: list[Invitation] | None = None,
) -> StrategyDiscussion:
    return discussion_call(
        contact=contact,
        called_by=by,
        children=children,
        reason="Strangulation reported; both children in the house; threats to kill.",
        format=DiscussionFormat.MEETING,
        mode=DiscussionMode.HYBRID,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=1),
        location="Wirral MASH, Cheshire Lines Building, room 2, or by video",
        invitations=invitations() if invited is None else invited,
    )


@pytest.fixture
def household(reference, frozen_now, alice, mary) -> dict[str, Contact]:
    """The high-risk example received at 09:00: Amy (C1) and Leo (C2), by child ref."""
    receipt = notification_receive(
        raw=example_bytes("notification-high-risk.json"), channel=Channel.API
    )
    return {c.child_ref: c for c in Contact.objects.filter(notification=receipt.notification)}


@pytest.fixture
def decided(household, alice, mary) -> dict[str, Contact]:
    """Mary gives both children to Alice, who decides on a section 47 strategy discussion."""
    for contact in household.values():
        contact_reassign(contact=contact, to_user=alice, by=mary, reason="Hub allocation")
        contact_decide(
            contact=contact,
            decided_by=alice,
            outcome=Outcome.STRATEGY_DISCUSSION_S47,
            rationale="Reasonable cause to suspect significant harm.",
        )
    return {ref: Contact.objects.get(pk=c.pk) for ref, c in household.items()}


@pytest.fixture
def discussion(decided, alice) -> StrategyDiscussion:
    return call(decided["C1"], alice, [decided["C1"], decided["C2"]])


@pytest.fixture
def hana(make_user):
    return make_user("hana", "RY7", "health_practitioner")


@pytest.fixture
def morgan(make_user):
    return make_user("morgan", "URN900001", "education_safeguarding_lead")


def participant(discussion: StrategyDiscussion, code: str) -> Participant:
    return Participant.objects.get(discussion=discussion, agency__code=code)


def request_of(discussion: StrategyDiscussion, code: str) -> InformationRequest:
    return InformationRequest.objects.get(
        participant__discussion=discussion, participant__agency__code=code
    )


def events(obj, **filters) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            object_type=obj._meta.label_lower, object_id=str(obj.pk), **filters
        ).order_by("id")
    )


def all_attend(discussion: StrategyDiscussion, *codes: str) -> None:
    """The chair records the agencies given as attended; the others are left as they are."""
    attendance_record(
        discussion=discussion,
        by=discussion.chair,
        entries=[
            AttendanceEntry(
                participant(discussion, code).pk, Attendance.ATTENDED, f"Someone of {code}", "Lead"
            )
            for code in codes
        ],
    )


def record_outcome(discussion: StrategyDiscussion, *, held_at=STARTS, enquiry=Enquiry.SINGLE, **kw):
    kw.setdefault("immediate_protection", False)
    kw.setdefault("rationale", "Threshold for significant harm met.")
    kw.setdefault("risks", {})
    return outcome_record(
        discussion=discussion, by=discussion.chair, held_at=held_at, enquiry=enquiry, **kw
    )


def calendar_parts(message: EmailMessage) -> list[Calendar]:
    return [
        Calendar.from_ical(part.get_content())
        for part in message.walk()
        if part.get_content_type() == "text/calendar"
    ]


def invitation_messages(sink) -> list[EmailMessage]:
    """What the SMTP server received that carries a calendar entry (not the Encompass notice)."""
    return [m for m in sink.messages if calendar_parts(m)]


def message_text(message: EmailMessage) -> str:
    """Every header and every part, decoded, with iCalendar's folded lines unfolded."""
    texts = [f"{k}: {v}" for k, v in message.items()]
    for part in message.walk():
        if part.is_multipart():
            continue
        texts += [f"{k}: {v}" for k, v in part.items()]
        content = part.get_content()
        texts.append(content.decode("latin-1") if isinstance(content, bytes) else content)
    return "\n".join(texts).replace("\r\n ", "").replace("\n ", "")


def vevent(cal: Calendar):
    [event] = cal.walk("VEVENT")
    return event


def counts() -> dict[str, int]:
    return {
        "discussions": StrategyDiscussion.objects.count(),
        "participants": Participant.objects.count(),
        "requests": InformationRequest.objects.count(),
        "sharing": SharingDecision.objects.count(),
        "outbox": OutboxMessage.objects.count(),
        "audit": AuditEvent.objects.count(),
        "clocks": Clock.objects.count(),
    }


# --- Calling a discussion -------------------------------------------------------------------


def test_a_section_47_decision_calls_a_discussion_for_both_children_due_by_their_clock(
    decided, discussion, alice
):
    amy, leo = decided["C1"], decided["C2"]
    # The high-risk example rates both children red: the discussion is due the same day.
    assert (amy.rag, leo.rag) == ("red", "red")
    clocks = Clock.objects.filter(kind=ClockKind.STRATEGY_DISCUSSION, contact__in=[amy, leo])
    assert sorted(c.due_at for c in clocks) == [END_OF_TUESDAY, END_OF_TUESDAY]
    assert discussion.due_at == END_OF_TUESDAY
    assert discussion.decision == amy.decisions.get()
    assert discussion.contact == amy
    assert {c.contact_id for c in discussion.children.all()} == {amy.pk, leo.pk}
    assert (discussion.status, discussion.chair, discussion.called_by) == ("called", alice, alice)
    assert discussion.called_at == T0
    assert discussion.sequence == 0
    [created] = events(discussion, action=Action.CREATE)
    assert set(created.detail["children"]) == {str(amy.pk), str(leo.pk)}
    assert created.detail["due_at"] == END_OF_TUESDAY.isoformat()


def test_an_amber_child_called_without_a_clock_gets_one_by_the_next_working_day(household, mary):
    """A child with no running discussion clock gets one from the call: red → same day (the
    example's children are red), so make Leo amber to see the other rule."""
    leo = household["C2"]
    Contact.objects.filter(pk=leo.pk).update(rag="amber")
    leo.refresh_from_db()
    d = call(leo, mary, [leo])
    # One working day after Tuesday: the end of Wednesday 25 November.
    assert d.due_at == dt.datetime(2026, 11, 25, 23, 59, 59, tzinfo=UTC)
    assert Clock.objects.get(contact=leo, kind=ClockKind.STRATEGY_DISCUSSION).due_at == d.due_at


def test_a_manager_calls_one_from_an_open_contact_without_a_decision(household, mary):
    amy = household["C1"]
    assert not amy.decisions.exists()
    d = call(amy, mary, [amy])
    assert d.decision is None and d.chair == mary
    clock_ = Clock.objects.get(contact=amy, kind=ClockKind.STRATEGY_DISCUSSION)
    assert (clock_.started_at, clock_.due_at, d.due_at) == (T0, END_OF_TUESDAY, END_OF_TUESDAY)


def test_a_social_worker_cannot_call_one_without_a_decision_and_nothing_is_left(household, alice):
    amy = household["C1"]
    before = counts()
    with pytest.raises(PermissionDenied):
        call(amy, alice, [amy])
    assert counts() == before
    assert not Clock.objects.filter(contact=amy, kind=ClockKind.STRATEGY_DISCUSSION).exists()


def test_a_discussion_without_health_is_refused_naming_health(decided, alice):
    amy = decided["C1"]
    before = counts()
    with pytest.raises(DomainError) as refused:
        call(amy, alice, [amy], invited=invitations(without=(R.HEALTH,)))
    assert refused.value.message.startswith("participants:")
    # It names what is missing (health) first, then the minimum.
    assert refused.value.message.startswith("participants: invite health:")
    assert counts() == before


def test_a_second_call_for_a_child_while_one_is_open_is_a_conflict(decided, discussion, alice):
    leo = decided["C2"]
    before = counts()
    with pytest.raises(Conflict) as refused:
        call(leo, alice, [leo])
    assert refused.value.code == "already_called"
    assert discussion.reference in refused.value.message
    assert counts() == before


# --- Invitations and information requests ------------------------------------------------------


def test_every_partner_is_asked_by_a_deadline_before_it_starts(decided, alice, settings):
    settings.SAFEHUB_REQUEST_LEAD_MINUTES = 45
    d = call(decided["C1"], alice, [decided["C1"], decided["C2"]])
    participants = {p.agency.code: p for p in d.participants.select_related("agency")}
    assert sorted(participants) == sorted(["LA344", *PARTNERS])
    assert not InformationRequest.objects.filter(participant=participants["LA344"]).exists()
    for code in PARTNERS:
        request = participants[code].request
        assert request.deadline == STARTS - dt.timedelta(minutes=45), code
        assert (request.status, request.sent_at) == (RequestStatus.OPEN, T0)
        assert request.question.strip()
        assert participants[code].invitee_email == EMAILS[code]
    # Statutory: children's social care, police, health; not the school nor the DA service.
    assert {c for c, p in participants.items() if p.statutory} == {"LA344", "MSP", "RY7"}


def test_the_school_is_asked_about_its_own_pupil_and_no_adult(discussion):
    subjects = request_of(discussion, "URN900001").subjects
    assert [(s["who"], s["given_names"], s["family_name"]) for s in subjects] == [
        ("child", "Amy", "Example")
    ]
    assert subjects[0]["date_of_birth"] == "2017-06-11"
    text = repr(subjects)
    for word in ("Jane", "John", "Leo", "adult", "Adult", "14 Example Road"):
        assert word not in text, word


def test_the_police_are_asked_about_the_children_and_the_adults(discussion):
    subjects = request_of(discussion, "MSP").subjects
    children = {s["given_names"] for s in subjects if s["who"] == "child"}
    adults = {(s["given_names"], s["relationship"]) for s in subjects if s["who"] == "adult"}
    assert children == {"Amy", "Leo"}
    assert adults == {("Jane", "Adult victim"), ("John", "Suspect")}
    jane = next(s for s in subjects if s.get("given_names") == "Jane")
    assert jane["address"] == "14 Example Road, Birkenhead, CH41 6AB"
    assert jane["date_of_birth"] == "1992-04-02"


def test_health_is_asked_about_both_children_and_the_adults_without_their_address(discussion):
    subjects = request_of(discussion, "RY7").subjects
    assert {s["given_names"] for s in subjects} == {"Amy", "Leo", "Jane", "John"}
    assert all("address" not in s for s in subjects)


def test_each_partner_gets_one_invitation_and_one_request_as_recorded_disclosures(discussion):
    decisions = SharingDecision.objects.filter(discussion=discussion)
    by = Counter((d.recipient_agency.code, d.kind) for d in decisions)
    # The council's own invitation (to its chair) discloses nothing to a partner: no row.
    expected = Counter({(code, SharingKind.INVITATION): 1 for code in PARTNERS})
    expected.update({(code, SharingKind.INFORMATION_REQUEST): 1 for code in PARTNERS})
    assert by == expected
    for decision in decisions:
        code = decision.recipient_agency.code
        assert decision.shared == Shared.SHARED
        assert decision.lawful_basis == LawfulBasis.PUBLIC_TASK_SAFEGUARDING
        assert decision.recipient == EMAILS[code]
        assert decision.from_agency.code == "LA344"
        assert decision.fields
        assert decision.made_by == discussion.called_by
        assert decision.reason.strip() and decision.purpose.strip()
        if decision.kind == SharingKind.INVITATION:
            # The invitation shares the discussion's reference, time and place, no one's name.
            assert all(f.startswith("discussion.") for f in decision.fields)
            assert decision.object_id == str(participant(discussion, code).pk)
        else:
            assert "request.question" in decision.fields
            assert decision.object_id == str(request_of(discussion, code).pk)
    school = decisions.get(kind=SharingKind.INFORMATION_REQUEST, recipient_agency__code="URN900001")
    assert not [f for f in school.fields if f.startswith("adult.")]
    police = decisions.get(kind=SharingKind.INFORMATION_REQUEST, recipient_agency__code="MSP")
    assert "adult.given_names" in police.fields and "adult.relationship" in police.fields


def test_an_agency_invited_later_is_asked_and_recorded_like_the_others(decided, alice):
    amy, leo = decided["C1"], decided["C2"]
    d = call(amy, alice, [amy, leo], invited=invitations(without=(R.DOMESTIC_ABUSE,)))
    assert not SharingDecision.objects.filter(recipient_agency__code="DAS-WIR").exists()
    added = participant_add(
        discussion=d, by=alice, invitation=Invitation(R.DOMESTIC_ABUSE, agency("DAS-WIR"))
    )
    assert (added.statutory, added.invitee_email) == (False, EMAILS["DAS-WIR"])
    assert added.request.deadline == STARTS - dt.timedelta(minutes=60)
    assert {s["given_names"] for s in added.request.subjects} == {"Amy", "Leo", "Jane", "John"}
    kinds = SharingDecision.objects.filter(recipient_agency__code="DAS-WIR").values_list(
        "kind", flat=True
    )
    assert sorted(kinds) == ["information_request", "invitation"]
    assert OutboxMessage.objects.filter(recipients=[EMAILS["DAS-WIR"]]).count() == 1
    assert [e.detail for e in events(d, action=Action.UPDATE)] == [
        {"invited": "domestic_abuse:DAS-WIR"}
    ]
    before = counts()
    with pytest.raises(DomainError, match=r"^participants:"):
        participant_add(
            discussion=d, by=alice, invitation=Invitation(R.DOMESTIC_ABUSE, agency("DAS-WIR"))
        )
    assert counts() == before


# --- The e-mails, through a real SMTP server ---------------------------------------------------


def test_every_partner_receives_an_invitation_that_names_no_one(discussion, smtp):
    outbox_deliver_due()
    received = {m["To"]: m for m in invitation_messages(smtp)}
    assert sorted(received) == sorted(EMAILS.values())
    for code in ["MSP", "RY7", "URN900001"]:
        message = received[EMAILS[code]]
        [cal] = calendar_parts(message)
        [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        assert (part.get_content_disposition(), part.get_filename()) == (
            "attachment",
            "invitation.ics",
        )
        event = vevent(cal)
        assert str(cal["METHOD"]) == "REQUEST"
        assert str(event["UID"]) == f"{discussion.pk}@safehub"
        assert event["DTSTART"].dt == STARTS
        assert event["DTEND"].dt == ENDS
        assert int(event["SEQUENCE"]) == 0
        assert str(event["ATTENDEE"]) == f"mailto:{EMAILS[code]}"
        assert discussion.reference in message["Subject"]
        text = message_text(message)
        assert discussion.reference in text
        for word in NAMES:
            assert word not in text, (code, word)
    police = vevent(calendar_parts(received[EMAILS["MSP"]])[0])
    school = vevent(calendar_parts(received[EMAILS["URN900001"]])[0])
    assert police["ATTENDEE"].params["ROLE"] == "REQ-PARTICIPANT"
    assert school["ATTENDEE"].params["ROLE"] == "OPT-PARTICIPANT"


def test_a_rescheduled_discussion_sends_the_update_with_the_next_sequence(discussion, alice, smtp):
    outbox_deliver_due()
    first = len(invitation_messages(smtp))
    later = dt.datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    d = discussion_reschedule(
        discussion=discussion,
        by=alice,
        starts_at=later,
        ends_at=later + dt.timedelta(hours=1),
        location="By video only",
        mode=DiscussionMode.REMOTE,
        reason="Police officer in court until 15:30",
    )
    assert d.sequence == 1
    assert request_of(d, "MSP").deadline == later - dt.timedelta(minutes=60)
    outbox_deliver_due()
    updates = invitation_messages(smtp)[first:]
    assert sorted(m["To"] for m in updates) == sorted(EMAILS.values())
    for message in updates:
        [cal] = calendar_parts(message)
        event = vevent(cal)
        assert str(cal["METHOD"]) == "REQUEST"
        assert str(event["UID"]) == f"{discussion.pk}@safehub"
        assert int(event["SEQUENCE"]) == 1
        assert event["DTSTART"].dt == later
        assert str(event["LOCATION"]) == "By video only"
        assert message["Subject"].strip().startswith("Updated:")
        for word in NAMES:
            assert word not in message_text(message), word
    [changed] = [e for e in events(d, action=Action.UPDATE) if "before" in e.detail]
    assert changed.detail["before"]["starts_at"] == STARTS.isoformat()


def test_a_cancelled_discussion_sends_method_cancel_and_withdraws_the_requests(
    decided, discussion, alice, smtp
):
    outbox_deliver_due()
    first = len(invitation_messages(smtp))
    d = discussion_cancel(
        discussion=discussion, by=alice, reason="Children placed with family", still_needed=False
    )
    assert (d.status, d.sequence) == (DiscussionStatus.CANCELLED, 1)
    assert set(
        InformationRequest.objects.filter(participant__discussion=d).values_list(
            "status", flat=True
        )
    ) == {RequestStatus.WITHDRAWN}
    outbox_deliver_due()
    cancels = invitation_messages(smtp)[first:]
    assert sorted(m["To"] for m in cancels) == sorted(EMAILS.values())
    for message in cancels:
        [cal] = calendar_parts(message)
        event = vevent(cal)
        assert str(cal["METHOD"]) == "CANCEL"
        assert str(event["STATUS"]) == "CANCELLED"
        assert str(event["UID"]) == f"{discussion.pk}@safehub"
        assert int(event["SEQUENCE"]) == 1
    # Not needed any more: the children's discussion clocks stop, with the reason.
    for contact in decided.values():
        c = Clock.objects.get(contact=contact, kind=ClockKind.STRATEGY_DISCUSSION)
        assert c.state == ClockState.STOPPED and "Children placed with family" in c.stop_reason
    [cancelled] = [e for e in events(d, action=Action.UPDATE) if e.detail.get("status_to")]
    assert cancelled.detail == {
        "status_to": "cancelled",
        "reason": "Children placed with family",
        "still_needed": False,
    }
    with pytest.raises(Conflict):
        discussion_cancel(discussion=d, by=alice, reason="again", still_needed=True)


def test_invitations_survive_a_mail_server_outage_and_arrive_exactly_once(discussion, smtp):
    smtp.stop()
    invitations_ = OutboxMessage.objects.filter(reason="strategy_discussion_invitation")
    assert invitations_.count() == 5
    assert outbox_deliver_due() == 0
    for message in OutboxMessage.objects.all():
        assert (message.status, message.attempts) == (OutboxStatus.PENDING, 1)
        assert message.last_error
    assert smtp.messages == []

    smtp.start()  # the same port: settings.MAILERS still points at it
    retry = max(OutboxMessage.objects.values_list("next_attempt_at", flat=True))
    assert retry > T0
    # Not yet due: nothing is tried before its retry time.
    assert outbox_deliver_due() == 0
    with clock.frozen(retry + dt.timedelta(seconds=1)):
        assert outbox_deliver_due() == OutboxMessage.objects.count()
        assert outbox_deliver_due() == 0
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}
    received = Counter(m["To"] for m in invitation_messages(smtp))
    assert received == Counter({email: 1 for email in EMAILS.values()})


def test_a_partners_mailbox_down_for_an_hour_loses_nothing(discussion, smtp):
    """The worker sweeps the outbox every minute. With the mail server down for an hour every
    attempt fails and is retried later (none is given up: the delays grow to at most an hour,
    twelve attempts); back up, each invitation arrives once, with the discussion's own .ics."""
    smtp.stop()
    minute = dt.timedelta(minutes=1)
    for n in range(60):
        with clock.frozen(T0 + n * minute):
            assert outbox_deliver_due() == 0
    pending = OutboxMessage.objects.filter(reason="strategy_discussion_invitation")
    assert {m.status for m in pending} == {OutboxStatus.PENDING}
    assert all(1 < m.attempts < 12 and m.last_error for m in pending)
    assert smtp.messages == []
    smtp.start()
    for n in range(60, 180):  # the longest delay reached is about half an hour
        with clock.frozen(T0 + n * minute):
            outbox_deliver_due()
    assert {m.status for m in pending.all()} == {OutboxStatus.SENT}
    received = Counter(m["To"] for m in invitation_messages(smtp))
    assert received == Counter({email: 1 for email in EMAILS.values()})
    for message in invitation_messages(smtp):
        assert str(vevent(calendar_parts(message)[0])["UID"]) == f"{discussion.pk}@safehub"


# --- Partners reply -------------------------------------------------------------------------------


def test_health_accepts_the_invitation(discussion, hana):
    [p] = invitation_respond(
        discussion=discussion, by=hana, response=Response.ACCEPTED, note="Dr Patel"
    )
    p.refresh_from_db()
    assert (p.agency.code, p.response, p.responded_by, p.responded_at) == (
        "RY7",
        "accepted",
        hana,
        T0,
    )
    assert participant(discussion, "MSP").response == Response.PENDING
    [event] = events(p, action=Action.UPDATE)
    assert event.detail["response"] == "accepted"


def test_health_delegates_to_a_named_colleague_who_gets_the_invitation(discussion, hana):
    with pytest.raises(DomainError) as refused:
        invitation_respond(
            discussion=discussion, by=hana, response=Response.DELEGATED, delegate_name="Dr Locum"
        )
    assert refused.value.message.startswith("delegate_name:")
    assert participant(discussion, "RY7").response == Response.PENDING

    invitation_respond(
        discussion=discussion,
        by=hana,
        response=Response.DELEGATED,
        delegate_name="Dr Pat Locum",
        delegate_email="pat.locum@nhs.example",
    )
    p = participant(discussion, "RY7")
    assert (p.response, p.delegate_name, p.delegate_email) == (
        "delegated",
        "Dr Pat Locum",
        "pat.locum@nhs.example",
    )
    [sent] = OutboxMessage.objects.filter(recipients=["pat.locum@nhs.example"])
    assert sent.reason == "strategy_discussion_invitation"
    assert [a["content_type"] for a in sent.attachments] == ["text/calendar"]
    [shared] = SharingDecision.objects.filter(recipient="pat.locum@nhs.example")
    assert (shared.kind, shared.recipient_agency.code, shared.made_by) == (
        "invitation",
        "RY7",
        hana,
    )


def test_health_sends_information_instead(discussion, hana):
    invitation_respond(
        discussion=discussion, by=hana, response=Response.INFORMATION_INSTEAD, note="Clinic all day"
    )
    p = participant(discussion, "RY7")
    assert (p.response, p.response_note) == ("information_instead", "Clinic all day")


def test_an_agency_not_invited_cannot_reply_or_answer(discussion, harriet):
    before = counts()
    with pytest.raises(NotFound):
        invitation_respond(discussion=discussion, by=harriet, response=Response.ACCEPTED)
    with pytest.raises(NotFound):
        request_answer(discussion=discussion, by=harriet, answer="Known to us")
    assert counts() == before
    assert set(Participant.objects.values_list("response", flat=True)) == {Response.PENDING}


def test_health_answers_its_request_and_shares_on_a_lawful_basis(discussion, hana):
    request = request_answer(discussion=discussion, by=hana, answer="Missed two health visits.")
    request.refresh_from_db()
    assert (request.status, request.answer, request.answered_by, request.answered_at) == (
        RequestStatus.ANSWERED,
        "Missed two health visits.",
        hana,
        T0,
    )
    [answer] = SharingDecision.objects.filter(kind=SharingKind.ANSWER)
    assert answer.shared == Shared.SHARED
    assert answer.lawful_basis == LawfulBasis.PUBLIC_TASK_SAFEGUARDING
    assert (answer.from_agency.code, answer.recipient_agency.code) == ("RY7", "LA344")
    assert answer.object_id == str(request.pk)
    assert events(answer, action=Action.DISCLOSE)
    assert [e.detail["status_to"] for e in events(request, action=Action.UPDATE)] == ["answered"]


def test_the_police_share_under_law_enforcement(discussion, percy):
    request_answer(discussion=discussion, by=percy, answer="Two previous call-outs.")
    answer = SharingDecision.objects.get(kind=SharingKind.ANSWER)
    assert (answer.from_agency.code, answer.lawful_basis) == ("MSP", LawfulBasis.LAW_ENFORCEMENT)


def test_the_school_may_decide_not_to_share_giving_its_reason(discussion, morgan):
    with pytest.raises(DomainError) as refused:
        request_answer(discussion=discussion, by=morgan, answer="", share=False)
    assert refused.value.message.startswith("reason:")
    assert request_of(discussion, "URN900001").status == RequestStatus.OPEN
    assert not SharingDecision.objects.filter(kind=SharingKind.ANSWER).exists()

    request = request_answer(
        discussion=discussion,
        by=morgan,
        answer="ignored",
        share=False,
        reason="Amy's records are held by her previous school; asked them to reply.",
    )
    request.refresh_from_db()
    assert (request.status, request.answer) == (RequestStatus.NOT_SHARED, "")
    [refusal] = SharingDecision.objects.filter(kind=SharingKind.ANSWER)
    assert (refusal.shared, refusal.lawful_basis) == (Shared.NOT_SHARED, LawfulBasis.NONE)
    assert refusal.from_agency.code == "URN900001"
    assert "previous school" in refusal.reason


def test_answering_twice_is_a_conflict(discussion, hana):
    request_answer(discussion=discussion, by=hana, answer="First answer.")
    before = counts()
    with pytest.raises(Conflict):
        request_answer(discussion=discussion, by=hana, answer="Second answer.")
    assert counts() == before
    assert request_of(discussion, "RY7").answer == "First answer."


# --- Attendance and outcome ----------------------------------------------------------------------


def test_an_outcome_without_health_needs_a_reason_and_leaves_no_trace(decided, discussion):
    all_attend(discussion, "LA344", "MSP")
    before_events = len(events(discussion))
    before = counts()
    with clock.frozen(AFTER), pytest.raises(DomainError) as refused:
        record_outcome(discussion)
    message = refused.value.message
    assert message.startswith("missing_reason:")
    assert "health" in message and HEALTH_NAME in message
    assert "police" not in message  # the police attended
    discussion.refresh_from_db()
    assert (discussion.status, discussion.held_at, discussion.enquiry) == ("called", None, "")
    assert len(events(discussion)) == before_events
    assert counts() == before
    for contact in decided.values():
        c = Clock.objects.get(contact=contact, kind=ClockKind.STRATEGY_DISCUSSION)
        assert (c.state, c.met_at) == (ClockState.RUNNING, None)
    assert not Clock.objects.filter(kind=ClockKind.ICPC).exists()


def test_an_outcome_without_health_with_a_reason_is_recorded_and_counted(discussion):
    all_attend(discussion, "LA344", "MSP")
    with clock.frozen(AFTER):
        with pytest.raises(DomainError) as refused:
            record_outcome(discussion, missing_reason="Health could not be reached in time")
        assert refused.value.message.startswith("reconvene:")
        d = record_outcome(
            discussion, missing_reason="Health could not be reached in time", reconvene=True
        )
    d.refresh_from_db()
    assert d.status == DiscussionStatus.HELD
    assert d.missing_agencies == [f"health ({HEALTH_NAME})"]
    assert (d.missing_reason, d.reconvene) == ("Health could not be reached in time", True)


def test_an_outcome_with_every_agency_present_or_informing_needs_no_reason(
    discussion, hana, morgan
):
    request_answer(discussion=discussion, by=hana, answer="Known to the health visitor.")
    attendance_record(
        discussion=discussion,
        by=discussion.chair,
        entries=[
            AttendanceEntry(
                participant(discussion, "LA344").pk, Attendance.ATTENDED, "Alice", "Chair"
            ),
            AttendanceEntry(participant(discussion, "MSP").pk, Attendance.ATTENDED, "DS Lee", "DS"),
            AttendanceEntry(
                participant(discussion, "URN900001").pk, Attendance.APOLOGIES_WITH_INFORMATION
            ),
            AttendanceEntry(participant(discussion, "RY7").pk, Attendance.DID_NOT_ATTEND),
        ],
    )
    p = participant(discussion, "MSP")
    assert (p.attendance, p.attended_name, p.attended_role) == ("attended", "DS Lee", "DS")
    assert participant(discussion, "URN900001").attended_name == ""
    with clock.frozen(AFTER):
        d = record_outcome(discussion, enquiry=Enquiry.NONE)
    assert (d.status, d.missing_agencies, d.missing_reason, d.reconvene) == ("held", [], "", None)
    assert d.icpc_target is None
    assert not Clock.objects.filter(kind=ClockKind.ICPC).exists()


def test_attendance_needs_a_name_for_who_attended(discussion):
    with pytest.raises(DomainError) as refused:
        attendance_record(
            discussion=discussion,
            by=discussion.chair,
            entries=[AttendanceEntry(participant(discussion, "MSP").pk, Attendance.ATTENDED)],
        )
    assert refused.value.message.startswith("attendance:")
    assert participant(discussion, "MSP").attendance == Attendance.NOT_RECORDED


def test_a_section_47_enquiry_sets_the_icpc_target_and_starts_its_clock(decided, discussion):
    all_attend(discussion, "LA344", "MSP", "RY7")
    amy, leo = decided["C1"], decided["C2"]
    with clock.frozen(AFTER):
        d = record_outcome(
            discussion, enquiry=Enquiry.JOINT, risks={amy.pk: "Witnessed strangulation."}
        )
    target = add_working_days(dt.date(2026, 11, 24), 15)
    # Counted by hand: 25, 26, 27 Nov (3); 30 Nov to 4 Dec (8); 7 to 11 Dec (13); 14, 15 Dec.
    assert target == dt.date(2026, 12, 15)
    assert d.icpc_target == target
    assert (d.held_at, d.outcome_recorded_at, d.enquiry) == (STARTS, AFTER, "joint")
    for contact in (amy, leo):
        icpc = Clock.objects.get(contact=contact, kind=ClockKind.ICPC)
        assert (icpc.state, icpc.started_at, icpc.due_at) == (
            ClockState.RUNNING,
            STARTS,
            end_of_working_day(target),
        )
        sd = Clock.objects.get(contact=contact, kind=ClockKind.STRATEGY_DISCUSSION)
        assert (sd.state, sd.met_at) == (ClockState.MET, STARTS)
    assert (
        DiscussionChild.objects.get(discussion=d, contact=amy).risks == "Witnessed strangulation."
    )
    [held] = [e for e in events(d, action=Action.UPDATE) if e.detail.get("status_to") == "held"]
    assert held.detail["icpc_target"] == "2026-12-15"
    with clock.frozen(AFTER), pytest.raises(Conflict):
        record_outcome(d)


def test_a_discussion_held_after_its_due_time_breaches_the_clock(decided, discussion):
    all_attend(discussion, "LA344", "MSP", "RY7")
    wednesday = dt.datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    with clock.frozen(wednesday):
        record_outcome(discussion, held_at=wednesday, enquiry=Enquiry.NONE)
    sd = Clock.objects.get(contact=decided["C1"], kind=ClockKind.STRATEGY_DISCUSSION)
    assert (sd.state, sd.met_at) == (ClockState.BREACHED, wednesday)


@pytest.mark.parametrize("anchor", ["initiating", "last"])
def test_the_icpc_clock_counts_from_the_discussion_the_anchor_setting_names(
    decided, discussion, alice, settings, anchor
):
    settings.SAFEHUB_ICPC_ANCHOR = anchor
    amy, leo = decided["C1"], decided["C2"]
    all_attend(discussion, "LA344", "MSP", "RY7")
    with clock.frozen(AFTER):
        first = record_outcome(discussion, enquiry=Enquiry.SINGLE)
    # A second discussion, on Thursday, about the same children; it decides on s.47 again.
    thursday = dt.datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    held_2 = dt.datetime(2026, 11, 26, 11, 0, tzinfo=UTC)
    with clock.frozen(thursday):
        second = call(amy, alice, [amy, leo], starts_at=held_2)
    # Its own discussion clock: red, so the end of Thursday.
    assert second.due_at == dt.datetime(2026, 11, 26, 23, 59, 59, tzinfo=UTC)
    all_attend(second, "LA344", "MSP", "RY7")
    with clock.frozen(held_2 + dt.timedelta(hours=1)):
        second = record_outcome(second, held_at=held_2, enquiry=Enquiry.JOINT)

    target_1 = add_working_days(dt.date(2026, 11, 24), 15)
    target_2 = add_working_days(dt.date(2026, 11, 26), 15)
    assert (first.icpc_target, target_1, target_2) == (
        target_1,
        dt.date(2026, 12, 15),  # Tue 24 Nov + 15 working days
        dt.date(2026, 12, 17),  # Thu 26 Nov + 15 working days
    )
    for contact in (amy, leo):
        [running] = Clock.objects.filter(
            contact=contact, kind=ClockKind.ICPC, state=ClockState.RUNNING
        )
        stopped = list(
            Clock.objects.filter(contact=contact, kind=ClockKind.ICPC, state=ClockState.STOPPED)
        )
        if anchor == "initiating":
            assert (running.started_at, running.due_at) == (STARTS, end_of_working_day(target_1))
            assert stopped == []
        else:
            assert (running.started_at, running.due_at) == (held_2, end_of_working_day(target_2))
            [old] = stopped
            assert old.due_at == end_of_working_day(target_1)
            assert old.stopped_at == held_2 and second.reference in old.stop_reason
        # Both discussion clocks were met, each on its day.
        met = Clock.objects.filter(contact=contact, kind=ClockKind.STRATEGY_DISCUSSION)
        assert sorted(c.met_at for c in met) == [STARTS, held_2]
        assert {c.state for c in met} == {ClockState.MET}


def test_under_the_initiating_anchor_a_later_discussion_states_the_initiating_target(
    decided, discussion, alice, settings
):
    settings.SAFEHUB_ICPC_ANCHOR = "initiating"
    amy, leo = decided["C1"], decided["C2"]
    all_attend(discussion, "LA344", "MSP", "RY7")
    with clock.frozen(AFTER):
        record_outcome(discussion, enquiry=Enquiry.SINGLE)
    held_2 = dt.datetime(2026, 11, 26, 11, 0, tzinfo=UTC)
    with clock.frozen(dt.datetime(2026, 11, 26, 9, 0, tzinfo=UTC)):
        second = call(amy, alice, [amy, leo], starts_at=held_2)
    all_attend(second, "LA344", "MSP", "RY7")
    with clock.frozen(held_2 + dt.timedelta(hours=1)):
        second = record_outcome(second, held_at=held_2, enquiry=Enquiry.JOINT)
    icpc = Clock.objects.get(contact=amy, kind=ClockKind.ICPC, state=ClockState.RUNNING)
    assert end_of_working_day(second.icpc_target) == icpc.due_at


# --- Actions and minutes -------------------------------------------------------------------------


def test_an_action_is_added_and_done_once(discussion, alice):
    action = action_add(
        discussion=discussion,
        by=alice,
        description="Home visit with the police",
        owner_name="DS Lee",
        agency=agency("MSP"),
        due_on=dt.date(2026, 11, 25),
    )
    assert (action.created_by, action.created_at, action.done_at) == (alice, T0, None)
    [created] = events(action, action=Action.CREATE)
    assert created.detail == {
        "discussion": str(discussion.pk),
        "agency": "MSP",
        "due_on": "2026-11-25",
    }
    with pytest.raises(DomainError):
        action_add(
            discussion=discussion,
            by=alice,
            description=" ",
            owner_name="x",
            agency=agency("MSP"),
            due_on=dt.date(2026, 11, 25),
        )
    done = action_done(action=action, by=alice, note="Visited; children safe.")
    assert (done.done_at, done.done_by, done.done_note) == (T0, alice, "Visited; children safe.")
    assert len(events(action, action=Action.UPDATE)) == 1
    with pytest.raises(Conflict):
        action_done(action=action, by=alice, note="again")
    assert len(events(action, action=Action.UPDATE)) == 1
    assert DiscussionAction.objects.count() == 1


def test_minutes_before_the_outcome_are_a_conflict(discussion, alice):
    before = counts()
    with pytest.raises(Conflict) as refused:
        minutes_send(discussion=discussion, by=alice)
    assert refused.value.code == "not_held"
    assert counts() == before


def test_the_minutes_reach_every_partner_as_a_pdf_each_a_recorded_disclosure(
    discussion, alice, smtp
):
    all_attend(discussion, "LA344", "MSP", "RY7")
    with clock.frozen(AFTER):
        record_outcome(discussion, missing_reason="", enquiry=Enquiry.SINGLE)
        action_add(
            discussion=discussion,
            by=alice,
            description="Section 47 visit",
            owner_name="Alice",
            agency=agency("LA344"),
            due_on=dt.date(2026, 11, 25),
        )
        outbox_deliver_due()
        before = len(smtp.messages)
        d = minutes_send(discussion=discussion, by=alice)
        assert d.minutes_sent_at == AFTER
        outbox_deliver_due()
    minutes = smtp.messages[before:]
    assert sorted(m["To"] for m in minutes) == sorted(EMAILS[c] for c in PARTNERS)
    for message in minutes:
        pdfs = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
        assert len(pdfs) == 1
        assert pdfs[0].get_content().startswith(b"%PDF")
        assert discussion.reference in message["Subject"]
    shared = SharingDecision.objects.filter(discussion=discussion, kind=SharingKind.MINUTES)
    assert sorted(s.recipient_agency.code for s in shared) == sorted(PARTNERS)
    assert {s.lawful_basis for s in shared} == {LawfulBasis.PUBLIC_TASK_SAFEGUARDING}
    assert all(events(s, action=Action.DISCLOSE) for s in shared)


# --- The sweep -----------------------------------------------------------------------------------


def test_the_sweep_chases_each_open_request_once_near_its_deadline(discussion, hana):
    # Deadline 13:00 (an hour before 14:00); chased from 11:00 (two hours before the deadline).
    request_answer(discussion=discussion, by=hana, answer="Known to us.")
    assert meetings_sweep(now=dt.datetime(2026, 11, 24, 10, 59, tzinfo=UTC))["chased"] == 0
    at = dt.datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
    with clock.frozen(at):
        result = meetings_sweep()
    # Police, the school and the DA service are open; health answered.
    assert result["chased"] == 3
    chases = OutboxMessage.objects.filter(reason="information_request_chase")
    assert sorted(m.recipients[0] for m in chases) == sorted(
        EMAILS[c] for c in ["MSP", "URN900001", "DAS-WIR"]
    )
    for code in ["MSP", "URN900001", "DAS-WIR"]:
        r = request_of(discussion, code)
        assert (r.chase_count, r.chased_at) == (1, at)
        assert [e.detail["chased"] for e in events(r, action=Action.UPDATE)] == [1]
    assert request_of(discussion, "RY7").chase_count == 0
    with clock.frozen(at + dt.timedelta(minutes=30)):
        assert meetings_sweep()["chased"] == 0
    assert chases.count() == 3


def test_the_chase_window_is_a_setting(discussion, settings):
    settings.SAFEHUB_REQUEST_CHASE_MINUTES = 30
    # Deadline 13:00: with a 30-minute window, nothing at 12:29, every open request at 12:30.
    assert meetings_sweep(now=dt.datetime(2026, 11, 24, 12, 29, tzinfo=UTC))["chased"] == 0
    with clock.frozen(dt.datetime(2026, 11, 24, 12, 30, tzinfo=UTC)):
        assert meetings_sweep()["chased"] == 4


def test_the_sweep_does_not_chase_a_cancelled_discussion(discussion, alice):
    discussion_cancel(discussion=discussion, by=alice, reason="Not needed", still_needed=True)
    assert meetings_sweep(now=dt.datetime(2026, 11, 24, 12, 0, tzinfo=UTC))["chased"] == 0
    assert not OutboxMessage.objects.filter(reason="information_request_chase").exists()


def test_the_sweep_reminds_an_overdue_action_once(discussion, alice):
    late = action_add(
        discussion=discussion,
        by=alice,
        description="Police check",
        owner_name="DS Lee",
        agency=agency("MSP"),
        due_on=dt.date(2026, 11, 25),
    )
    done = action_add(
        discussion=discussion,
        by=alice,
        description="Health check",
        owner_name="Dr Patel",
        agency=agency("RY7"),
        due_on=dt.date(2026, 11, 25),
    )
    action_done(action=done, by=alice, note="Done")
    # Due on the 25th: not overdue on the 25th, overdue on the 26th.
    assert meetings_sweep(now=dt.datetime(2026, 11, 25, 22, 0, tzinfo=UTC))["actions_reminded"] == 0
    thursday = dt.datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    assert meetings_sweep(now=thursday)["actions_reminded"] == 1
    assert meetings_sweep(now=thursday + dt.timedelta(hours=1))["actions_reminded"] == 0
    [reminder] = OutboxMessage.objects.filter(reason="strategy_discussion_action_overdue")
    assert reminder.recipients == [EMAILS["MSP"]]
    assert reminder.object_id == str(late.pk)
    late.refresh_from_db()
    assert late.chased_at == thursday


# --- The audit trail -----------------------------------------------------------------------------


def test_every_write_is_audited(decided, discussion, alice, hana, percy):
    d = discussion
    assert len(events(d, action=Action.CREATE)) == 1
    invitation_respond(discussion=d, by=percy, response=Response.ACCEPTED)
    request_answer(discussion=d, by=hana, answer="Known.")
    all_attend(d, "LA344", "MSP")
    with clock.frozen(AFTER):
        record_outcome(d, enquiry=Enquiry.SINGLE)
        action = action_add(
            discussion=d,
            by=alice,
            description="Visit",
            owner_name="Alice",
            agency=agency("LA344"),
            due_on=dt.date(2026, 11, 27),
        )
        action_done(action=action, by=alice, note="Visited")
        minutes_send(discussion=d, by=alice)

    updates = [e.detail for e in events(d, action=Action.UPDATE)]
    assert any("attendance" in u for u in updates)
    assert any(u.get("status_to") == "held" for u in updates)
    assert [e.detail["response"] for e in events(participant(d, "MSP"))] == ["accepted"]
    assert [e.detail["status_to"] for e in events(request_of(d, "RY7"))] == ["answered"]
    assert [e.action for e in events(action)] == [Action.CREATE, Action.UPDATE]
    # Every sharing decision (invitations, requests, the answer, the minutes) is a disclosure.
    decisions = list(SharingDecision.objects.all())
    kinds = Counter(s.kind for s in decisions)
    assert kinds == Counter(
        {"invitation": 4, "information_request": 4, "answer": 1, "minutes": 4, "encompass": 1}
    )
    for decision in decisions:
        if decision.kind == SharingKind.ENCOMPASS:
            continue  # intake writes its own disclosure event, on the notice
        [event] = events(decision, action=Action.DISCLOSE)
        assert event.detail["kind"] == decision.kind
        assert event.detail["lawful_basis"] == decision.lawful_basis
    assert {e.user for e in events(d)} == {alice}


# --- Decisions not to share, and named invitees -------------------------------------------------


def test_the_chairs_decision_not_to_share_is_recorded_with_what_and_why(discussion, alice, percy):
    from safehub.meetings.services import refusal_record

    refusal = refusal_record(
        discussion=discussion,
        by=alice,
        recipient_agency=agency("DAS-WIR"),
        kind=SharingKind.MINUTES,
        withheld="The minutes",
        reason="The service is not working with this family.",
    )
    assert (refusal.shared, refusal.lawful_basis, refusal.fields) == (
        Shared.NOT_SHARED,
        LawfulBasis.NONE,
        ["The minutes"],
    )
    assert refusal.discussion == discussion and refusal.made_by == alice
    assert events(refusal, action=Action.DISCLOSE)
    with pytest.raises(DomainError, match=r"^reason:"):
        refusal_record(
            discussion=discussion,
            by=alice,
            recipient_agency=agency("DAS-WIR"),
            kind=SharingKind.MINUTES,
            withheld="The minutes",
            reason=" ",
        )
    with pytest.raises(PermissionDenied):
        refusal_record(
            discussion=discussion,
            by=percy,
            recipient_agency=agency("DAS-WIR"),
            kind=SharingKind.MINUTES,
            withheld="The minutes",
            reason="Not theirs to decide.",
        )
    assert SharingDecision.objects.filter(shared=Shared.NOT_SHARED).count() == 1


def test_an_invitation_to_a_named_officer_goes_to_them_not_the_duty_inbox(decided, alice, smtp):
    named = [
        Invitation(R.CHILDREN_SOCIAL_CARE, agency("LA344")),
        Invitation(
            R.POLICE, agency("MSP"), name="DS Rachel Hughes", email="r.hughes@police.example"
        ),
        Invitation(R.HEALTH, agency("RY7")),
    ]
    d = call(decided["C1"], alice, [decided["C1"]], invited=named)
    police = participant(d, "MSP")
    assert (police.invitee_name, police.invitee_email) == (
        "DS Rachel Hughes",
        "r.hughes@police.example",
    )
    outbox_deliver_due()
    to = {addr for m in smtp.messages for addr in m["To"].split(",")}
    assert "r.hughes@police.example" in to and "ppn.msp@police.example" not in to


def test_a_colleague_sent_instead_gets_the_change_and_the_cancellation(
    discussion, hana, alice, smtp
):
    invitation_respond(
        discussion=discussion,
        by=hana,
        response=Response.DELEGATED,
        delegate_name="Nurse Kim",
        delegate_email="kim@nhs.example",
    )
    with clock.frozen(T0 + dt.timedelta(minutes=5)):
        discussion_reschedule(
            discussion=discussion,
            by=alice,
            starts_at=STARTS + dt.timedelta(hours=1),
            ends_at=STARTS + dt.timedelta(hours=2),
            location="Room 3",
            mode=DiscussionMode.IN_PERSON,
            reason="The room changed.",
        )
        discussion_cancel(discussion=discussion, by=alice, reason="Merged.", still_needed=True)
        outbox_deliver_due()
    to_kim = [m for m in smtp.messages if "kim@nhs.example" in m["To"]]
    methods = sorted(str(calendar_parts(m)[0]["METHOD"]) for m in to_kim)
    # The delegation's invitation, the update, the cancellation.
    assert methods == ["CANCEL", "REQUEST", "REQUEST"]


@pytest.mark.django_db(transaction=True)
def test_two_people_calling_for_one_household_at_once_make_one_discussion(decided, alice, mary):
    """Alice calls one from Amy's decision, Mary from Leo's, both for both children, at the same
    moment: the children's rows are locked in one order, so one waits, then finds the other's
    discussion and is refused."""
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks between two connections need PostgreSQL")
    amy, leo = decided["C1"], decided["C2"]
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def call_as(who, contact, children) -> None:
        from django.db import connection as own

        try:
            barrier.wait(timeout=10)
            call(contact, who, children)
            outcomes[who.username] = "called"
        except Conflict:
            outcomes[who.username] = "conflict"
        except BaseException as error:  # reported in the test's thread
            outcomes[who.username] = repr(error)
        finally:
            own.close()

    threads = [
        threading.Thread(target=call_as, args=(alice, amy, [amy, leo])),
        threading.Thread(target=call_as, args=(mary, leo, [leo, amy])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values()) == ["called", "conflict"], outcomes
    assert StrategyDiscussion.objects.count() == 1
    assert DiscussionChild.objects.count() == 2
