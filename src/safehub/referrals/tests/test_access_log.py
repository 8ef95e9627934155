"""'Who has seen this child's record': on the contact page for hub managers, and on a page of its
own for the council's auditors (who see who the child is and the log, not the record)."""

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


def test_an_auditor_finds_the_child_by_reference_and_sees_who_opened_the_record(
    client, alice, make_user, ravi
):
    from safehub.audit.models import AuditEvent

    client.force_login(alice)
    client.get(reverse("referrals:contact_detail", args=[ravi.pk]))
    audrey = make_user("audrey", "LA344", "auditor")
    client.force_login(audrey)
    # The auditor cannot open the record itself.
    assert client.get(reverse("referrals:contact_detail", args=[ravi.pk])).status_code == 404
    lookup = reverse("referrals:access_lookup")
    found = client.get(lookup, {"reference": ravi.notification.incident_reference})
    assert found.status_code == 200
    assert reverse("referrals:contact_access", args=[ravi.pk]) in found.content.decode()
    by_contact = client.get(lookup, {"reference": str(ravi.pk)}).content.decode()
    assert reverse("referrals:contact_access", args=[ravi.pk]) in by_contact
    page = client.get(reverse("referrals:contact_access", args=[ravi.pk]))
    assert page.status_code == 200
    log = page.content.decode()[page.content.decode().index('id="access-log"') :]
    assert "Alice" in log and "This contact" in log
    # The look itself is recorded, with its purpose.
    assert AuditEvent.objects.filter(
        user=audrey, object_id=str(ravi.pk), purpose="Who has seen this record"
    ).exists()
    # The summary of the incident, the adults and the decision are not on the page.
    assert "Priya" not in page.content.decode()


def test_another_councils_auditor_finds_only_its_own_child_and_gets_404_on_ours(
    client, make_user, ravi
):
    """The two-authorities example: Ravi lives in Wirral, his sister in Liverpool. Liverpool's
    auditor finds her by the incident's reference, never him."""
    sister = Contact.objects.get(notification=ravi.notification, local_authority__code="LA341")
    lena = make_user("lena-audit", "LA341", "auditor")
    client.force_login(lena)
    found = client.get(
        reverse("referrals:access_lookup"), {"reference": ravi.notification.incident_reference}
    ).content.decode()
    assert reverse("referrals:contact_access", args=[sister.pk]) in found
    assert reverse("referrals:contact_access", args=[ravi.pk]) not in found
    by_contact = client.get(reverse("referrals:access_lookup"), {"reference": str(ravi.pk)})
    assert 'id="not-found"' in by_contact.content.decode()
    assert client.get(reverse("referrals:contact_access", args=[ravi.pk])).status_code == 404
