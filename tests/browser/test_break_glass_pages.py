"""Break-glass in the browser: Alice (Wirral) opens a Liverpool child's contact by its exact
reference, with a purpose and a reason, and reads it under a banner that says so; Mary, her
manager, sees the opening among her team's. axe on every page.
"""

import re

import pytest

from safehub.core.testing import example_bytes
from tests.browser.test_hub_pages import TWO_AUTHORITIES_REF, contact_id, error_summary, sign_in

REASON = "The family moved to Wallasey last week; mother called the duty line."


@pytest.fixture
def family(reference):
    """The two-authorities example: Ravi in Wirral, Maya in Liverpool."""
    from safehub.intake.models import Channel
    from safehub.intake.services import notification_receive

    notification_receive(
        raw=example_bytes("notification-two-authorities.json"), channel=Channel.IMPORT
    )


@pytest.mark.django_db(transaction=True)
def test_a_worker_opens_another_councils_contact_by_reference_and_sees_the_banner(
    page, assert_accessible, alice, mary, family
):
    maya = contact_id(TWO_AUTHORITIES_REF, "C2")  # Liverpool's
    sign_in(page, assert_accessible, "alice")
    assert "Maya Demo" not in page.locator("table.govuk-table").inner_text()
    response = page.goto(f"/contacts/{maya}/")
    assert response.status == 404

    page.goto("/")
    page.get_by_role("link", name="Open a record from another council").click()
    page.wait_for_url("**/contacts/break-glass/")
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Open a record from another council"
    )
    assert_accessible(page)

    # Nothing given: the errors name their fields, and nothing opens.
    page.get_by_role("button", name="Open the record").click()
    page.wait_for_load_state()
    summary = error_summary(page)
    links = summary.get_by_role("link")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs == ["#id_purpose", "#id_reason"]
    assert page.title().startswith("Error: Open a record from another council")
    assert_accessible(page)

    # A reference no one holds: one error, on the reference.
    page.get_by_label("Contact reference").fill("0b9c6f2e-4d1a-4c53-9a57-2f1f0d3c8e41")
    page.get_by_label("Child moved into our area").check()
    page.get_by_label("Say why, in your own words").fill(REASON)
    page.get_by_role("button", name="Open the record").click()
    page.wait_for_load_state()
    assert "No record you can open has this contact reference" in error_summary(page).inner_text()
    assert_accessible(page)

    page.get_by_label("Contact reference").fill(maya)
    page.get_by_role("button", name="Open the record").click()
    page.wait_for_url(re.compile(rf"/contacts/{maya}/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Maya Demo"
    banner = page.get_by_role("region", name="Break-glass access").inner_text()
    assert re.search(
        r"You are viewing another council's record under break-glass \(Child moved into our "
        r"area, until \d\d:\d\d\)\. This access is recorded and your manager has been told\.",
        banner,
    )
    assert "Liverpool children's services holds this record" in banner
    assert page.get_by_role("button", name="Record the decision").count() == 0
    assert page.get_by_role("link", name=re.compile("^Reassign")).count() == 0
    assert_accessible(page)

    page.locator("header").get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in/")
    sign_in(page, assert_accessible, "mary")
    page.get_by_role("link", name="Break-glass openings by your team in the last 30 days").click()
    page.wait_for_url("**/contacts/break-glass/openings/")
    table = page.locator("#break-glass-openings").inner_text()
    assert "Alice" in table and maya in table and REASON in table
    assert "Maya" not in page.content()
    assert_accessible(page)
