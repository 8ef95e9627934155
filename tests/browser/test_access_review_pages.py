"""An auditor of the council finds a child by the incident's reference and sees who has opened
the record: the contact, its notification, the strategy discussions about the child."""

import re

import pytest

from safehub.core.testing import PASSWORD, example_bytes
from tests.browser.test_hub_pages import TWO_AUTHORITIES_REF, enter_code


@pytest.fixture
def ravi(reference):
    from safehub.intake.models import Channel
    from safehub.intake.services import notification_receive
    from safehub.referrals.models import Contact

    notification_receive(
        raw=example_bytes("notification-two-authorities.json"), channel=Channel.API
    )
    return Contact.objects.get(child_ref="C1", local_authority__code="LA344")


@pytest.mark.django_db(transaction=True)
def test_an_auditor_sees_who_has_opened_a_childs_record(
    page, live_server, assert_accessible, make_user, mary, ravi
):
    from django.test import Client
    from django.urls import reverse

    from safehub.referrals.models import Contact

    hub = Client()
    hub.force_login(mary)
    assert hub.get(reverse("referrals:contact_detail", args=[ravi.pk])).status_code == 200
    make_user("audrey", "LA344", "auditor")

    page.goto("/contacts/access/")
    page.wait_for_url(re.compile(r"/sign-in/\?next=/contacts/access/$"))
    page.get_by_label("Username").fill("audrey")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    enter_code(page, assert_accessible, "audrey")
    page.wait_for_url(re.compile(r"/contacts/access/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Who has seen a child's record"
    assert_accessible(page)

    # Nothing typed: the field says so.
    page.get_by_role("button", name="Find").click()
    page.wait_for_load_state()
    assert_accessible(page)

    page.get_by_label("Contact reference or police incident reference").fill("MSP-00-000000")
    page.get_by_role("button", name="Find").click()
    page.locator("#not-found").wait_for()
    assert_accessible(page)

    page.get_by_label("Contact reference or police incident reference").fill(TWO_AUTHORITIES_REF)
    page.get_by_role("button", name="Find").click()
    found = page.locator("#found")
    # Only Wirral's children of the incident: Maya is Liverpool's.
    wirral = Contact.objects.filter(notification=ravi.notification, local_authority__code="LA344")
    assert found.get_by_role("link").count() == wirral.count() >= 1
    assert "Maya" not in found.inner_text()
    assert_accessible(page)
    found.get_by_role("link", name=f"{ravi.given_names} {ravi.family_name}").click()
    page.wait_for_url(re.compile(rf"/contacts/{ravi.pk}/access/$"))
    assert page.get_by_role("heading", level=1).inner_text() == (
        f"Who has seen {ravi.given_names} {ravi.family_name}'s record"
    )
    log = page.locator("#access-log")
    assert "Mary" in log.inner_text() and "This contact" in log.inner_text()
    assert_accessible(page)
    # The auditor sees who opened it, not the record.
    page.goto(f"/contacts/{ravi.pk}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Page not found"


@pytest.mark.django_db(transaction=True)
def test_an_auditor_downloads_the_audit_log_of_their_agency(
    page, live_server, assert_accessible, make_user
):
    make_user("audrey", "LA344", "auditor")
    page.goto("/audit/export/")
    page.wait_for_url(re.compile(r"/sign-in/\?next=/audit/export/$"))
    page.get_by_label("Username").fill("audrey")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    enter_code(page, assert_accessible, "audrey")
    page.wait_for_url(re.compile(r"/audit/export/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "The audit log"
    assert_accessible(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the CSV").click()
    text = open(download.value.path(), encoding="utf-8-sig").read()  # noqa: SIM115
    assert text.startswith("at,actor,role,agency,action,object_type")
    assert "audrey" in text.lower() or "Audrey" in text  # her sign-in and this page, at least
    # A period that ends before it starts: the error, on the page.
    page.get_by_label("From").fill("2026-11-24")
    page.get_by_label("To (included)").fill("2026-11-01")
    page.get_by_role("button", name="Download the CSV").click()
    page.locator(".govuk-error-summary").wait_for()
    assert_accessible(page)
