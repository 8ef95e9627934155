"""The triage queue's filters and a manager's reassignment, in the browser, axe on every page.

Wirral's queue holds the spec's examples: from the Wallasey incident Ravi (amber) and an unborn
child (red); from the Birkenhead one Amy and Leo (both red: the officer graded it high)."""

import datetime as dt
import re

import pytest

from safehub.core.testing import example_bytes
from tests.browser.test_hub_pages import error_summary, queue_names, sign_in, success_banner

CONTACT_URL = re.compile(r"/contacts/[0-9a-f-]+/$")


@pytest.fixture
def notifications(reference):
    from safehub.intake.models import Channel
    from safehub.intake.services import notification_receive

    for name in ("notification-two-authorities.json", "notification-high-risk.json"):
        notification_receive(raw=example_bytes(name), channel=Channel.IMPORT)


def wirral(**filters):
    from safehub.referrals.models import Contact

    return Contact.objects.filter(local_authority__code="LA344", **filters)


def apply_filters(page, **choices: str) -> None:
    for label, value in choices.items():
        page.get_by_label(label, exact=True).select_option(label=value)
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_load_state()


@pytest.mark.django_db(transaction=True)
def test_filters_narrow_the_queue_and_keep_the_most_urgent_first(
    page, assert_accessible, alice, mary, notifications
):
    sign_in(page, assert_accessible, "mary")
    everyone = queue_names(page)
    assert len(everyone) == wirral().count() == 4

    apply_filters(page, Rating="Red")
    red = [
        f"{c.given_names} {c.family_name}"
        for c in wirral(rag="red").order_by("next_due_at", "received_at", "id")
    ]
    assert queue_names(page) == red
    assert "rag=red" in page.url
    assert page.get_by_role("link", name="Clear filters").is_visible()
    assert_accessible(page)

    apply_filters(page, Rating="Amber")
    assert queue_names(page) == ["Ravi Demo"]

    # Nobody holds anything yet: "Me" is empty, and says so.
    apply_filters(page, Rating="Any rating", **{"Held by": "Me"})
    assert queue_names(page) == []
    assert "No contacts match these filters." in page.locator("main").inner_text()
    assert_accessible(page)

    # Nothing is overdue yet; make one contact's deadline pass and it is the only one shown.
    page.get_by_role("link", name="Clear filters").click()
    page.wait_for_load_state()
    late = wirral(rag="amber").get()
    past = late.received_at - dt.timedelta(hours=1)
    wirral(pk=late.pk).update(next_due_at=past)
    page.get_by_label("Only contacts with a deadline passed").check()
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_load_state()
    assert queue_names(page) == ["Ravi Demo"]
    row = page.locator("table tbody tr").first.inner_text()
    assert "Overdue" in row
    assert_accessible(page)


@pytest.mark.django_db(transaction=True)
def test_a_manager_reassigns_a_contact_with_a_reason(
    page, assert_accessible, alice, mary, notifications
):
    contact = wirral(rag="amber").get()
    sign_in(page, assert_accessible, "mary")
    page.get_by_role("link", name="Ravi Demo").click()
    page.wait_for_url(CONTACT_URL)
    page.get_by_role("link", name="Reassign this contact").click()
    page.wait_for_url(re.compile(r"/reassign/$"))
    assert_accessible(page)

    # Without a worker and a reason, both are asked for.
    page.get_by_role("button", name="Reassign").click()
    page.wait_for_load_state()
    summary = error_summary(page)
    assert summary.get_by_role("link", name="Choose who should hold the contact").is_visible()
    assert summary.get_by_role("link", name="Say why the contact changes hands").is_visible()
    assert page.title().startswith("Error: ")
    assert_accessible(page)

    page.get_by_label("Who should hold this contact?").select_option(label="Alice")
    page.get_by_label("Why does it change hands?").fill("Alice knows the family.")
    page.get_by_role("button", name="Reassign").click()
    page.wait_for_url(CONTACT_URL)
    assert "The contact is now held by Alice" in success_banner(page)
    held = page.locator("h2:has-text('Where it stands') + dl").inner_text()
    assert "Alice" in held and "Screening" in held
    assert_accessible(page)

    contact.refresh_from_db()
    assert contact.assigned_to == alice and contact.status == "screening"

    # Alice finds it under "Me".
    page.locator("header").get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in/")
    sign_in(page, assert_accessible, "alice")
    apply_filters(page, **{"Held by": "Me"})
    assert queue_names(page) == ["Ravi Demo"]
    # A social worker cannot reassign.
    page.goto(f"/contacts/{contact.pk}/reassign/")
    assert page.locator("h1").inner_text() != "Reassign the contact"
