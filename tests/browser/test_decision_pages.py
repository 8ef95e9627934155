"""The front-door workflow in the browser: a worker takes the next contact and decides it; a
manager signs the decision off and the contact closes. axe-core on every page visited."""

import re

import pytest
from django.db.models import F

from safehub.core.testing import example_bytes
from tests.browser.test_hub_pages import sign_in, success_banner

CONTACT_URL = re.compile(r"/contacts/[0-9a-f-]+/$")


@pytest.fixture
def notifications(reference):
    from safehub.intake.models import Channel
    from safehub.intake.services import notification_receive

    for name in ("notification-two-authorities.json", "notification-high-risk.json"):
        notification_receive(raw=example_bytes(name), channel=Channel.IMPORT)


def most_urgent_wirral_contact():
    from safehub.referrals.models import Contact, ContactStatus

    return (
        Contact.objects.filter(
            status=ContactStatus.RECEIVED,
            local_authority__code="LA344",
            assigned_to__isnull=True,
        )
        .order_by(F("next_due_at").asc(nulls_last=True), "received_at", "id")
        .first()
    )


def status_of(page) -> str:
    row = page.locator("h2:has-text('Where it stands') + dl .govuk-summary-list__row").first
    return row.locator("dd").inner_text().strip()


def clock_states(page) -> dict[str, str]:
    """The deadlines table: each deadline's state tag, by name."""
    states = {}
    for row in page.locator("#clocks tbody tr").all():
        name = row.locator("th").inner_text().strip()
        states[name] = row.locator("td .govuk-tag").inner_text().strip()
    return states


def sign_out(page) -> None:
    page.locator("header").get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in/")


@pytest.mark.django_db(transaction=True)
def test_worker_takes_and_decides_then_manager_signs_off(
    page, assert_accessible, alice, mary, notifications
):
    expected = most_urgent_wirral_contact()
    assert expected is not None
    assert expected.rag == "red"  # a red contact comes first
    name = f"{expected.given_names} {expected.family_name}"

    sign_in(page, assert_accessible, "alice")
    counts = page.locator("#status-counts").inner_text()
    assert "Received: 4" in counts
    first_row = page.locator("table:has(caption:has-text('most urgent first')) tbody tr").first
    assert name in first_row.inner_text()
    assert "Red" in first_row.inner_text()
    page.get_by_role("button", name="Take the next contact").click()
    page.wait_for_url(CONTACT_URL)
    assert page.url.endswith(f"/contacts/{expected.pk}/")
    assert f"You are screening {name}" in success_banner(page)
    assert page.get_by_role("heading", level=1).inner_text() == name
    assert status_of(page) == "Screening"
    # The reasons for the rating, in words, and the version of the policy that rated it.
    reasons = page.locator("#rating-reasons li").all_inner_texts()
    assert reasons and reasons == expected.rag_reasons
    assert "Triage policy version 1" in page.locator("h2#rating + dl").inner_text()
    assert clock_states(page) == {"Screening decision": "Running"}
    assert_accessible(page)

    # A decision without its reasons is refused, and the summary names the field.
    page.get_by_label("Child and family assessment (section 17)").check()
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_load_state()
    summary = page.locator(".govuk-error-summary")
    assert summary.get_by_role("link", name="Give the reasons for the decision").is_visible()
    assert page.title().startswith("Error: ")
    assert_accessible(page)

    page.get_by_label("Child and family assessment (section 17)").check()
    page.get_by_label("Why?").fill("Second call-out this month; the child was present.")
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_url(CONTACT_URL)
    assert "Decision recorded: Child and family assessment (section 17)" in success_banner(page)
    assert status_of(page) == "Decided"
    assert page.get_by_role("button", name="Record the decision").count() == 0
    assert_accessible(page)
    sign_out(page)

    sign_in(page, assert_accessible, "mary")
    awaiting = page.locator("h2#awaiting-sign-off + table")
    assert name in awaiting.inner_text()
    assert "Child and family assessment (section 17)" in awaiting.inner_text()
    awaiting.get_by_role("link", name=name).click()
    page.wait_for_url(CONTACT_URL)
    decision = page.locator("h2:has-text('Decision awaiting sign-off') + dl").inner_text()
    assert "Second call-out this month; the child was present." in decision
    assert "Alice" in decision
    assert_accessible(page)

    page.get_by_role("button", name="Sign off").click()
    page.wait_for_url(CONTACT_URL)
    assert "Decision signed off. The contact is closed." in success_banner(page)
    assert status_of(page) == "Closed"
    # The screening decision was made in time, and the sign-off made the referral decision in
    # time; the assessment's 45 working days have begun.
    assert clock_states(page) == {
        "Screening decision": "Met",
        "Referral decision": "Met",
        "Child and family assessment": "Running",
    }
    history = page.locator("#status-history tbody").inner_text()
    assert "Taken from the queue." in history
    assert "Decided: Child and family assessment (section 17)" in history
    assert_accessible(page)

    page.goto("/")
    assert "No decisions are waiting for sign-off." in page.locator("main").inner_text()
    assert_accessible(page)
