"""Every notice sent is a disclosure, audited in the same transaction with what statutory.md §7.2's
SharingDecision needs (who, when, what fields, recipient, purpose, lawful basis, consent, why)."""

import pytest

from safehub.audit.models import AuditEvent
from safehub.encompass.services import FIELDS_SHARED, LAWFUL_BASIS


def test_a_notice_is_audited_as_a_disclosure_with_its_sharing_decision(receive):
    notice = receive()["C1"]
    event = AuditEvent.objects.get(action="disclose")
    assert (event.object_type, event.object_id) == ("encompass.encompassnotice", str(notice.pk))
    assert event.actor == "safehub: Operation Encompass" and event.user is None
    assert event.purpose.startswith("Operation Encompass")
    detail = event.detail
    assert detail["decision"] == "share"
    assert detail["recipient"] == {
        "agency": "URN900001",
        "name": "Birkenhead St Mary's Primary School",
        "email": "dsl.900001@school.example",
        "reason": "school_dsl",
    }
    assert detail["fields_shared"] == FIELDS_SHARED
    assert detail["lawful_basis"] == LAWFUL_BASIS
    assert detail["consent_status"] == "not_sought"
    assert detail["outbox_message"] == notice.outbox_message_id
    assert detail["police_reference"] == "MSP-26-004821"


def test_a_child_not_of_school_age_leaves_no_trace(receive):
    receive()
    # Leo (two) gets neither a notice nor a disclosure; Amy gets one of each.
    assert AuditEvent.objects.filter(action="disclose").count() == 1


def test_a_failed_intake_leaves_no_notice_message_or_audit_row(reference):
    from django.db import transaction

    from safehub.core.models import OutboxMessage
    from safehub.encompass.models import EncompassNotice
    from safehub.encompass.tests.bodies import receive_with_notices

    with pytest.raises(RuntimeError), transaction.atomic():
        receive_with_notices()
        raise RuntimeError("intake failed after the notices were opened")
    assert not EncompassNotice.objects.exists()
    assert not OutboxMessage.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_opening_a_notice_outside_a_transaction_is_refused(receive):
    from safehub.core import clock
    from safehub.core.testing import example_bytes
    from safehub.encompass.services import encompass_open_for_contact
    from safehub.intake.validation import validate_notification
    from safehub.referrals.models import Contact

    receive()
    body, _ = validate_notification(example_bytes("notification-high-risk.json"), now=clock.now())
    amy = next(p for p in body.people if p.ref == "C1")
    with pytest.raises(RuntimeError):
        encompass_open_for_contact(
            contact=Contact.objects.get(child_ref="C1"),
            body=body,
            child=amy,
            recorded_at=body.recorded_at,
        )
