"""'Who has seen this child's record', on the contact page, for managers only."""

import pytest
from django.urls import reverse

from safehub.core.testing import example_bytes
from safehub.intake.models import Channel
from safehub.intake.services import notification_receive
from safehub.referrals.models import Contact


@pytest.fixture
def ravi(reference):
    notification_receive(
        raw=example_bytes("notification-two-authorities.json"), channel=Channel.IMPORT
    )
    return Contact.objects.get(child_ref="C1")


def test_a_manager_sees_who_opened_the_record(client, alice, mary, ravi):
    url = reverse("referrals:contact_detail", args=[ravi.pk])
    client.force_login(alice)
    page = client.get(url).content.decode()
    assert "Who has opened this record" not in page  # a social worker does not see it
    client.force_login(mary)
    page = client.get(url).content.decode()
    assert "Who has opened this record" in page
    log = page[page.index('id="access-log"') :]
    assert "Alice" in log and "Mary" in log  # Alice's opening, and this one


def test_the_notification_read_through_the_api_is_listed(client, mary, msp_token, ravi):
    notification = ravi.notification
    client.get(
        f"/api/v1/notifications/{notification.force_code}/{notification.incident_reference}",
        HTTP_AUTHORIZATION=f"Bearer {msp_token}",
    )
    client.force_login(mary)
    page = client.get(reverse("referrals:contact_detail", args=[ravi.pk])).content.decode()
    log = page[page.index('id="access-log"') :]
    assert "API client" in log and "The police notification" in log
