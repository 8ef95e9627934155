"""A head of service opens the performance dashboard, changes the period (a preset, then her own
dates, once wrongly), opens a table, downloads a figure as CSV, follows a number to the contacts
behind it, and opens the national view, which has no child and no link to one. Every state of
every page is checked with axe."""

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pytest

from tests.browser.test_hub_pages import sign_in


@pytest.mark.django_db(transaction=True)
def test_a_head_of_service_reads_the_dashboard_and_the_contacts_behind_a_number(
    page, live_server, assert_accessible, make_user, mary
):
    from safehub.core import clock
    from safehub.core.testing import example_bytes
    from safehub.intake.models import Channel
    from safehub.intake.services import notification_receive

    # The high-risk example (Amy and Leo, red, in Wirral), received two hours ago.
    with clock.frozen(clock.now() - dt.timedelta(hours=2)):
        notification_receive(raw=example_bytes("notification-high-risk.json"), channel=Channel.API)
    make_user("hazel", "LA344", "head_of_service")

    sign_in(page, assert_accessible, "hazel")
    page.locator("header").get_by_role("link", name="Performance").click()
    page.wait_for_url(re.compile(r"/reports/$"))
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == "Performance: Wirral children's services"
    assert "(30 days)" in page.locator("main").inner_text()
    assert page.locator("svg[role=img]").count() >= 15
    assert_accessible(page)

    # A preset period.
    page.get_by_label("The last 7 days").check()
    page.get_by_role("button", name="Show the figures").click()
    page.wait_for_url(re.compile(r"period=7"))
    assert "(7 days)" in page.locator("main").inner_text()
    assert_accessible(page)

    # Her own dates: wrongly first (the end before the start), then rightly.
    today = clock.now().astimezone(clock.LONDON).date()
    start = today - dt.timedelta(days=2)
    page.get_by_label("Choose the dates").check()
    assert_accessible(page)  # the dates revealed
    start_group = page.get_by_role("group", name="From")
    end_group = page.get_by_role("group", name="To (included)")
    start_group.get_by_label("Day").fill(str(today.day))
    start_group.get_by_label("Month").fill(str(today.month))
    start_group.get_by_label("Year").fill(str(today.year))
    end_group.get_by_label("Day").fill(str(start.day))
    end_group.get_by_label("Month").fill(str(start.month))
    end_group.get_by_label("Year").fill(str(start.year))
    page.get_by_role("button", name="Show the figures").click()
    page.wait_for_url(re.compile(r"period=custom"))
    summary = page.locator(".govuk-error-summary")
    assert "The end date must be the same as or after the start date" in summary.inner_text()
    assert page.title().startswith("Error: ")
    assert_accessible(page)
    start_group = page.get_by_role("group", name="From")
    end_group = page.get_by_role("group", name="To (included)")
    start_group.get_by_label("Day").fill(str(start.day))
    start_group.get_by_label("Month").fill(str(start.month))
    start_group.get_by_label("Year").fill(str(start.year))
    end_group.get_by_label("Day").fill(str(today.day))
    end_group.get_by_label("Month").fill(str(today.month))
    end_group.get_by_label("Year").fill(str(today.year))
    page.get_by_role("button", name="Show the figures").click()
    page.wait_for_load_state()
    assert "(3 days)" in page.locator("main").inner_text()
    assert page.locator(".govuk-error-summary").count() == 0
    assert_accessible(page)

    # Open the table behind the RAG chart.
    section = page.locator("section", has=page.locator("#rag"))
    section.get_by_text("Table: contacts by rag rating").click()
    table = section.locator("#rag-table")
    assert table.is_visible()
    assert "Wirral children's services" in table.inner_text()
    assert_accessible(page)

    # Download it as CSV.
    with page.expect_download() as info:
        section.get_by_role("link", name=re.compile("Download this table as CSV")).click()
    rows = list(csv.reader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8"))))
    assert rows[1][:3] == ["Council", "Contacts", "Red"]
    assert rows[-1][:3] == ["Total", "2", "2"]

    # Follow the number of red contacts to the contacts behind it.
    table.get_by_role("link", name=re.compile(r"^2 contacts: Total, red")).click()
    page.wait_for_url(re.compile(r"/reports/contacts/\?"))
    assert page.get_by_role("heading", level=1).inner_text() == "Red: 2 contacts"
    listed = page.locator("#drill-contacts").inner_text()
    assert "Amy Example" in listed and "Leo Example" in listed
    assert_accessible(page)
    page.get_by_role("link", name="Amy Example").click()
    page.wait_for_url(re.compile(r"/contacts/[0-9a-f-]+/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Amy Example"

    # The national view: counts by council and force, no child, no link to one.
    page.goto("/reports/national/")
    assert page.get_by_role("heading", level=1).inner_text() == "National performance"
    main = page.locator("main")
    assert "Amy" not in main.inner_text()
    assert page.locator("a[href*='/reports/contacts/']").count() == 0
    section = page.locator("section", has=page.locator("#screening"))
    section.get_by_text("Table: screening decisions within their rag deadline").click()
    assert section.locator("#screening-table").is_visible()
    assert_accessible(page)
