"""The statutory returns page in the browser: real Chromium, the live server, axe on every state.

Anna, Wirral's performance analyst (LA344), signs in on the way to /returns/, downloads Annex A
for 1 June to 30 November 2026 (the records of safehub/returns/tests/test_annex_a.py: seven
contacts, three referrals, three assessments, one section 47 enquiry), gets the period wrong
(the end before the start) and is told so in the error summary, downloads the CIN census for the
year to 31 March 2027, and, once a conference has been moved to a Saturday, is refused the census
with the rule and the child listed."""

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from openpyxl import load_workbook

from safehub.core.testing import PASSWORD
from safehub.returns.tests.test_annex_a import build_world
from tests.browser.test_hub_pages import enter_code, error_summary

PATH = "/returns/"


def sign_in_to_returns(page, assert_accessible, username: str) -> None:
    page.goto(PATH)
    page.wait_for_url(re.compile(rf"/sign-in/\?next={re.escape(PATH)}$"))
    assert_accessible(page)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    enter_code(page, assert_accessible, username)
    page.wait_for_url(lambda url: urlsplit(url).path == PATH and not urlsplit(url).query)


@pytest.mark.django_db(transaction=True)
def test_an_analyst_downloads_annex_a_and_the_census_of_their_council(
    page, live_server, assert_accessible, make_user
):
    from safehub.audit.models import Action, AuditEvent
    from safehub.casework.models import Section47

    world = build_world(make_user)
    anna = make_user("anna", "LA344", "analyst")

    sign_in_to_returns(page, assert_accessible, "anna")
    assert page.get_by_role("heading", level=1).inner_text() == "Statutory returns"
    assert page.locator("header").get_by_role("link", name="Returns").is_visible()
    assert_accessible(page)

    # --- Annex A ----------------------------------------------------------------------------------
    page.get_by_label("From").fill("2026-06-01")
    page.get_by_label("To (included)").fill("2026-11-30")
    with page.expect_download() as downloading:
        page.get_by_role("button", name="Download Annex A").click()
    download = downloading.value
    assert download.suggested_filename == "annex-a-344-2026-06-01-to-2026-11-30.xlsx"
    with open(download.path(), "rb") as handle:  # the saved download has no .xlsx suffix
        book = load_workbook(handle)
    assert book.sheetnames == ["List 1", "List 3", "List 4", "List 5"]
    assert [book[name].max_row - 1 for name in book.sheetnames] == [7, 3, 3, 1]
    assert AuditEvent.objects.filter(
        user=anna, action=Action.EXPORT, object_type="returns.annex_a"
    ).exists()
    assert_accessible(page)

    # A period that ends before it starts: the error, linked to the field.
    page.get_by_label("From").fill("2026-11-30")
    page.get_by_label("To (included)").fill("2026-06-01")
    page.get_by_role("button", name="Download Annex A").click()
    page.wait_for_url(re.compile(r"/returns/\?download=annex-a&"))
    summary = error_summary(page)
    link = summary.get_by_role("link", name="The period must end on or after the day it starts")
    assert link.get_attribute("href") == "#id_end"
    assert page.locator("#id_end-error").is_visible()
    assert_accessible(page)
    link.click()
    assert page.evaluate("() => document.activeElement.id") == "id_end"

    # --- The CIN census ---------------------------------------------------------------------------
    page.get_by_label("1 April 2026 to 31 March 2027 (so far)").check()
    with page.expect_download() as downloading:
        page.get_by_role("button", name="Download the CIN census").click()
    assert downloading.value.suggested_filename == "cin-census-344-2027.xml"
    with open(downloading.value.path(), "rb") as handle:
        assert b"<LEA>344</LEA>" in handle.read()

    # A conference moved to a Saturday: no file, the rule and the child listed.
    sam2 = world.episodes["sam2"]
    Section47.objects.filter(episode=sam2).update(icpc_on=dt.date(2026, 10, 3))
    page.goto(PATH)
    page.get_by_label("1 April 2026 to 31 March 2027 (so far)").check()
    page.get_by_role("button", name="Download the CIN census").click()
    page.wait_for_url(re.compile(r"/returns/\?download=cin-census&"))
    summary = error_summary(page)
    assert "no file was given" in summary.inner_text()
    assert f"Rule 8875, child {sam2.child_id}" in summary.inner_text()
    assert_accessible(page)
