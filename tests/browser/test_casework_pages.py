"""Casework in the browser: real Chromium, the live server, axe on every page state.

Amy (Wirral, LA344) was referred by her school about three weeks ago: Alice
decided on a section 47 strategy discussion, Mary (Wirral's hub manager) signed it off, so her
referral is open with an assessment; the enquiry started the next working day. Mary opens the
council's open referrals, then Amy's, authorises the assessment with the domestic abuse factors
(trying "No factors identified", which unticks the others and is unticked by them), records the
conference (a Saturday is refused with census rule 8875; a working day is taken), starts the
protection plan the conference made, records its review conference (the plan's first day is
refused with census rule 8841) with the latest category of abuse, ends the plan at the review,
starts and ends a children in need plan, and closes the referral.

The clock is not frozen: the dates are worked out here from today.
"""

import datetime as dt
import re

import pytest
from django.db import transaction

from safehub.core import clock
from safehub.timescales.calendar import add_working_days, is_working_day, london_date
from tests.browser.test_hub_pages import error_summary, sign_in, success_banner

EPISODE_URL = re.compile(r"/casework/[0-9a-f-]+/$")


def long_date(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def last_working_day(on_or_before: dt.date) -> dt.date:
    while not is_working_day(on_or_before):
        on_or_before -= dt.timedelta(days=1)
    return on_or_before


@pytest.fixture
def amy(reference, alice, mary):
    """Amy's open referral, about three weeks old, with its assessment and section 47 enquiry."""
    from safehub.casework.models import CaseEpisode
    from safehub.casework.services import enquiry_start
    from safehub.referrals.decisions import contact_decide, contact_reassign, decision_sign_off
    from safehub.referrals.models import Outcome
    from safehub.referrals.services import contact_create_manual

    today = london_date(clock.now())
    received_on = last_working_day(today - dt.timedelta(days=24))
    received = dt.datetime.combine(received_on, dt.time(9, 0), tzinfo=clock.LONDON)
    with clock.frozen(received):
        contact = contact_create_manual(
            created_by=alice,
            referral_source="2A",
            referrer_name="Designated safeguarding lead",
            referrer_organisation="Birkenhead St Mary's Primary School",
            referrer_contact="The school office",
            reason="Amy said her father hurt her mother last night and she hid upstairs.",
            given_names="Amy",
            family_name="Example",
            date_of_birth=dt.date(2017, 6, 11),
            age_estimate=None,
            sex="F",
            address_line1="",
            town="",
            postcode="",
            school_urn="",
        )
        contact_reassign(contact=contact, to_user=alice, by=mary, reason="Hers to screen.")
        contact.refresh_from_db()
        decision = contact_decide(
            contact=contact,
            decided_by=alice,
            outcome=Outcome.STRATEGY_DISCUSSION_S47,
            rationale="Strangulation reported; the children were in the house.",
        )
    with clock.frozen(received + dt.timedelta(hours=2)):
        decision_sign_off(decision=decision, signed_off_by=mary, note="Agreed.")
    started_on = add_working_days(received_on, 1)
    with clock.frozen(received + dt.timedelta(days=1)), transaction.atomic():
        enquiry_start(
            contact=contact,
            discussion=None,
            by=alice,
            started_on=started_on,
            icpc_target=add_working_days(started_on, 15),
        )
    return CaseEpisode.objects.get(contact=contact)


def factor(page, label: str):
    return page.get_by_role("checkbox", name=label, exact=True)


@pytest.mark.django_db(transaction=True)
def test_a_manager_records_the_casework_from_assessment_to_closure(
    page, live_server, assert_accessible, mary, amy
):
    today = london_date(clock.now())
    enquiry = amy.enquiries.get()
    sign_in(page, assert_accessible, "mary")

    # The council's open referrals: Amy's waits for her assessment and her conference.
    page.goto("/casework/")
    assert page.get_by_role("heading", level=1).inner_text() == "Open referrals"
    row = page.locator("#episodes tbody tr").filter(has_text="Amy Example")
    assert "Assessment to authorise" in row.inner_text()
    assert "Conference to record" in row.inner_text()
    assert_accessible(page)
    row.get_by_role("link", name="Amy Example").click()
    page.wait_for_url(EPISODE_URL)
    assert page.get_by_role("heading", level=1).inner_text() == "Amy Example"
    deadlines = page.locator("#deadlines + table").inner_text()
    assert "Child and family assessment" in deadlines
    assert_accessible(page)

    # Authorise the assessment: the 'none' option is exclusive.
    page.get_by_role("link", name=re.compile(r"^Authorise")).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Authorise the assessment"
    assert_accessible(page)
    factor(page, "Domestic abuse: the child is the subject").check()
    factor(page, "No factors identified").check()
    assert not factor(page, "Domestic abuse: the child is the subject").is_checked()
    factor(page, "Domestic abuse: a parent or carer is the subject").check()
    assert not factor(page, "No factors identified").is_checked()
    # No answer to whether the child needs support: the error summary links to the question.
    page.get_by_label("Date the assessment was authorised").fill(today.isoformat())
    page.get_by_role("button", name="Authorise the assessment").click()
    summary = error_summary(page)
    link = summary.get_by_role("link", name=re.compile("Select was the child assessed"))
    assert link.get_attribute("href") == "#id_needs_support"
    assert page.title().startswith("Error: ")
    assert factor(page, "Domestic abuse: a parent or carer is the subject").is_checked()
    assert_accessible(page)
    factor(page, "Domestic abuse: the child is the subject").check()
    page.get_by_role(
        "group", name=re.compile("needing children's social care support")
    ).get_by_label("Yes").check()
    # The primary need is asked, abuse or neglect already chosen.
    need = page.get_by_role("group", name="What is the child's primary need?")
    assert need.get_by_label("Abuse or neglect (N1)").is_checked()
    page.get_by_role("button", name="Authorise the assessment").click()
    page.wait_for_url(EPISODE_URL)
    assert "The assessment is authorised" in success_banner(page)
    assessments = page.locator("#assessments ~ .govuk-summary-card").first.inner_text()
    assert "Domestic abuse: the child is the subject (3A)" in assessments
    assert "Domestic abuse: a parent or carer is the subject (3B)" in assessments
    assert_accessible(page)

    # Another assessment may start now that the first is authorised.
    page.get_by_role("link", name="Start another assessment").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Start another assessment"
    assert_accessible(page)
    page.go_back()

    # The child's details for the returns: a wrong UPN is refused on its field.
    page.get_by_role("link", name="Change ethnicity").click()
    assert_accessible(page)
    page.get_by_label("Unique pupil number (UPN)").fill("A1234")
    page.get_by_label("Ethnicity").select_option("MWBC")
    page.get_by_role("checkbox", name="Hearing").check()
    page.get_by_role("checkbox", name="No disability").check()
    assert not page.get_by_role("checkbox", name="Hearing").is_checked()
    page.get_by_role("button", name="Save the details").click()
    link = error_summary(page).get_by_role("link", name=re.compile("A UPN is a letter"))
    assert link.get_attribute("href") == "#id_upn"
    assert_accessible(page)
    page.get_by_label("Unique pupil number (UPN)").fill("A12345678901B")
    page.get_by_role("button", name="Save the details").click()
    page.wait_for_url(EPISODE_URL)
    assert "The child's details are recorded" in success_banner(page)
    child = page.locator("#child + dl").inner_text()
    assert "A12345678901B" in child and "White and Black Caribbean" in child
    assert "No disability" in child

    # The conference: a Saturday is refused, on the field, with the census rule.
    page.get_by_role("link", name=re.compile(r"^Record the conference")).click()
    assert_accessible(page)
    saturday = today - dt.timedelta(days=(today.weekday() - 5) % 7)
    assert saturday > enquiry.started_on
    page.get_by_role("group", name="Was an initial child protection conference held?").get_by_label(
        "Yes"
    ).check()
    page.get_by_label("Date of the conference").fill(saturday.isoformat())
    page.get_by_role("group", name="Did the conference make a child protection plan?").get_by_label(
        "Yes"
    ).check()
    page.get_by_role("button", name="Record the conference").click()
    summary = error_summary(page)
    message = f"{long_date(saturday)} is not a working day (census rule 8875)"
    link = summary.get_by_role("link", name=re.compile(re.escape(message)))
    assert link.get_attribute("href") == "#id_icpc_on"
    assert page.locator("#id_icpc_on-error").is_visible()
    assert_accessible(page)
    held = add_working_days(enquiry.started_on, 5)
    assert held < last_working_day(today)
    page.get_by_label("Date of the conference").fill(held.isoformat())
    page.get_by_role("button", name="Record the conference").click()
    page.wait_for_url(EPISODE_URL)
    assert "The initial child protection conference is recorded" in success_banner(page)
    assert_accessible(page)

    # The plan the conference made starts on the conference day.
    page.get_by_role("link", name=re.compile(r"^Start the protection plan")).click()
    assert long_date(held) in page.locator("main").inner_text()
    assert_accessible(page)
    page.get_by_label("Emotional abuse").check()
    page.get_by_role("button", name="Start the plan").click()
    page.wait_for_url(EPISODE_URL)
    assert "The child protection plan is started" in success_banner(page)
    assert (
        f"Child protection plan from {held.day} {held:%B %Y}" in page.locator("main").inner_text()
    )
    assert_accessible(page)

    # Its review conference: not on the plan's first day (census rule 8841), then a working day
    # since, where the category of abuse became neglect.
    page.get_by_role("link", name=re.compile(r"^Record a review")).click()
    assert page.get_by_role("heading", level=1).inner_text() == "Record a review conference"
    assert page.get_by_label("Emotional abuse", exact=True).is_checked()  # the latest so far
    assert_accessible(page)
    page.get_by_label("Date of the review conference").fill(held.isoformat())
    page.get_by_label("Neglect", exact=True).check()
    page.get_by_role("button", name="Record the review").click()
    link = error_summary(page).get_by_role("link", name=re.compile(r"census rule 8841"))
    assert link.get_attribute("href") == "#id_reviewed_on"
    assert page.get_by_label("Neglect", exact=True).is_checked()
    assert_accessible(page)
    reviewed = last_working_day(today)
    page.get_by_label("Date of the review conference").fill(reviewed.isoformat())
    page.get_by_role("button", name="Record the review").click()
    page.wait_for_url(EPISODE_URL)
    assert "The review conference is recorded" in success_banner(page)
    plans = page.locator("#plans ~ .govuk-summary-card").first.inner_text()
    assert "Neglect" in plans and f"{reviewed.day} {reviewed:%B %Y}" in plans
    assert_accessible(page)

    # The review ended the plan.
    page.get_by_role(
        "link", name=re.compile(r"^End the plan\s*: the child protection plan")
    ).click()
    assert_accessible(page)
    page.get_by_label("Date the plan ended").fill(reviewed.isoformat())
    page.get_by_role("button", name="End the plan").click()
    page.wait_for_url(EPISODE_URL)
    assert "The child protection plan is ended" in success_banner(page)
    assert_accessible(page)

    # Supported under a children in need plan, ended when the work is done.
    page.get_by_role("link", name="Start a children in need plan").click()
    assert_accessible(page)
    page.get_by_role("button", name="Start the plan").click()
    page.wait_for_url(EPISODE_URL)
    assert "The children in need plan is started" in success_banner(page)
    page.get_by_role(
        "link", name=re.compile(r"^End the plan\s*: the children in need plan")
    ).click()
    assert page.get_by_role("heading", level=1).inner_text() == "End the children in need plan"
    assert_accessible(page)
    page.get_by_role("button", name="End the plan").click()
    link = error_summary(page).get_by_role("link", name="Enter the date the plan ended")
    assert link.get_attribute("href") == "#id_ended_on"
    assert_accessible(page)
    page.get_by_label("Date the plan ended").fill(today.isoformat())
    page.get_by_role("button", name="End the plan").click()
    page.wait_for_url(EPISODE_URL)
    assert "The children in need plan is ended" in success_banner(page)
    assert_accessible(page)

    # Close the referral.
    page.get_by_role("link", name="Close the referral").click()
    assert_accessible(page)
    page.get_by_label("Services ceased for any other reason").check()
    page.get_by_role("button", name="Close the referral").click()
    page.wait_for_url(EPISODE_URL)
    assert "The referral is closed" in success_banner(page)
    assert "Closed" in page.locator("#referral + dl").inner_text()
    assert_accessible(page)
    amy.refresh_from_db()
    assert (amy.closed_on, amy.closure_reason) == (today, "RC7")
    plan = amy.plans.get()
    assert (plan.started_on, plan.initial_category, plan.latest_category) == (held, "EMO", "NEG")
    assert (plan.review_dates, plan.ended_on) == ([reviewed.isoformat()], reviewed)
    assert [(p.started_on, p.ended_on) for p in amy.cin_plans.all()] == [(today, today)]
    assert amy.primary_need == "N1"
