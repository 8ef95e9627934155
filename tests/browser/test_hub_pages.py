"""The hub's pages as a person uses them: real Chromium, the live server, axe on every page.

Each test signs in through the sign-in form, clicks through the pages as a worker would, and runs
axe-core on every page it lands on (no serious or critical violation). The `page` fixture asks for
pytest-django's live_server, which gives these tests a transactional database: what the test
writes is committed, so the server thread sees it.
"""

import json
import re
from urllib.parse import urlsplit

import pytest

from safehub.accounts.testing import totp_code_for
from safehub.core.testing import PASSWORD, example, example_bytes

QUEUE_SCREENSHOT = "/tmp/safehub-queue.png"
CONTACT_SCREENSHOT = "/tmp/safehub-contact.png"

TWO_AUTHORITIES_REF = "MSP-26-004830"
SPLIT_DISTRICT_REF = "MSP-26-009999"


@pytest.fixture
def notifications(reference):
    """The spec's two examples, received as a bulk import: Ravi, Maya (Liverpool) and an unborn
    child from one incident in Wallasey; Amy and Leo from one in Birkenhead."""
    from safehub.intake.models import Channel
    from safehub.intake.services import notification_receive

    for name in ("notification-two-authorities.json", "notification-high-risk.json"):
        notification_receive(raw=example_bytes(name), channel=Channel.IMPORT)


@pytest.fixture
def split_district_notification(reference):
    """The high-risk example at L9 5AB, a district Liverpool and Sefton share: no council is
    chosen for its children until a manager routes them."""
    from safehub.intake.models import Channel
    from safehub.intake.services import notification_receive

    body = example("notification-high-risk.json")
    body["incident_reference"] = SPLIT_DISTRICT_REF
    body["incident_address"]["postcode"] = "L9 5AB"
    body["people"][0]["address"]["postcode"] = "L9 5AB"
    notification_receive(raw=json.dumps(body).encode(), channel=Channel.IMPORT)


def contact_id(incident_reference: str, child_ref: str) -> str:
    from safehub.referrals.models import Contact

    return str(
        Contact.objects.get(
            notification__incident_reference=incident_reference, child_ref=child_ref
        ).pk
    )


def sign_in(page, assert_accessible, username: str) -> None:
    page.goto("/sign-in/")
    assert_accessible(page)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    enter_code(page, assert_accessible, username)
    page.wait_for_url(re.compile(r"/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Triage queue"
    assert_accessible(page)


def enter_code(page, assert_accessible, username: str) -> None:
    """After a right password: the code step, with the code the person's authenticator shows
    (worked out here from their device in the database). Signing in with two-factor off (the
    demo) skips the step: then this does nothing."""
    page.wait_for_url(lambda url: urlsplit(url).path != "/sign-in/")
    if urlsplit(page.url).path != "/sign-in/code/":
        return
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Enter the code from your authenticator app"
    )
    assert_accessible(page)
    page.get_by_label("Enter the code from your authenticator app").fill(totp_code_for(username))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(lambda url: urlsplit(url).path != "/sign-in/code/")


def error_summary(page):
    summary = page.locator(".govuk-error-summary")
    assert summary.is_visible()
    assert summary.get_by_role("heading", name="There is a problem").is_visible()
    return summary


def success_banner(page) -> str:
    banner = page.locator(".govuk-notification-banner--success")
    assert banner.is_visible()
    return banner.inner_text()


def queue_names(page) -> list[str]:
    return page.locator("table.govuk-table tbody th[scope=row]").all_inner_texts()


@pytest.mark.django_db(transaction=True)
def test_wrong_password_shows_the_error_summary_then_the_right_one_signs_in(
    page, assert_accessible, alice
):
    page.goto("/")  # the queue asks for a sign-in first
    page.wait_for_url(re.compile(r"/sign-in/\?next=/$"))
    assert_accessible(page)

    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    summary = error_summary(page)
    assert "correct username and password" in summary.inner_text()
    assert page.title().startswith("Error: Sign in")
    assert_accessible(page)

    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    enter_code(page, assert_accessible, "alice")
    page.wait_for_url(re.compile(r"/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Triage queue"
    assert_accessible(page)


@pytest.mark.django_db(transaction=True)
def test_queue_shows_only_my_councils_children_and_the_contact_page_shows_the_notification(
    page, assert_accessible, alice, notifications
):
    sign_in(page, assert_accessible, "alice")
    names = queue_names(page)
    assert {"Ravi Demo", "Unborn Demo", "Amy Example", "Leo Example"} <= set(names)
    assert "Maya Demo" not in names  # she lives in Liverpool
    assert "Maya Demo" not in page.content()
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=QUEUE_SCREENSHOT, full_page=True)

    page.get_by_role("link", name="Ravi Demo").click()
    page.wait_for_url(re.compile(r"/contacts/[0-9a-f-]+/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Ravi Demo"
    assert page.locator(".govuk-caption-l").inner_text() == (
        f"Police notification {TWO_AUTHORITIES_REF} from Merseyside Police"
    )
    assert_accessible(page)

    child = page.locator("h2:has-text('The child') + dl").inner_text()
    assert "Wallasey Park Primary School" in child
    assert re.search(r"Sex\s+Male", child)
    incident = page.locator("h2:has-text('The incident') + dl")
    assert "Criminal damage" in incident.inner_text()
    assert "Controlling behaviour reported; first call-out." in incident.inner_text()
    assert "88 Demo Street, CH44 5ZZ" in incident.inner_text()
    people = (
        page.get_by_role("table", name="People named in the notification")
        .locator("tbody td:first-child")
        .all_inner_texts()
    )
    assert people == ["Priya Demo", "Mark Demo", "Ravi Demo", "Maya Demo", "Unborn Demo"]

    raw = page.locator("pre.app-source")
    assert not raw.is_visible()
    page.get_by_text("The notification as the force sent it").click()
    assert raw.is_visible()
    sent = json.loads(raw.inner_text())
    assert sent["incident_reference"] == TWO_AUTHORITIES_REF
    assert sent == example("notification-two-authorities.json")
    assert_accessible(page)
    page.screenshot(path=CONTACT_SCREENSHOT, full_page=True)


@pytest.mark.django_db(transaction=True)
def test_worker_of_another_council_gets_not_found(page, assert_accessible, bob, notifications):
    wirral_child = contact_id(TWO_AUTHORITIES_REF, "C1")  # Ravi, Wirral
    sign_in(page, assert_accessible, "bob")
    names = queue_names(page)
    assert names == ["Maya Demo"]

    response = page.goto(f"/contacts/{wirral_child}/")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Page not found"
    assert "Ravi" not in page.content()
    assert "Demo Street" not in page.content()
    assert_accessible(page)


@pytest.mark.django_db(transaction=True)
def test_manual_contact_errors_link_to_their_fields_and_a_good_one_is_recorded(
    page, assert_accessible, alice, reference
):
    sign_in(page, assert_accessible, "alice")
    page.get_by_role("link", name="New contact").click()
    page.wait_for_url("**/contacts/new/")
    assert page.get_by_role("heading", level=1).inner_text() == "Record a contact"
    assert_accessible(page)

    page.get_by_role("button", name="Record the contact").click()
    page.wait_for_load_state()
    summary = error_summary(page)
    assert page.title().startswith("Error: Record a contact")
    links = summary.get_by_role("link")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs == ["#id_referral_source", "#id_given_names", "#id_family_name", "#id_reason"]
    # GOV.UK Frontend moves focus to the summary on load, so a screen reader hears it first
    assert page.evaluate("document.activeElement.closest('.govuk-error-summary') !== null")
    assert_accessible(page)

    links.first.click()
    assert page.evaluate("document.activeElement.id") == "id_referral_source"
    assert page.locator("#id_referral_source").get_attribute("aria-describedby")

    page.get_by_label("Who is making the contact?").select_option(label="School")
    page.get_by_label("Referrer's name (optional)", exact=True).fill("Ms Teacher")
    page.get_by_label("Organisation (optional)", exact=True).fill(
        "Birkenhead St Mary's Primary School"
    )
    page.get_by_label("How to reach the referrer (optional)", exact=True).fill("0151 496 0000")
    page.get_by_label("Child's first names", exact=True).fill("Sam")
    page.get_by_label("Child's last name", exact=True).fill("Sample")
    page.get_by_label("Date of birth (optional)", exact=True).fill("27/03/2017")
    page.get_by_label("Postcode (optional)", exact=True).fill("ch41 6ab")
    page.get_by_label("School URN (optional)", exact=True).fill("900001")
    page.get_by_label("What are you worried about?").fill("Sam came to school with a bruise.")
    page.get_by_role("button", name="Record the contact").click()
    page.wait_for_url(re.compile(r"/contacts/[0-9a-f-]+/$"))

    assert "Contact recorded and added to the triage queue" in success_banner(page)
    assert page.get_by_role("heading", level=1).inner_text() == "Sam Sample"
    assert page.locator(".govuk-caption-l").inner_text() == "Contact from school"
    details = page.locator("main").inner_text()
    assert "Wirral children's services" in details
    assert "Birkenhead St Mary's Primary School" in details
    assert "Sam came to school with a bruise." in details
    assert_accessible(page)


@pytest.mark.django_db(transaction=True)
def test_manager_routes_a_split_district_contact_out_of_to_be_routed(
    page, assert_accessible, mary, split_district_notification
):
    sign_in(page, assert_accessible, "mary")
    page.get_by_role("link", name="To be routed").click()
    page.wait_for_url("**/?show=unrouted")
    assert page.get_by_role("heading", level=1).inner_text() == "Contacts to be routed"
    assert sorted(queue_names(page)) == ["Amy Example", "Leo Example"]
    assert_accessible(page)

    page.get_by_role("link", name="Amy Example").click()
    page.wait_for_url(re.compile(r"/contacts/[0-9a-f-]+/$"))
    warning = page.locator(".govuk-warning-text").first.inner_text()
    assert "To be routed: postcode district split between councils" in warning
    assert_accessible(page)

    page.get_by_label("Council", exact=True).select_option(label="Liverpool children's services")
    page.get_by_label("Why this council?").fill("The family's home is in Walton.")
    page.get_by_role("button", name="Send to this council").click()
    page.wait_for_load_state()
    assert "Contact sent to Liverpool children's services" in success_banner(page)
    assert_accessible(page)

    page.goto("/?show=unrouted")
    assert queue_names(page) == ["Leo Example"]
    assert_accessible(page)


@pytest.mark.django_db(transaction=True)
def test_manager_who_routes_a_contact_to_another_council_does_not_land_on_not_found(
    page, assert_accessible, mary, split_district_notification
):
    sign_in(page, assert_accessible, "mary")
    page.goto(f"/contacts/{contact_id(SPLIT_DISTRICT_REF, 'C1')}/")
    page.get_by_label("Council", exact=True).select_option(label="Liverpool children's services")
    page.get_by_label("Why this council?").fill("The family's home is in Walton.")
    with page.expect_navigation() as landing:
        page.get_by_role("button", name="Send to this council").click()
    assert landing.value.status == 200
    assert page.get_by_role("heading", level=1).inner_text() != "Page not found"


@pytest.mark.django_db(transaction=True)
def test_sign_out_button_in_the_header_returns_to_sign_in(page, assert_accessible, alice):
    sign_in(page, assert_accessible, "alice")
    page.locator("header").get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in/")
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in to safehub"
    assert page.locator("header").get_by_role("button", name="Sign out").count() == 0
    assert_accessible(page)

    page.goto("/")  # signed out for real: the queue asks again
    page.wait_for_url(re.compile(r"/sign-in/\?next=/$"))
