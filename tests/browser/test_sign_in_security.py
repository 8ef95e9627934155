"""Sign-in security as a person meets it: the lockout after five wrong passwords (for that address
only), the code from an authenticator app (and setting one up), and the sign-out after 30 minutes
without activity, with axe on every page visited.

The live server runs in this process, so the settings fixture and `clock.frozen` reach it: the
test turns SAFEHUB_BEHIND_PROXY on and gives each browser its own X-Forwarded-For address, and
moves the server's clock on past the idle limit.
"""

import base64
import datetime as dt
import re

import pytest
from django.utils import timezone
from django_otp.oath import TOTP

from safehub.accounts.testing import totp_code_for
from safehub.core import clock
from safehub.core.testing import PASSWORD
from tests.browser.test_hub_pages import error_summary, sign_in

ATTACKER = "203.0.113.9"
OFFICE = "198.51.100.7"
LOCKED = "You have tried to sign in too many times. Wait 15 minutes, then try again."
IDLE = "You were signed out after 30 minutes without activity; sign in again"


def page_from(make_page, live_server, address: str):
    page = make_page(base_url=live_server.url)
    page.context.set_extra_http_headers({"X-Forwarded-For": address})
    return page


def try_password(page, password: str) -> str:
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    return error_summary(page).inner_text()


@pytest.mark.django_db(transaction=True)
def test_five_wrong_passwords_lock_the_account_for_that_address_only(
    make_page, live_server, assert_accessible, alice, settings
):
    settings.SAFEHUB_BEHIND_PROXY = True

    guesser = page_from(make_page, live_server, ATTACKER)
    guesser.goto("/sign-in/")
    assert_accessible(guesser)
    for _ in range(5):
        assert "correct username and password" in try_password(guesser, "not the password")
    assert_accessible(guesser)

    # The sixth attempt, with the right password, is refused: the pair is locked.
    summary = try_password(guesser, PASSWORD)
    assert LOCKED in summary
    assert "correct username and password" not in summary
    assert guesser.title().startswith("Error: Sign in")
    assert re.search(r"/sign-in/$", guesser.url)
    assert_accessible(guesser)

    # Alice at her own desk, another address, signs in as usual.
    office = page_from(make_page, live_server, OFFICE)
    sign_in(office, assert_accessible, "alice")


@pytest.mark.django_db(transaction=True)
def test_idle_past_the_timeout_the_next_click_signs_out_with_the_reason(
    page, assert_accessible, alice
):
    start = timezone.now()
    with clock.frozen(start):
        sign_in(page, assert_accessible, "alice")
    with clock.frozen(start + dt.timedelta(minutes=29)):
        page.get_by_role("link", name="safehub").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", level=1).inner_text() == "Triage queue"
    with clock.frozen(start + dt.timedelta(minutes=59)):
        page.get_by_role("link", name="safehub").click()
        page.wait_for_url(re.compile(r"/sign-in/\?next=/$"))
        banner = page.locator(".govuk-notification-banner")
        assert banner.is_visible()
        assert IDLE in banner.inner_text()
        assert page.get_by_role("heading", level=1).inner_text() == "Sign in to safehub"
        assert page.get_by_role("button", name="Sign out").count() == 0
        assert_accessible(page)


@pytest.mark.django_db(transaction=True)
def test_sign_in_with_a_code_from_the_app_then_idle_past_the_timeout_is_signed_out(
    page, assert_accessible, alice
):
    start = timezone.now()
    with clock.frozen(start):
        page.goto("/sign-in/")
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/sign-in/code/$"))
        assert page.title().startswith("Enter the code from your authenticator app")
        assert page.get_by_role("button", name="Sign out").count() == 0  # not signed in yet
        assert_accessible(page)

        page.get_by_label("Enter the code from your authenticator app").fill("000000")
        page.get_by_role("button", name="Continue").click()
        page.wait_for_load_state()
        assert "The code is not right" in error_summary(page).inner_text()
        assert page.title().startswith("Error: Enter the code")
        assert_accessible(page)
    # A second later (after one wrong code, the next is not checked for a second).
    with clock.frozen(start + dt.timedelta(seconds=1)):
        page.get_by_label("Enter the code from your authenticator app").fill(totp_code_for("alice"))
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(re.compile(r"/$"))
        assert page.get_by_role("heading", level=1).inner_text() == "Triage queue"
    with clock.frozen(start + dt.timedelta(minutes=30, seconds=1)):
        page.get_by_role("link", name="safehub").click()
        page.wait_for_url(re.compile(r"/sign-in/\?next=/$"))
        assert IDLE in page.locator(".govuk-notification-banner").inner_text()
        assert page.get_by_role("button", name="Sign out").count() == 0
        assert_accessible(page)


@pytest.mark.django_db(transaction=True)
def test_a_new_person_sets_up_their_app_saves_the_recovery_codes_and_is_signed_in(
    page, assert_accessible, make_user
):
    make_user("nina", "LA344", "hub_social_worker", two_factor=False)
    page.goto("/sign-in/")
    page.get_by_label("Username").fill("nina")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/sign-in/set-up/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Set up your authenticator app"
    qr = page.get_by_role("img", name=re.compile("QR code"))
    assert qr.is_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")  # the CSP let it load
    assert_accessible(page)

    # The key for typing in, as a person whose camera will not scan would read it.
    page.get_by_text("I cannot scan the QR code").click()
    key = page.locator("details code").inner_text()
    assert re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", key)
    assert_accessible(page)
    totp = TOTP(base64.b32decode(key.replace(" ", "")))
    totp.time = clock.now().timestamp()
    page.get_by_label("Code from your authenticator app").fill(f"{totp.token():06d}")
    page.get_by_role("button", name="Continue").click()

    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Save your recovery codes"
    codes = page.get_by_role("list", name="Your recovery codes").locator("li").all_inner_texts()
    assert len(codes) == 10
    assert all(re.fullmatch(r"[a-z2-7]{4}-[a-z2-7]{4}", c) for c in codes)
    assert_accessible(page)
    page.get_by_role("button", name="I have saved these codes").click()
    page.wait_for_url(re.compile(r"/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Triage queue"
    assert page.get_by_role("button", name="Sign out").is_visible()
    assert_accessible(page)
