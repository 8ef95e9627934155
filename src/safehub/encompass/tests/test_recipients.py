"""Who a notice goes to: the school's designated safeguarding lead; without a known school (or a
school without a lead's e-mail) the child's council's education safeguarding inbox; without a
council either, nobody until the contact is routed."""

from safehub.accounts.models import Agency
from safehub.audit.models import AuditEvent
from safehub.core.models import OutboxMessage
from safehub.encompass.models import NoticeStatus, RecipientReason
from safehub.encompass.services import encompass_sweep
from safehub.encompass.tests.bodies import high_risk
from safehub.referrals.models import Contact

UNSERVED_POSTCODE = "TR1 1AA"  # Truro: no council of the hub serves it


def unserved(body):
    body["incident_address"]["postcode"] = UNSERVED_POSTCODE
    for person in body["people"]:
        if person.get("address"):
            person["address"]["postcode"] = UNSERVED_POSTCODE
    return body


def test_a_known_school_with_a_lead_gets_the_notice(receive):
    notice = receive()["C1"]
    assert notice.recipient == Agency.objects.get(code="URN900001")
    assert notice.recipient_email == "dsl.900001@school.example"
    assert notice.reason_for_recipient == RecipientReason.SCHOOL_DSL
    assert notice.status == NoticeStatus.QUEUED
    assert notice.outbox_message.recipients == ["dsl.900001@school.example"]


def test_no_school_given_goes_to_the_councils_education_safeguarding_inbox(receive):
    notice = receive(high_risk(school_urn=None))["C1"]
    assert notice.recipient == Agency.objects.get(code="EDU344")
    assert notice.recipient_email == "education.safeguarding@wirral.council.example"
    assert notice.reason_for_recipient == RecipientReason.NO_KNOWN_SCHOOL
    assert notice.get_reason_for_recipient_display() == (
        "No known school: council education safeguarding"
    )


def test_a_school_urn_not_in_the_reference_data_goes_to_the_council_inbox(receive):
    notice = receive(high_risk(school_urn="999999"))["C1"]
    assert notice.recipient.code == "EDU344"


def test_a_school_without_a_leads_email_goes_to_the_council_inbox(receive):
    Agency.objects.filter(code="URN900001").update(dsl_email="")
    assert receive()["C1"].recipient.code == "EDU344"


def test_a_known_school_is_told_even_when_the_contact_is_not_routed(receive):
    notice = receive(unserved(high_risk()))["C1"]
    assert notice.contact.local_authority is None
    assert notice.recipient.code == "URN900001"


def test_no_school_and_no_council_waits_unrouted_with_nothing_sent(receive):
    notice = receive(unserved(high_risk(school_urn=None)))["C1"]
    assert (notice.recipient, notice.recipient_email, notice.status) == (
        None,
        "",
        NoticeStatus.UNROUTED,
    )
    assert notice.outbox_message is None
    assert not OutboxMessage.objects.exists()
    assert not AuditEvent.objects.filter(action="disclose").exists()
    assert AuditEvent.objects.filter(action="create", object_id=str(notice.pk)).exists()


def test_an_unrouted_notice_is_sent_once_its_contact_is_routed(receive):
    notice = receive(unserved(high_risk(school_urn=None)))["C1"]
    assert encompass_sweep().dispatched == 0  # still nowhere to send it
    Contact.objects.filter(pk=notice.contact_id).update(
        local_authority=Agency.objects.get(code="LA344")
    )
    assert encompass_sweep().dispatched == 1
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.QUEUED
    assert notice.recipient.code == "EDU344"
    assert notice.outbox_message.recipients == ["education.safeguarding@wirral.council.example"]
    assert [(c.from_status, c.to_status) for c in notice.history.all()] == [
        ("", "unrouted"),
        ("unrouted", "queued"),
    ]
    assert AuditEvent.objects.filter(action="disclose", object_id=str(notice.pk)).count() == 1
    assert encompass_sweep().dispatched == 0  # a repeat sends nothing more


def test_a_contact_keeps_its_one_notice(receive):
    from django.db import transaction

    from safehub.core import clock
    from safehub.core.testing import example_bytes
    from safehub.encompass.services import encompass_open_for_contact
    from safehub.intake.validation import validate_notification

    notice = receive()["C1"]
    body, _ = validate_notification(example_bytes("notification-high-risk.json"), now=clock.now())
    amy = next(p for p in body.people if p.ref == "C1")
    with transaction.atomic():
        again = encompass_open_for_contact(
            contact=notice.contact, body=body, child=amy, recorded_at=body.recorded_at
        )
    assert again.pk == notice.pk
    assert OutboxMessage.objects.count() == 1
