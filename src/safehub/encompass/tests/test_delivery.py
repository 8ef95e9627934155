"""The notice's e-mail goes through the outbox, at least once, to a real SMTP server started by
the test; a failed delivery is retried until it succeeds; a notice that has reached nobody by its
due time is overdue."""

import datetime as dt

import pytest
from django.core.management import call_command

from safehub.core import clock
from safehub.core.outbox import outbox_deliver_due
from safehub.encompass.models import NoticeStatus
from safehub.encompass.selectors import encompass_overdue
from safehub.encompass.services import encompass_sweep
from safehub.encompass.tests.test_content import NEVER


def test_the_email_reaches_the_schools_lead_and_holds_no_adult_or_summary(receive, smtp):
    notice = receive()["C1"]
    assert outbox_deliver_due() == 1
    [message] = smtp.messages
    assert message["To"] == "dsl.900001@school.example"
    # Folded: the header is longer than 78 characters, and Python's parser keeps the fold's space.
    assert message["Subject"].strip() == (
        "Operation Encompass notice for your school: police reference MSP-26-004821"
    )
    text = message.get_content()
    assert "Child: Amy Example" in text
    assert f"/encompass/{notice.pk}/" in text
    for word in NEVER:
        assert word not in text, word


def test_a_delivered_notice_is_recorded_as_sent_with_the_delivery_time(receive, smtp):
    notice = receive()["C1"]
    outbox_deliver_due()
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.QUEUED
    assert notice.state_text == "Sent"  # the pages read the outbox at once
    assert encompass_sweep().delivered == 1
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT
    assert notice.sent_at == notice.outbox_message.sent_at
    assert encompass_sweep().delivered == 0


def test_a_failed_delivery_is_retried_until_it_succeeds(receive, smtp):
    smtp.stop()
    notice = receive()["C1"]
    assert outbox_deliver_due() == 0
    message = notice.outbox_message
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("pending", 1)
    assert encompass_sweep().delivered == 0

    smtp.start()
    with clock.frozen(message.next_attempt_at + dt.timedelta(seconds=1)):
        assert outbox_deliver_due() == 1
        encompass_sweep()
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT
    assert len(smtp.messages) == 1
    assert smtp.messages[0]["To"] == "dsl.900001@school.example"


def test_an_undelivered_notice_is_overdue_after_its_due_time(receive, smtp):
    smtp.stop()
    notice = receive()["C1"]  # due Mon 23 Nov 2026 08:30
    outbox_deliver_due()
    assert not encompass_overdue(now=notice.due_at).exists()
    later = notice.due_at + dt.timedelta(minutes=1)
    assert list(encompass_overdue(now=later)) == [notice]
    assert notice.is_overdue(later)

    smtp.start()
    message = notice.outbox_message
    message.refresh_from_db()
    with clock.frozen(message.next_attempt_at + dt.timedelta(seconds=1)):
        assert outbox_deliver_due() == 1
    assert not encompass_overdue(now=later).exists()  # delivered, even before the sweep
    notice.refresh_from_db()
    assert notice.sent_late


def test_an_unrouted_notice_is_overdue_after_its_due_time(receive):
    from safehub.encompass.tests.bodies import high_risk
    from safehub.encompass.tests.test_recipients import unserved

    notice = receive(unserved(high_risk(school_urn=None)))["C1"]
    assert list(encompass_overdue(now=notice.due_at + dt.timedelta(seconds=1))) == [notice]


def test_an_acknowledged_notice_is_never_overdue(receive, morgan, smtp):
    from safehub.encompass.services import encompass_acknowledge

    smtp.stop()
    notice = receive()["C1"]
    encompass_acknowledge(notice=notice, acknowledged_by=morgan)
    assert not encompass_overdue(now=notice.due_at + dt.timedelta(days=1)).exists()


@pytest.mark.django_db(transaction=True)
def test_the_worker_delivers_the_notice(receive, smtp):
    receive()
    call_command("worker", "--batch", "--interval", "0")
    assert [m["To"] for m in smtp.messages] == ["dsl.900001@school.example"]
    call_command("encompass_sweep")
    from safehub.encompass.models import EncompassNotice

    assert EncompassNotice.objects.get().status == NoticeStatus.SENT
