"""MARAC referrals in the browser: a police hub officer opens the list, reads the evidence of the
referral proposed at intake and refers the victim to MARAC; a refusal to refer needs a reason.
axe-core on every page visited."""

import re

import pytest

from safehub.core.testing import example_bytes
from tests.browser.test_hub_pages import error_summary, sign_in, success_banner

REFERRAL_URL = re.compile(r"/marac/[0-9a-f-]+/$")


@pytest.fixture
def high_risk(reference):
    """The spec's high-risk example: Jane Example meets two MARAC criteria."""
    from safehub.intake.models import Channel
    from safehub.intake.services import notification_receive

    notification_receive(raw=example_bytes("notification-high-risk.json"), channel=Channel.API)


def status_of(page) -> str:
    row = page.locator("#marac-status .govuk-summary-list__row").first
    return row.locator("dd").inner_text().strip()


def open_the_referral(page, assert_accessible) -> None:
    page.locator("header").get_by_role("link", name="MARAC referrals").click()
    page.wait_for_url("**/marac/")
    assert page.get_by_role("heading", level=1).inner_text() == "MARAC referrals"
    assert "To confirm: 1" in page.locator("#to-confirm-count").inner_text()
    row = page.locator("table.govuk-table tbody tr").first
    assert "MSP MSP-26-004821" in row.inner_text()
    assert "Visible high risk (DASH)" in row.inner_text()
    assert "To confirm" in row.inner_text()
    assert_accessible(page)

    page.get_by_role("link", name="Jane Example").click()
    page.wait_for_url(REFERRAL_URL)
    assert page.get_by_role("heading", level=1).inner_text() == "Jane Example"
    assert status_of(page) == "To confirm"
    assert_accessible(page)


@pytest.mark.django_db(transaction=True)
def test_police_officer_reads_the_evidence_and_refers_to_marac(
    page, assert_accessible, percy, high_risk
):
    sign_in(page, assert_accessible, "percy")
    open_the_referral(page, assert_accessible)

    criteria = page.locator("h2#criteria-met ~ dl").first.inner_text()
    assert re.search(r"Visible high risk \(DASH\)\s+DASH: 16 yes answers", criteria)
    assert re.search(r"Professional judgement\s+Officer graded the risk high", criteria)
    assert "2 April 1992" in page.locator("main").inner_text()

    page.get_by_label("Refer to MARAC").check()
    page.get_by_label("Note").fill("Referred to the next Wirral MARAC.")
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_url(REFERRAL_URL)
    assert "Jane Example is referred to MARAC" in success_banner(page)
    assert status_of(page) == "Referred to MARAC"
    decided = page.locator("#marac-status").inner_text()
    assert "Percy" in decided
    assert "Referred to the next Wirral MARAC." in decided
    assert page.get_by_role("button", name="Record the decision").count() == 0
    assert_accessible(page)

    page.get_by_role("link", name="Back to MARAC referrals").click()
    page.wait_for_url("**/marac/")
    assert "To confirm: 0" in page.locator("#to-confirm-count").inner_text()
    assert "Referred to MARAC" in page.locator("table.govuk-table tbody").inner_text()
    assert_accessible(page)


@pytest.mark.django_db(transaction=True)
def test_not_referring_needs_a_reason(page, assert_accessible, percy, high_risk):
    sign_in(page, assert_accessible, "percy")
    open_the_referral(page, assert_accessible)

    page.get_by_label("Do not refer").check()
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_load_state()
    summary = error_summary(page)
    link = summary.get_by_role("link", name="Say why the victim is not referred to MARAC")
    assert link.get_attribute("href") == "#id_note"
    assert page.title().startswith("Error: ")
    assert_accessible(page)

    link.click()
    assert page.evaluate("document.activeElement.id") == "id_note"
    # The choice made is kept.
    assert page.get_by_label("Do not refer").is_checked()
    page.get_by_label("Note").fill("Victim already heard at this month's MARAC.")
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_url(REFERRAL_URL)
    assert "Recorded that Jane Example is not referred to MARAC" in success_banner(page)
    assert status_of(page) == "Not referred"
    assert_accessible(page)
