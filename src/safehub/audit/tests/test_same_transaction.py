"""An act and its audit event stand or fall together: a failure injected after the write leaves
neither the change nor its event; a read that cannot be recorded is not shown."""

import pytest
from django.test import Client
from django.urls import reverse

from safehub.audit.models import AuditEvent
from safehub.core.testing import example_bytes
from safehub.intake.models import Channel, Notification
from safehub.intake.services import notification_receive
from safehub.referrals.decisions import contact_decide
from safehub.referrals.models import Contact, ContactStatus, Decision, Outcome


class Injected(Exception):
    pass


def fail(*args, **kwargs):
    raise Injected("injected after the write")


def test_a_notification_that_fails_after_its_rows_leaves_nothing(reference, monkeypatch):
    # _save_triage runs after the notification, its version and contacts are written.
    monkeypatch.setattr("safehub.intake.services._save_triage", fail)
    with pytest.raises(Injected):
        notification_receive(raw=example_bytes("notification-high-risk.json"), channel=Channel.API)
    assert not Notification.objects.exists()
    assert not Contact.objects.exists()
    assert not AuditEvent.objects.exists()


def test_the_api_answers_500_and_stores_nothing(reference, msp_token, monkeypatch):
    monkeypatch.setattr("safehub.intake.services._save_triage", fail)
    client = Client(raise_request_exception=False)
    response = client.post(
        "/api/v1/notifications",
        data=example_bytes("notification-high-risk.json"),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {msp_token}",
    )
    assert response.status_code == 500
    assert not Notification.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_decision_that_fails_after_its_audit_event_leaves_neither(reference, alice, monkeypatch):
    notification_receive(raw=example_bytes("notification-high-risk.json"), channel=Channel.API)
    contact = Contact.objects.filter(local_authority__code="LA344").first()
    Contact.objects.filter(pk=contact.pk).update(status=ContactStatus.SCREENING, assigned_to=alice)
    contact.refresh_from_db()
    before = AuditEvent.objects.count()
    # The move to "decided" comes after the decision and its audit event are written.
    monkeypatch.setattr("safehub.referrals.decisions.contact_transition", fail)
    with pytest.raises(Injected):
        contact_decide(
            contact=contact,
            decided_by=alice,
            outcome=Outcome.EARLY_HELP,
            rationale="Parents engaging.",
        )
    assert not Decision.objects.exists()
    assert AuditEvent.objects.count() == before
    contact.refresh_from_db()
    assert contact.status == ContactStatus.SCREENING


def test_a_read_that_cannot_be_recorded_is_not_shown(reference, alice, monkeypatch):
    notification_receive(raw=example_bytes("notification-high-risk.json"), channel=Channel.API)
    contact = Contact.objects.filter(local_authority__code="LA344").first()
    monkeypatch.setattr("safehub.referrals.views.audit_record", fail)
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    response = client.get(reverse("referrals:contact_detail", args=[contact.pk]))
    assert response.status_code == 500
    assert contact.given_names not in response.content.decode()


def test_every_read_of_a_contact_has_its_event(reference, alice):
    notification_receive(raw=example_bytes("notification-high-risk.json"), channel=Channel.API)
    contact = Contact.objects.filter(local_authority__code="LA344").first()
    client = Client()
    client.force_login(alice)
    for n in range(1, 4):
        client.get(reverse("referrals:contact_detail", args=[contact.pk]))
        assert (
            AuditEvent.objects.filter(
                object_type="referrals.contact", object_id=str(contact.pk), action="view"
            ).count()
            == n
        )
