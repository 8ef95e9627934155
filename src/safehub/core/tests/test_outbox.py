"""The outbox: written with the act, delivered at least once to a real SMTP server."""

import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.db import transaction

from safehub.core import clock
from safehub.core.models import OutboxMessage
from safehub.core.outbox import outbox_deliver_due, outbox_deliver_one, outbox_enqueue
from safehub.core.testing import example, example_bytes
from safehub.intake.models import Channel
from safehub.intake.services import notification_amend, notification_receive
from safehub.referrals.models import Contact


def enqueue(subject="Hello") -> OutboxMessage:
    with transaction.atomic():
        return outbox_enqueue(
            recipients=["dsl@school.example"], subject=subject, body="Body text", reason="test"
        )


@pytest.mark.django_db
def test_a_message_reaches_a_real_smtp_server(smtp):
    message = enqueue()
    assert outbox_deliver_one(message_id=message.pk) == "sent"
    assert [m["Subject"] for m in smtp.messages] == ["Hello"]
    assert smtp.messages[0]["To"] == "dsl@school.example"


@pytest.mark.django_db
def test_a_failed_delivery_is_retried_until_it_succeeds(smtp, settings):
    smtp.stop()
    message = enqueue()
    assert outbox_deliver_one(message_id=message.pk) == "pending"
    message.refresh_from_db()
    assert message.attempts == 1 and "Connection" in message.last_error
    assert message.next_attempt_at > clock.now()
    smtp.start()
    with clock.frozen(message.next_attempt_at + dt.timedelta(seconds=1)):
        assert outbox_deliver_due() == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("sent", 2, "")
    assert len(smtp.messages) == 1


@pytest.mark.django_db
def test_a_message_that_keeps_failing_is_left_dead_for_a_person(smtp, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    smtp.stop()
    message = enqueue()
    assert outbox_deliver_one(message_id=message.pk) == "pending"
    message.refresh_from_db()
    with clock.frozen(message.next_attempt_at + dt.timedelta(seconds=1)):
        assert outbox_deliver_one(message_id=message.pk) == "dead"
    smtp.start()
    assert outbox_deliver_one(message_id=message.pk) == "dead"
    assert smtp.messages == []


@pytest.mark.django_db
def test_a_delivered_message_is_not_delivered_again(smtp):
    message = enqueue()
    outbox_deliver_one(message_id=message.pk)
    outbox_deliver_one(message_id=message.pk)
    assert len(smtp.messages) == 1


@pytest.mark.django_db
def test_a_rolled_back_act_leaves_no_message(smtp):
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_enqueue(recipients=["a@b.example"], subject="x", body="x", reason="test")
        raise RuntimeError("the act failed")
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_worker_delivers_the_amendment_notice_to_the_allocated_worker(smtp, alice):
    notification_receive(raw=example_bytes("notification-high-risk.json"), channel=Channel.API)
    Contact.objects.filter(child_ref="C1").update(assigned_to=alice)
    amended = example("notification-high-risk.json")
    amended["summary"] = "Amended."
    notification_amend(
        force_code="MSP",
        incident_reference="MSP-26-004821",
        raw=json.dumps(amended).encode(),
        channel=Channel.API,
    )
    call_command("worker", "--batch", "--interval", "0")
    to_alice = [m for m in smtp.messages if m["To"] == "alice@hub.example"]
    assert len(to_alice) == 1
    text = to_alice[0].get_content()
    assert "version 2" in text
    assert "Amy" not in text  # an e-mail carries no child's details, only where to look


@pytest.mark.django_db
def test_a_message_claimed_by_another_worker_is_left_alone(smtp):
    message = enqueue()
    OutboxMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=clock.now() + dt.timedelta(minutes=4)  # another worker's claim
    )
    assert outbox_deliver_one(message_id=message.pk) == "pending"
    assert smtp.messages == []


@pytest.mark.django_db
def test_a_claim_that_runs_out_is_tried_again(smtp):
    from safehub.core.outbox import LEASE

    message = enqueue()
    OutboxMessage.objects.filter(pk=message.pk).update(
        attempts=1,
        next_attempt_at=clock.now() + LEASE,  # a worker died while sending
    )
    with clock.frozen(clock.now() + LEASE + dt.timedelta(seconds=1)):
        assert outbox_deliver_due() == 1
    assert len(smtp.messages) == 1
