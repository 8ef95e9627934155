"""Escalation: a red contact's four-hour screening deadline, walked past each threshold, sends
exactly one e-mail per step to a real SMTP server (the worker at three quarters of the time, the
team manager at nine tenths, the head of service at the breach); a deadline met sends none."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.urls import reverse

from safehub.core import clock
from safehub.core.outbox import outbox_deliver_due
from safehub.core.testing import example_bytes
from safehub.intake.models import Channel
from safehub.intake.services import notification_receive
from safehub.referrals.decisions import contact_decide, contact_reassign
from safehub.referrals.escalation import escalations_sweep
from safehub.referrals.models import Contact, Outcome
from safehub.timescales.models import Alert, ClockKind, Escalation

T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)  # a Tuesday; red: due by 13:00


@pytest.fixture
def household(reference, alice, mary, make_user):
    with clock.frozen(T0):
        receipt = notification_receive(
            raw=example_bytes("notification-high-risk.json"), channel=Channel.API
        )
        amy = Contact.objects.get(notification=receipt.notification, child_ref="C1")
        leo = Contact.objects.get(notification=receipt.notification, child_ref="C2")
        for child in (amy, leo):
            contact_reassign(contact=child, to_user=alice, by=mary, reason="Hers.")
    make_user("hilda", "LA344", "head_of_service")
    make_user("helen", "LA341", "head_of_service")  # another council's: never told
    return amy, leo


def about(smtp, contact: Contact) -> list:
    link = reverse("referrals:contact_detail", args=[contact.pk])
    return [m for m in smtp.messages if link in m.get_content()]


def sweep_at(at: dt.datetime) -> None:
    with clock.frozen(at):
        escalations_sweep()
        outbox_deliver_due()


def test_each_step_sends_one_email_and_none_once_the_clock_is_met(household, smtp):
    amy, leo = household
    assert amy.rag == "red"
    # Leo is decided at 10:00: his screening deadline is met, so nothing about him follows.
    with clock.frozen(T0 + dt.timedelta(hours=1)):
        leo.refresh_from_db()
        contact_decide(
            contact=leo,
            decided_by=leo.assigned_to,
            outcome=Outcome.NO_FURTHER_ACTION,
            rationale="Not at home at the time.",
        )
    steps = [
        (dt.timedelta(hours=2, minutes=59), []),  # before three quarters of four hours
        (dt.timedelta(hours=3), ["alice@hub.example"]),  # 12:00, the worker
        (dt.timedelta(hours=3, minutes=10), []),  # each step once
        (dt.timedelta(hours=3, minutes=36), ["mary@hub.example"]),  # 12:36, the manager
        (dt.timedelta(hours=4, minutes=1), ["hilda@hub.example"]),  # past 13:00, the head
        (dt.timedelta(hours=6), []),
    ]
    seen = 0
    for offset, expected in steps:
        sweep_at(T0 + offset)
        new = about(smtp, amy)[seen:]
        assert [m["To"] for m in new] == expected, offset
        seen += len(new)
    assert about(smtp, leo) == []
    subjects = [m["Subject"] for m in about(smtp, amy)]
    assert subjects == [
        "Deadline near: screening decision",
        "Deadline close: screening decision",
        "Deadline passed: screening decision",
    ]
    for message in about(smtp, amy):
        assert "Amy" not in message.get_content() and "Example" not in message.get_content()
    levels = list(
        Escalation.objects.filter(clock__contact=amy, clock__kind=ClockKind.SCREENING)
        .order_by("at")
        .values_list("level", "recipients")
    )
    assert levels == [
        ("worker", ["alice"]),
        ("manager", ["mary"]),
        ("head_of_service", ["hilda"]),
    ]


def test_a_deadline_met_before_its_first_threshold_is_never_escalated(household, smtp):
    amy, _ = household
    with clock.frozen(T0 + dt.timedelta(hours=2)):
        amy.refresh_from_db()
        contact_decide(
            contact=amy,
            decided_by=amy.assigned_to,
            outcome=Outcome.NO_FURTHER_ACTION,
            rationale="Seen at school; safe.",
        )
    for hours in (3, 4, 5, 30):
        sweep_at(T0 + dt.timedelta(hours=hours))
    assert about(smtp, amy) == []
    assert not Escalation.objects.filter(clock__contact=amy).exists()


def test_the_alerts_page_shows_each_persons_own(household, client, alice, mary, smtp):
    sweep_at(T0 + dt.timedelta(hours=3, minutes=40))
    assert Alert.objects.filter(user=alice).exists() and Alert.objects.filter(user=mary).exists()
    client.force_login(alice)
    page = client.get(reverse("referrals:alerts")).content.decode()
    assert "Screening decision" in page and "The allocated worker" in page
    assert "The team manager" not in page  # Mary's, not hers


def test_the_command_runs_one_sweep(household, capsys):
    with clock.frozen(T0 + dt.timedelta(hours=5)):
        call_command("escalate", "--once")
    out = capsys.readouterr().out
    assert out.startswith("Escalations made:") and "to heads of service" in out
    assert Escalation.objects.filter(level="head_of_service").count() >= 1
