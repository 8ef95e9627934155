"""History on the contact, in the browser: real Chromium, the live server, axe on the page.

Alice (Wirral) opens Amy's contact from the triage queue. The person index links Amy to the
September notification that spelled her "Aimee Exampel" and to Liverpool's record of "Amy Smith",
who has an open child protection plan there. The History section counts the earlier notification,
lists her household, and shows the chronology newest first: Wirral's own records in full, with
links; Liverpool's plan only as "Known to Liverpool ...", without its category.

The index's rows are built by hand (safehub.people.tests.test_history's factory), intake's own
indexing switched off, so the page is tested apart from the matching.
"""

import re

import pytest

from safehub.people.tests.test_history import (  # noqa: F401 (fixtures)
    amy,
    index_by_hand,
    liverpool_plan,
)
from tests.browser.test_hub_pages import sign_in

CONTACT_URL = re.compile(r"/contacts/[0-9a-f-]+/$")


@pytest.mark.django_db(transaction=True)
def test_a_worker_reads_the_childs_history_on_her_contact(
    page,
    live_server,
    assert_accessible,
    alice,
    amy,  # noqa: F811
):
    sign_in(page, assert_accessible, "alice")
    page.get_by_role("link", name="Amy Example", exact=True).click()
    page.wait_for_url(CONTACT_URL)
    assert page.get_by_role("heading", level=1).inner_text() == "Amy Example"

    history = page.get_by_role("heading", name="History", exact=True)
    assert history.is_visible()
    counts = page.locator("#history-counts").inner_text()
    assert re.search(r"Earlier police notifications about this child.*\n?\s*1", counts)

    household = page.locator("#household").inner_text()
    assert "Parent" in household and "Step-parent" in household and "Sibling" in household
    assert "Jane Example" in household

    chronology = page.locator("#chronology")
    items = chronology.locator("li.app-timeline__item")
    dates = [item.locator("time").get_attribute("datetime") for item in items.all()]
    assert dates == sorted(dates, reverse=True)
    text = chronology.inner_text()
    assert "Police notification: This child" in text
    assert "Held by Merseyside Police" in text
    plan = items.filter(has_text="Child protection plan")
    assert "Known to " in plan.inner_text() and "Liverpool" in plan.inner_text()
    assert "child protection plan from 3 March 2026, open" in plan.inner_text()
    assert "Emotional abuse" not in page.locator("main").inner_text()
    assert "held by another council or agency" in page.locator("#held-elsewhere").inner_text()
    assert_accessible(page)

    # Wirral's own September contact is a link to its page.
    september = items.filter(has=page.get_by_role("heading", name="Contact: This child"))
    september.get_by_role("link", name=re.compile(r"^Contact received by Wirral")).click()
    page.wait_for_url(CONTACT_URL)
    assert page.get_by_role("heading", level=1).inner_text() == "Aimee Exampel"
    assert_accessible(page)


@pytest.mark.django_db(transaction=True)
def test_a_contact_whose_re_rate_failed_warns_above_its_rating(
    page,
    live_server,
    assert_accessible,
    alice,
    amy,  # noqa: F811
):
    """The index linked Amy's people but triage could not be run again with what it found: until
    the sweep's retry succeeds, her contact says the rating may be too low."""
    from safehub.core import clock
    from safehub.people.models import RerateDue

    RerateDue.objects.create(
        notification=amy["now"], since=clock.now(), last_tried_at=clock.now(), last_error="x.Y"
    )
    sign_in(page, assert_accessible, "alice")
    page.get_by_role("link", name="Amy Example", exact=True).click()
    page.wait_for_url(CONTACT_URL)
    warning = page.locator("#rerate-due")
    assert "This rating may be too low" in warning.inner_text()
    # It sits under the Rating heading, before the rating itself.
    rating = page.get_by_role("heading", name="Rating", exact=True)
    assert rating.bounding_box()["y"] < warning.bounding_box()["y"]
    assert_accessible(page)
