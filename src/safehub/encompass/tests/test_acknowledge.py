"""Acknowledging a notice: only the recipient's safeguarding lead; a repeat is a no-op; anyone
outside the notice's scope is told it does not exist."""

import pytest

from safehub.audit.models import AuditEvent
from safehub.core.errors import NotFound, PermissionDenied
from safehub.encompass.models import NoticeStatus
from safehub.encompass.services import encompass_acknowledge
from safehub.encompass.tests.bodies import high_risk


def test_the_schools_lead_acknowledges_and_it_is_audited(receive, morgan):
    notice = encompass_acknowledge(notice=receive()["C1"], acknowledged_by=morgan)
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.ACKNOWLEDGED
    assert notice.acknowledged_by == morgan and notice.acknowledged_at is not None
    event = AuditEvent.objects.get(action="update", object_id=str(notice.pk))
    assert event.user == morgan
    assert event.detail == {"status": {"from": "queued", "to": "acknowledged"}}
    assert [(c.to_status, c.by) for c in notice.history.all()] == [
        ("queued", None),
        ("acknowledged", morgan),
    ]


def test_a_repeated_acknowledgment_is_a_no_op(receive, morgan):
    notice = encompass_acknowledge(notice=receive()["C1"], acknowledged_by=morgan)
    first = notice.acknowledged_at
    again = encompass_acknowledge(notice=notice, acknowledged_by=morgan)
    assert again.acknowledged_at == first
    assert AuditEvent.objects.filter(action="update", object_id=str(notice.pk)).count() == 1
    assert notice.history.count() == 2


def test_another_schools_lead_is_told_it_does_not_exist(receive, rowan):
    notice = receive()["C1"]
    with pytest.raises(NotFound):
        encompass_acknowledge(notice=notice, acknowledged_by=rowan)
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.QUEUED
    assert not AuditEvent.objects.filter(action="update").exists()


def test_a_hub_social_worker_sees_the_notice_but_cannot_acknowledge_it(receive, alice):
    notice = receive()["C1"]
    with pytest.raises(PermissionDenied):
        encompass_acknowledge(notice=notice, acknowledged_by=alice)
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.QUEUED


def test_the_council_inbox_acknowledges_its_own_notice(receive, edna):
    notice = receive(high_risk(school_urn=None))["C1"]
    encompass_acknowledge(notice=notice, acknowledged_by=edna)
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.ACKNOWLEDGED


def test_the_council_inbox_cannot_acknowledge_a_schools_notice(receive, edna):
    with pytest.raises(NotFound):
        encompass_acknowledge(notice=receive()["C1"], acknowledged_by=edna)


def test_a_lead_of_the_recipient_without_the_role_cannot_acknowledge(receive, make_user):
    office = make_user("office", "URN900001", "analyst")
    with pytest.raises(NotFound):  # no Encompass role: nothing in scope at all
        encompass_acknowledge(notice=receive()["C1"], acknowledged_by=office)


def test_a_sent_notice_can_be_acknowledged(receive, morgan, smtp):
    from safehub.core.outbox import outbox_deliver_due
    from safehub.encompass.services import encompass_sweep

    notice = receive()["C1"]
    outbox_deliver_due()
    encompass_sweep()
    encompass_acknowledge(notice=notice, acknowledged_by=morgan)
    assert [c.to_status for c in notice.history.all()] == ["queued", "sent", "acknowledged"]
