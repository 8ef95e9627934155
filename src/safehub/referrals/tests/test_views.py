"""The triage queue, the contact page and the manual contact form."""

import pytest
from django.urls import reverse

from safehub.accounts.testing import totp_code_for
from safehub.audit.models import AuditEvent
from safehub.core.testing import PASSWORD, example_bytes
from safehub.intake.models import Channel
from safehub.intake.services import notification_receive
from safehub.referrals.models import Contact


@pytest.fixture
def two_authorities(reference):
    return notification_receive(
        raw=example_bytes("notification-two-authorities.json"), channel=Channel.IMPORT
    )


def contact_of(ref: str) -> Contact:
    return Contact.objects.get(child_ref=ref)


def test_queue_requires_sign_in(client, db):
    response = client.get(reverse("referrals:queue"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_sign_in_page_signs_in(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("signin_code")
    response = client.post(reverse("signin_code"), {"code": totp_code_for("alice")})
    assert response.status_code == 302
    assert client.get(reverse("referrals:queue")).status_code == 200


def test_queue_shows_only_my_councils_children(client, alice, two_authorities):
    client.force_login(alice)
    page = client.get(reverse("referrals:queue")).content.decode()
    assert "Ravi Demo" in page and "Unborn Demo" in page
    assert "Maya Demo" not in page  # she lives in Liverpool


def test_queue_view_is_audited_with_what_was_shown(client, alice, two_authorities):
    client.force_login(alice)
    client.get(reverse("referrals:queue"))
    event = AuditEvent.objects.get(object_type="referrals.queue")
    assert event.action == "search"
    assert str(contact_of("C1").pk) in event.detail["shown"]
    assert str(contact_of("C2").pk) not in event.detail["shown"]


def test_contact_page_shows_the_notification_as_sent_and_is_audited(client, alice, two_authorities):
    client.force_login(alice)
    contact = contact_of("C1")
    response = client.get(reverse("referrals:contact_detail", args=[contact.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "MSP-26-004830" in page
    assert "Controlling behaviour reported; first call-out." in page
    assert AuditEvent.objects.filter(action="view", object_id=str(contact.pk)).count() == 1


def test_another_councils_contact_is_not_found(client, bob, two_authorities):
    client.force_login(bob)
    wirral_child = contact_of("C1")
    response = client.get(reverse("referrals:contact_detail", args=[wirral_child.pk]))
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(object_id=str(wirral_child.pk)).exists()


def test_health_practitioner_sees_no_queue(client, harriet, two_authorities):
    client.force_login(harriet)
    assert client.get(reverse("referrals:queue")).status_code == 403
    response = client.get(reverse("referrals:contact_detail", args=[contact_of("C1").pk]))
    assert response.status_code == 404


def test_police_officer_sees_their_forces_contacts(client, percy, two_authorities):
    client.force_login(percy)
    page = client.get(reverse("referrals:queue")).content.decode()
    assert "Ravi Demo" in page and "Maya Demo" in page


def test_manual_contact_from_a_school_carries_its_cin_source(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("referrals:contact_new"),
        {
            "referral_source": "2A",
            "referrer_name": "Dana Nolan",
            "referrer_organisation": "Birkenhead St Mary's Primary School",
            "given_names": "Tom",
            "family_name": "Sample",
            "date_of_birth": "03/03/2018",
            "postcode": "ch41 6ab",
            "reason": "Came to school with bruises on his arm.",
        },
    )
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert contact.referral_source == "2A"
    assert contact.local_authority.la_code == "344"
    assert contact.postcode == "CH41 6AB"
    assert AuditEvent.objects.filter(action="create", object_id=str(contact.pk)).exists()


def test_manual_contact_errors_name_the_field_and_store_nothing(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("referrals:contact_new"),
        {
            "referral_source": "",
            "given_names": "Tom",
            "family_name": "",
            "postcode": "NOT A PC",
            "reason": "",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Error: Record a contact" in page
    assert "Enter a real postcode, like CH41 6AB" in page
    assert 'href="#id_family_name"' in page
    assert not Contact.objects.exists()


def test_police_is_not_a_manual_source(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("referrals:contact_new"),
        {
            "referral_source": "6",
            "given_names": "Tom",
            "family_name": "Sample",
            "reason": "Police called.",
        },
    )
    assert response.status_code == 200
    assert not Contact.objects.exists()


def test_manager_routes_a_split_district_contact(client, mary, make_user, reference):
    import json

    from safehub.core.testing import example

    body = example("notification-high-risk.json")
    body["incident_address"]["postcode"] = "L9 5AB"  # Liverpool and Sefton share L9
    notification_receive(raw=json.dumps(body).encode(), channel=Channel.IMPORT)
    contact = contact_of("C1")
    client.force_login(mary)
    unrouted = client.get(reverse("referrals:queue") + "?show=unrouted").content.decode()
    assert "Amy Example" in unrouted
    response = client.post(
        reverse("referrals:contact_route", args=[contact.pk]),
        {"council": "341", "reason": "The family's home is in Walton."},
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.local_authority.la_code == "341"
    assert contact.routing == "routed_by_person"
    event = AuditEvent.objects.get(action="update", object_id=str(contact.pk))
    assert event.detail["reason"] == "The family's home is in Walton."


def test_social_worker_cannot_route(client, alice, two_authorities):
    client.force_login(alice)
    contact = contact_of("C1")
    response = client.post(
        reverse("referrals:contact_route", args=[contact.pk]), {"council": "341", "reason": "x"}
    )
    assert response.status_code == 403
    contact.refresh_from_db()
    assert contact.local_authority.la_code == "344"


def test_a_long_queue_is_paged(client, alice, reference):
    import json

    from safehub.core.testing import example

    for n in range(26):  # two Wirral children each: 52 contacts
        body = example("notification-high-risk.json")
        body["incident_reference"] = f"MSP-26-PAGE{n:02d}"
        notification_receive(raw=json.dumps(body).encode(), channel=Channel.IMPORT)
    client.force_login(alice)
    first = client.get(reverse("referrals:queue")).content.decode()
    assert 'aria-label="Pages of the queue"' in first
    assert 'href="?page=2" rel="next"' in first
    second = client.get(reverse("referrals:queue") + "?page=2").content.decode()
    assert second.count('class="govuk-table__row"') == 1 + 2  # the header row and two contacts


# --- Queue filters and reassignment -----------------------------------------------------------


def test_queue_filters_by_rating_and_shows_the_soonest_deadline_first(
    client, alice, two_authorities
):
    client.force_login(alice)
    page = client.get(reverse("referrals:queue"), {"rag": "red"}).content.decode()
    assert "Unborn Demo" in page and "Ravi Demo" not in page  # the unborn child is red
    page = client.get(reverse("referrals:queue"), {"rag": "amber"}).content.decode()
    assert "Ravi Demo" in page and "Unborn Demo" not in page
    page = client.get(reverse("referrals:queue")).content.decode()
    assert page.index("Unborn Demo") < page.index("Ravi Demo")  # 4 hours before tomorrow night


def test_queue_with_an_unknown_filter_value_shows_everything_and_names_the_field(
    client, alice, two_authorities
):
    client.force_login(alice)
    response = client.get(reverse("referrals:queue"), {"rag": "purple"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ravi Demo" in page and "Unborn Demo" in page
    assert "Select a valid choice" in page


def test_closed_contacts_leave_the_default_queue_but_can_be_shown(client, alice, two_authorities):
    from safehub.referrals.models import ContactStatus

    Contact.objects.filter(child_ref="C1").update(status=ContactStatus.CLOSED)
    client.force_login(alice)
    assert "Ravi Demo" not in client.get(reverse("referrals:queue")).content.decode()
    shown = client.get(reverse("referrals:queue"), {"status": "closed"}).content.decode()
    assert "Ravi Demo" in shown and "Unborn Demo" not in shown


def test_only_a_manager_reassigns(client, alice, mary, bob, two_authorities):
    ravi = contact_of("C1")
    url = reverse("referrals:contact_reassign", args=[ravi.pk])
    client.force_login(alice)
    assert client.get(url).status_code == 403
    client.force_login(bob)  # Liverpool: not his council's child
    assert client.get(url).status_code == 404
    client.force_login(mary)
    assert client.get(url).status_code == 200
    response = client.post(url, {"worker": str(alice.pk), "reason": "Knows the family."})
    assert response.status_code == 302
    ravi.refresh_from_db()
    assert ravi.assigned_to == alice and ravi.status == "screening"
    assert AuditEvent.objects.filter(
        object_id=str(ravi.pk), detail__reason="Knows the family."
    ).exists()


def test_reassigning_to_someone_outside_the_council_is_refused(client, mary, bob, two_authorities):
    ravi = contact_of("C1")
    client.force_login(mary)
    response = client.post(
        reverse("referrals:contact_reassign", args=[ravi.pk]),
        {"worker": str(bob.pk), "reason": "Cover."},
    )
    assert response.status_code == 422  # Bob is not one of the choices
    assert "Select a valid choice" in response.content.decode()
    ravi.refresh_from_db()
    assert ravi.assigned_to is None


def test_the_contact_page_shows_the_rating_its_reasons_and_the_deadlines(
    client, alice, two_authorities
):
    client.force_login(alice)
    ravi = contact_of("C1")
    page = client.get(reverse("referrals:contact_detail", args=[ravi.pk])).content.decode()
    assert "Amber" in page
    for reason in ravi.rag_reasons:
        assert reason in page
    assert "Triage policy version 1" in page
    assert "Screening decision" in page and "Running" in page
