"""The person index's clerical review in the browser: real Chromium, the live server, axe on every
page state.

Wirral's index knows Amy Example (the council's record and her school's roll). Two records came in
that the matching was unsure of: "Amy Exampel" at a new postcode (83%: Alice links her) and
"Aimee Example" (64%: Alice keeps her apart: another mother, another school). A third person, a
duplicate of Amy from an old council file, is merged into her by Mary, the hub's manager, from
Amy's page (by reference, after a page showing both), and the merge is undone again.
"""

import datetime as dt
import re

import pytest

from safehub.core import clock
from safehub.people.models import LinkMethod, Merge, ReviewStatus
from safehub.people.tests.review_factory import make_person, make_record, make_review
from tests.browser.test_hub_pages import error_summary, sign_in, success_banner

PERSON_URL = re.compile(r"/people/[0-9a-f-]{36}/$")


@pytest.fixture
def index(reference):
    amy = make_person()
    make_record(amy, source="LA344", source_ref="CSC-1", nhs_number="943 476 5919")
    last_year = clock.now() - dt.timedelta(days=365)
    make_record(
        amy, source="URN900001", source_ref="ROLL-7", family_name="Smith", seen_at=last_year
    )
    typo = make_record(
        source="LA344", source_ref="CSC-2", family_name="Exampel", postcode="CH62 3AA"
    )
    other = make_record(
        source="URN900001", source_ref="ROLL-8", given_names="Aimee", dob="2017-11-06"
    )
    duplicate = make_person()
    make_record(duplicate, source="LA344", source_ref="OLD-1", line1="1 Example St")
    return {
        "amy": amy,
        "duplicate": duplicate,
        "linked": make_review(typo, amy, probability=0.83),
        "apart": make_review(other, amy, probability=0.64),
    }


@pytest.mark.django_db(transaction=True)
def test_a_worker_links_one_record_and_keeps_another_apart(page, assert_accessible, alice, index):
    amy = index["amy"]
    sign_in(page, assert_accessible, "alice")
    page.get_by_role("link", name="Records to review").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Records to review"
    rows = page.locator("#reviews tbody tr")
    assert rows.count() == 2
    assert "Amy Exampel" in rows.nth(0).inner_text() and "83%" in rows.nth(0).inner_text()
    assert "Aimee Example" in rows.nth(1).inner_text()
    assert_accessible(page)

    # The first: side by side, with the evidence; a decision with no answer is refused.
    rows.nth(0).get_by_role("link", name="Amy Exampel").click()
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading == f"Is Amy Exampel {amy.reference}?"
    assert "ending 5919" in page.locator("#side-by-side").inner_text()
    evidence = page.locator("#evidence ~ table").inner_text()
    assert "Date of birth" in evidence and "7.9 (for)" in evidence
    assert_accessible(page)
    page.get_by_role("button", name="Save the decision").click()
    summary = error_summary(page)
    link = summary.get_by_role("link", name="Select whether the record is the same person")
    assert link.get_attribute("href") == "#id_decision"
    assert page.title().startswith("Error: ")
    assert_accessible(page)
    page.get_by_label("Yes, the same person: link the record to them").check()
    page.get_by_label("Why").fill("Same date of birth and school; the surname is a typo.")
    page.get_by_role("button", name="Save the decision").click()
    page.wait_for_url(re.compile(r"/people/reviews/$"))
    assert f"The record is linked to {amy.reference}" in success_banner(page)
    assert_accessible(page)
    typo = index["linked"].record
    typo.refresh_from_db()
    assert (typo.person, typo.link_method) == (amy, LinkMethod.REVIEW)

    # The second: kept apart.
    page.get_by_role("link", name="Aimee Example").click()
    assert_accessible(page)
    page.get_by_label("No, different people: keep them apart").check()
    page.get_by_label("Why").fill("Another date of birth, another mother.")
    page.get_by_role("button", name="Save the decision").click()
    page.wait_for_url(re.compile(r"/people/reviews/$"))
    assert f"kept apart from {amy.reference}" in success_banner(page)
    assert "No record is waiting for review" in page.locator("main").inner_text()
    assert_accessible(page)
    index["apart"].refresh_from_db()
    assert index["apart"].status == ReviewStatus.KEPT_APART


@pytest.mark.django_db(transaction=True)
def test_a_manager_merges_two_people_and_undoes_it(page, assert_accessible, mary, index):
    amy, duplicate = index["amy"], index["duplicate"]
    sign_in(page, assert_accessible, "mary")
    page.goto(f"/people/{amy.pk}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Amy Example"
    assert "No merge" in page.locator("main").inner_text()
    addresses = page.get_by_role("table", name="Addresses over time")
    assert "1 Example St" in addresses.inner_text()
    assert page.get_by_role("heading", name="Identifiers").is_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Merge another person into this one").click()
    assert_accessible(page)
    page.get_by_label("Reference of the person to merge into this one").fill("P-12345678")
    page.get_by_label("Why they are the same person").fill("The same child in an old file.")
    page.get_by_role("button", name="Continue").click()
    summary = error_summary(page)
    assert summary.get_by_role("link", name=re.compile("No person of your council")).is_visible()
    assert_accessible(page)
    page.get_by_label("Reference of the person to merge into this one").fill(duplicate.reference)
    page.get_by_role("button", name="Continue").click()
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading == f"Are {duplicate.reference} and {amy.reference} the same person?"
    assert "1 Example St" in page.locator("#side-by-side").inner_text()
    assert_accessible(page)
    page.get_by_role("button", name=f"Merge {duplicate.reference} into {amy.reference}").click()
    page.wait_for_url(PERSON_URL)
    assert f"{duplicate.reference} is merged into {amy.reference}" in success_banner(page)
    assert "Moved by a merge" in page.locator("#records + table").inner_text()
    assert_accessible(page)

    # Undo it: a reason is needed; then the duplicate has their record back.
    page.get_by_role("link", name=re.compile(r"^Undo")).click()
    assert_accessible(page)
    page.get_by_role("button", name="Undo the merge").click()
    assert error_summary(page).get_by_role("link", name="Enter the reason").is_visible()
    assert_accessible(page)
    page.get_by_label("Why the merge is undone").fill("Two children: the file's child is a cousin.")
    page.get_by_role("button", name="Undo the merge").click()
    page.wait_for_url(f"**/people/{duplicate.pk}/")
    assert "The merge is undone" in success_banner(page)
    assert "OLD-1" in page.locator("#records + table").inner_text()
    assert_accessible(page)
    merge = Merge.objects.get()
    assert merge.undone_by == mary
    assert duplicate.records.get().link_method == LinkMethod.NEW
