"""Operation Encompass as a school's safeguarding lead uses it: real Chromium, the live server,
axe on every page.

Morgan, the designated safeguarding lead of Birkenhead St Mary's Primary School (URN 900001),
signs in, finds Amy's notice at the top of the list, reads it (the Encompass subset, never the
adults or the summary) and acknowledges it.
"""

import re

import pytest

from safehub.core.testing import PASSWORD
from tests.browser.test_hub_pages import enter_code


@pytest.fixture
def morgan(make_user):
    return make_user("morgan", "URN900001", "education_safeguarding_lead")


@pytest.fixture
def amy_notice(reference):
    from safehub.encompass.tests.bodies import receive_with_notices

    return receive_with_notices()["C1"]


def banner(page) -> str:
    found = page.locator(".govuk-notification-banner--success")
    assert found.is_visible()
    return found.inner_text()


@pytest.mark.django_db(transaction=True)
def test_school_lead_reads_and_acknowledges_a_notice(page, assert_accessible, morgan, amy_notice):
    page.goto("/encompass/")  # asks for a sign-in first
    page.wait_for_url(re.compile(r"/sign-in/\?next=/encompass/$"))
    assert_accessible(page)
    page.get_by_label("Username").fill("morgan")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    enter_code(page, assert_accessible, "morgan")

    page.wait_for_url(re.compile(r"/encompass/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Operation Encompass notices"
    assert page.get_by_role("link", name="Triage queue").count() == 0
    rows = page.locator("table.govuk-table tbody tr")
    assert rows.count() == 1
    assert "MSP-26-004821" in rows.first.inner_text()
    assert "Queued" in rows.first.inner_text()
    assert_accessible(page)

    page.get_by_role("link", name="Amy Example").click()
    page.wait_for_url(re.compile(rf"/encompass/{amy_notice.pk}/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Amy Example"
    told = page.locator("h2:has-text('What the police told us') + dl").inner_text()
    assert "11 June 2017" in told
    assert "14 Example Road, Birkenhead, CH41 6AB" in told
    assert "Said she hid in her room with her brother." in told
    main = page.locator("main").inner_text()
    for never in ("Jane", "John", "neighbour called", "Assault", "Strangulation", "Leo"):
        assert never not in main, never
    assert_accessible(page)

    page.get_by_role("button", name="Acknowledge").click()
    page.wait_for_url(re.compile(rf"/encompass/{amy_notice.pk}/$"))
    page.wait_for_load_state()
    assert "Notice acknowledged" in banner(page)
    about = page.locator("h2:has-text('This notice') + dl").inner_text()
    assert re.search(r"Acknowledged by\s+Morgan", about)
    assert page.get_by_role("button", name="Acknowledge").count() == 0
    assert_accessible(page)

    page.get_by_role("link", name="Back to Operation Encompass notices").click()
    page.wait_for_url(re.compile(r"/encompass/$"))
    assert "Acknowledged" in page.locator("table.govuk-table tbody tr").first.inner_text()
    assert_accessible(page)

    amy_notice.refresh_from_db()
    assert amy_notice.status == "acknowledged"
    assert amy_notice.acknowledged_by == morgan
