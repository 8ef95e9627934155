"""Two-factor sign-in: after the right password, a code from the person's authenticator app or a
single-use recovery code; the first time, setting the app up.

Alice has set up her app (the root conftest gives every persona one, with a key the tests know);
Nina is new and has not. Sam runs the admin. Someone who has Alice's password works from
203.0.113.9.
"""

import datetime as dt
import io
import os
import subprocess
import sys
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from safehub.accounts.models import SignInFailure, User
from safehub.accounts.testing import totp_code
from safehub.accounts.twofactor import SESSION_PENDING, twofactor_qr_code
from safehub.audit.models import Action, AuditEvent
from safehub.core import clock
from safehub.core.testing import PASSWORD

OFFICE = "127.0.0.1"
ATTACKER = "203.0.113.9"
LOCKED = "You have tried to sign in too many times. Wait 15 minutes, then try again."
EXPIRED = "You did not finish signing in within 5 minutes; sign in again"
WRONG_CODE = "The code is not right, or was used already"
API_URL = "/api/v1/notifications/MSP/NO-SUCH-REF"


@pytest.fixture
def start():
    """Now, in the middle of a 30-second time step, so that a test's codes do not straddle one."""
    now = int(timezone.now().timestamp())
    return dt.datetime.fromtimestamp(now - now % 30 + 15, tz=dt.UTC)


@pytest.fixture
def nina(make_user):
    return make_user("nina", "LA344", "hub_social_worker", two_factor=False)


@pytest.fixture
def sam(make_user):
    return make_user("sam", "LA344", "administrator", is_staff=True, is_superuser=True)


def password(client, username="alice", address=OFFICE, url=None, next_url=None):
    data = {"username": username, "password": PASSWORD}
    if next_url:
        data["next"] = next_url
    return client.post(url or reverse("login"), data, REMOTE_ADDR=address)


def code(client, value, address=OFFICE):
    return client.post(reverse("signin_code"), {"code": value}, REMOTE_ADDR=address)


def recovery(client, value, address=OFFICE):
    return client.post(reverse("signin_recovery_code"), {"code": value}, REMOTE_ADDR=address)


def device_of(user) -> TOTPDevice:
    return TOTPDevice.objects.get(user=user)


def signed_in(client) -> bool:
    return client.get(reverse("referrals:queue")).status_code == 200


def outcomes():
    events = AuditEvent.objects.filter(object_type="accounts.signin").order_by("id")
    return [e.detail["outcome"] for e in events]


def set_up(client, username="nina"):
    """Nina's first sign-in up to the recovery codes: returns them, as the page shows them."""
    assert password(client, username)["Location"] == reverse("signin_set_up")
    client.get(reverse("signin_set_up"))
    new = TOTPDevice.objects.get(user__username=username, confirmed=False)
    response = client.post(reverse("signin_set_up"), {"code": totp_code(new)})
    assert response.status_code == 200
    return response.context["codes"]


# The code step


def test_a_right_password_alone_does_not_sign_in(client, alice):
    response = password(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("signin_code")
    assert SESSION_KEY not in client.session
    assert client.session[SESSION_PENDING]["user_id"] == alice.pk
    assert not signed_in(client)
    assert client.get(API_URL).status_code == 401
    assert outcomes() == ["password_accepted"]


def test_the_code_page_asks_for_the_code(client, alice):
    password(client)
    page = client.get(reverse("signin_code")).content.decode()
    assert "Enter the code from your authenticator app" in page
    assert 'autocomplete="one-time-code"' in page
    assert reverse("signin_recovery_code") in page


def test_the_right_code_signs_in_with_a_new_session(client, alice):
    password(client)
    pending_key = client.cookies["sessionid"].value
    response = code(client, totp_code(device_of(alice)))
    assert response.status_code == 302
    assert response["Location"] == reverse("referrals:queue")
    assert client.cookies["sessionid"].value != pending_key
    assert SESSION_PENDING not in client.session
    assert signed_in(client)
    succeeded = AuditEvent.objects.get(detail__outcome="succeeded")
    assert succeeded.user == alice
    assert succeeded.detail["method"] == "totp"


def test_the_code_step_keeps_where_the_person_was_going(client, alice):
    password(client, next_url="/contacts/new/")
    assert code(client, totp_code(device_of(alice)))["Location"] == "/contacts/new/"


def test_spaces_in_the_code_are_ignored(client, alice):
    password(client)
    value = totp_code(device_of(alice))
    assert code(client, f" {value[:3]} {value[3:]} ").status_code == 302
    assert signed_in(client)


@pytest.mark.parametrize("steps", [-1, 0, 1])
def test_a_code_one_time_step_either_side_of_now_is_accepted(client, alice, start, steps):
    with clock.frozen(start):
        password(client)
        assert code(client, totp_code(device_of(alice), steps=steps)).status_code == 302
    assert signed_in(client)


@pytest.mark.parametrize("steps", [-2, 2, 10])
def test_a_code_further_from_now_is_refused(client, alice, start, steps):
    with clock.frozen(start):
        password(client)
        response = code(client, totp_code(device_of(alice), steps=steps))
    assert response.status_code == 200
    assert WRONG_CODE in response.content.decode()
    assert not signed_in(client)


def test_a_code_cannot_be_used_twice(client, alice, start):
    with clock.frozen(start):
        value = totp_code(device_of(alice))
        password(client)
        assert code(client, value).status_code == 302
        client.post(reverse("logout"))
        password(client)
        response = code(client, value)
        assert WRONG_CODE in response.content.decode()
        assert not signed_in(client)
    with clock.frozen(start + dt.timedelta(seconds=1)):
        # The app's next code is good.
        assert code(client, totp_code(device_of(alice), steps=1)).status_code == 302
    assert outcomes() == [
        "password_accepted",
        "succeeded",
        "password_accepted",
        "failed_code",
        "succeeded",
    ]


def test_a_code_older_than_the_last_one_used_is_refused(client, alice, start):
    with clock.frozen(start):
        password(client)
        assert code(client, totp_code(device_of(alice), steps=1)).status_code == 302
        client.post(reverse("logout"))
        password(client)
        assert WRONG_CODE in code(client, totp_code(device_of(alice))).content.decode()


def test_a_wrong_code_is_a_failed_sign_in_and_audited(client, alice, start):
    with clock.frozen(start):
        password(client)
        right = totp_code(device_of(alice))
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        response = code(client, wrong)
    assert response.status_code == 200
    assert response.context["form"].errors["code"][0].startswith(WRONG_CODE)
    assert SignInFailure.objects.filter(username="alice", address=OFFICE).count() == 1
    failed = AuditEvent.objects.get(detail__outcome="failed_code")
    assert failed.user is None
    assert failed.detail["method"] == "totp"
    with clock.frozen(start + dt.timedelta(seconds=1)):
        assert code(client, right).status_code == 302  # still pending: the next try may be right
    assert not SignInFailure.objects.exists()  # cleared by the sign-in
    assert device_of(alice).throttling_failure_count == 0


def test_wrong_codes_from_anywhere_slow_the_next_check_of_that_persons_codes(client, alice, start):
    """Someone with Alice's password guesses from many addresses, each under the pair's lock:
    after n wrong codes in a row, no code is checked for 2^(n-1) seconds."""
    for n, second in enumerate([0, 1, 3, 7]):  # each as soon as the last allows
        with clock.frozen(start + dt.timedelta(seconds=second)):
            guesser = client.__class__()
            password(guesser, address=f"203.0.113.{n + 10}")
            code(guesser, "000000", address=f"203.0.113.{n + 10}")
    assert device_of(alice).throttling_failure_count == 4
    assert SignInFailure.objects.count() == 4  # one for each address: no pair is locked
    with clock.frozen(start + dt.timedelta(seconds=14)):  # 2^3 = 8 seconds from the last
        password(client)
        assert WRONG_CODE in code(client, totp_code(device_of(alice))).content.decode()
    assert device_of(alice).throttling_failure_count == 4  # a refusal unchecked does not count
    with clock.frozen(start + dt.timedelta(seconds=15)):
        assert code(client, totp_code(device_of(alice))).status_code == 302
    assert device_of(alice).throttling_failure_count == 0


def test_something_that_is_not_a_code_is_refused_without_counting(client, alice):
    password(client)
    response = code(client, "12ab56")
    assert "Enter the 6 digits your authenticator app shows" in response.content.decode()
    assert not SignInFailure.objects.exists()
    code(client, "")
    assert not SignInFailure.objects.exists()


def test_five_wrong_codes_lock_the_pair_even_for_the_right_code(client, alice):
    password(client, address=ATTACKER)
    for _ in range(5):
        assert WRONG_CODE in code(client, "000000", address=ATTACKER).content.decode()
    response = code(client, totp_code(device_of(alice)), address=ATTACKER)
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert SESSION_PENDING not in client.session
    assert LOCKED in client.get(response["Location"]).content.decode()
    assert not signed_in(client)
    # The password step from that address is locked too; Alice's office is not.
    assert LOCKED in password(client, address=ATTACKER).content.decode()
    office = client.__class__()
    assert password(office, address=OFFICE)["Location"] == reverse("signin_code")
    assert outcomes()[-3:] == ["locked", "locked", "password_accepted"]


def test_wrong_passwords_and_wrong_codes_count_together(client, alice):
    for _ in range(3):
        password_response = client.post(
            reverse("login"), {"username": "alice", "password": "wrong"}, REMOTE_ADDR=ATTACKER
        )
        assert password_response.status_code == 200
    password(client, address=ATTACKER)
    code(client, "000000", address=ATTACKER)
    code(client, "000000", address=ATTACKER)
    response = code(client, totp_code(device_of(alice)), address=ATTACKER)
    assert response["Location"] == reverse("login")
    assert not signed_in(client)


def test_the_lock_on_codes_ends_after_the_lockout(client, alice, start):
    with clock.frozen(start):
        password(client, address=ATTACKER)
        for _ in range(5):
            code(client, "000000", address=ATTACKER)
    with clock.frozen(start + dt.timedelta(minutes=15)):
        password(client, address=ATTACKER)
        assert code(client, totp_code(device_of(alice)), address=ATTACKER).status_code == 302
    assert signed_in(client)


# The pending sign-in


def test_the_code_steps_need_a_right_password_first(client, alice):
    for name in ("signin_code", "signin_recovery_code", "signin_set_up"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"] == reverse("login")
    assert code(client, totp_code(device_of(alice)))["Location"] == reverse("login")
    assert not signed_in(client)
    assert outcomes() == []


def test_the_pending_sign_in_expires_after_five_minutes(client, alice, start):
    with clock.frozen(start):
        password(client)
    with clock.frozen(start + dt.timedelta(minutes=5)):
        response = code(client, totp_code(device_of(alice)))
        assert response.status_code == 302
        assert response["Location"] == reverse("login")
        assert EXPIRED in client.get(reverse("login")).content.decode()
        assert SESSION_PENDING not in client.session
        assert not signed_in(client)
    assert outcomes() == ["password_accepted", "expired"]
    assert device_of(alice).last_t == -1  # the code was never checked


def test_the_pending_sign_in_lasts_until_then(client, alice, start):
    with clock.frozen(start):
        password(client)
    with clock.frozen(start + dt.timedelta(minutes=4, seconds=59)):
        assert code(client, totp_code(device_of(alice)))["Location"] == reverse("referrals:queue")


def test_an_expired_sign_in_keeps_where_the_person_was_going(client, alice, start):
    with clock.frozen(start):
        password(client, next_url="/contacts/new/")
    with clock.frozen(start + dt.timedelta(minutes=6)):
        response = client.get(reverse("signin_code"))
    location = urlsplit(response["Location"])
    assert location.path == reverse("login")
    assert parse_qs(location.query) == {"next": ["/contacts/new/"]}


def test_the_pending_time_follows_the_setting(client, alice, settings, start):
    settings.SAFEHUB_TWO_FACTOR_PENDING_MINUTES = 1
    with clock.frozen(start):
        password(client)
    with clock.frozen(start + dt.timedelta(minutes=1)):
        code(client, totp_code(device_of(alice)))
        page = client.get(reverse("login")).content.decode()
    assert "You did not finish signing in within 1 minute; sign in again" in page


def test_a_password_change_ends_the_pending_sign_in(client, alice):
    password(client)
    alice.set_password(PASSWORD + " changed")
    alice.save()
    assert code(client, totp_code(device_of(alice)))["Location"] == reverse("login")
    assert not signed_in(client)


def test_a_disabled_user_cannot_finish_signing_in(client, alice):
    password(client)
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert code(client, totp_code(device_of(alice)))["Location"] == reverse("login")
    assert SESSION_KEY not in client.session


# Recovery codes


def test_a_recovery_code_signs_in_once(client, nina):
    codes = set_up(client)
    client.post(reverse("logout"))
    password(client, "nina")
    response = recovery(client, codes[0])
    assert response.status_code == 302
    page = client.get(reverse("referrals:queue"))
    assert page.status_code == 200
    assert "You signed in with a recovery code: you have 9 recovery codes left." in (
        page.content.decode()
    )
    assert StaticToken.objects.filter(device__user=nina).count() == 9
    assert AuditEvent.objects.filter(detail__method="recovery_code").count() == 1

    client.post(reverse("logout"))
    start = timezone.now()
    with clock.frozen(start):
        password(client, "nina")
        again = recovery(client, codes[0])
    assert again.status_code == 200
    assert "The recovery code is not right, or was used already" in again.content.decode()
    assert not signed_in(client)
    assert SignInFailure.objects.filter(username="nina").count() == 1
    assert outcomes()[-1] == "failed_code"
    with clock.frozen(start + dt.timedelta(seconds=1)):
        # Typed in capitals, without its hyphen: the same code.
        assert recovery(client, codes[1].replace("-", " ").upper()).status_code == 302


def test_wrong_recovery_codes_lock_the_pair(client, nina):
    set_up(client)
    client.post(reverse("logout"))
    password(client, "nina", address=ATTACKER)
    for _ in range(5):
        assert recovery(client, "aaaa-aaaa", address=ATTACKER).status_code == 200
    response = recovery(client, "bbbb-bbbb", address=ATTACKER)
    assert response["Location"] == reverse("login")


def test_another_persons_recovery_code_does_not_sign_in(client, nina, make_user):
    codes = set_up(client)
    client.post(reverse("logout"))
    make_user("olive", "LA344", "hub_social_worker")
    password(client, "olive")
    assert recovery(client, codes[0]).status_code == 200
    assert not signed_in(client)
    assert StaticToken.objects.filter(device__user=nina).count() == 10


# Setting up


def test_a_person_without_an_authenticator_is_sent_to_set_one_up(client, nina):
    response = password(client, "nina")
    assert response["Location"] == reverse("signin_set_up")
    assert not signed_in(client)
    page = client.get(reverse("signin_set_up")).content.decode()
    new = TOTPDevice.objects.get(user=nina)
    assert not new.confirmed
    assert "Set up your authenticator app" in page
    assert 'src="data:image/svg+xml;' in page
    assert "style=" not in page  # the CSP allows no inline style
    # The key for typing in, base32 in groups of four.
    key = client.get(reverse("signin_set_up")).context["key"]
    assert key in page
    assert [len(group) for group in key.split(" ")] == [4] * 8
    assert AuditEvent.objects.get(detail__outcome="password_accepted").detail["next_step"] == (
        "set_up"
    )


def test_the_qr_code_is_the_otpauth_uri_of_safehub_and_the_username(nina):
    device = TOTPDevice.objects.create(user=nina, confirmed=False)
    uri = device.config_url
    assert uri.startswith("otpauth://totp/safehub%3Anina?")
    assert "issuer=safehub" in uri and "digits=6" in uri and "period=30" in uri
    qr, size = twofactor_qr_code(device)
    assert qr.startswith("data:image/svg+xml;")
    assert f"width='{size}'" in unquote(qr)
    assert "style" not in unquote(qr)


def test_a_reload_of_the_set_up_page_keeps_the_same_key(client, nina):
    password(client, "nina")
    first = client.get(reverse("signin_set_up")).context["key"]
    assert client.get(reverse("signin_set_up")).context["key"] == first
    assert TOTPDevice.objects.filter(user=nina).count() == 1


def test_the_right_code_confirms_the_app_shows_recovery_codes_once_and_signs_in(client, nina):
    password(client, "nina", next_url="/contacts/new/")
    client.get(reverse("signin_set_up"))
    new = TOTPDevice.objects.get(user=nina)
    response = client.post(reverse("signin_set_up"), {"code": totp_code(new)})
    assert response.status_code == 200
    page = response.content.decode()
    codes = response.context["codes"]
    assert len(codes) == len(set(codes)) == 10
    for shown in codes:
        assert shown in page
    assert "I have saved these codes" in page
    assert 'href="/contacts/new/"' in page
    new.refresh_from_db()
    assert new.confirmed
    assert StaticDevice.objects.get(user=nina).token_set.count() == 10
    assert signed_in(client)
    assert AuditEvent.objects.get(detail__outcome="succeeded").detail["method"] == "set_up"
    set_up_event = AuditEvent.objects.get(object_type="accounts.twofactor")
    assert (set_up_event.user, set_up_event.action) == (nina, Action.CREATE)
    # Only once: the set-up page is gone, and no page shows them again.
    assert client.get(reverse("signin_set_up"))["Location"] == reverse("login")
    client.post(reverse("logout"))
    password(client, "nina")
    assert client.get(reverse("signin_code")).status_code == 200
    assert codes[0] not in client.get(reverse("signin_code")).content.decode()


def test_a_wrong_set_up_code_is_refused_but_not_counted(client, nina):
    password(client, "nina")
    client.get(reverse("signin_set_up"))
    response = client.post(reverse("signin_set_up"), {"code": "000000"})
    assert response.status_code == 200
    assert "The code is not right" in response.content.decode()
    assert not TOTPDevice.objects.get(user=nina).confirmed
    assert not SignInFailure.objects.exists()
    assert outcomes() == ["password_accepted", "failed_set_up_code"]
    assert not signed_in(client)


def test_someone_with_only_the_password_cannot_add_a_second_authenticator(client, alice):
    password(client)
    response = client.get(reverse("signin_set_up"))
    assert response["Location"] == reverse("signin_code")
    assert client.post(reverse("signin_set_up"), {"code": "123456"})["Location"] == reverse(
        "signin_code"
    )
    assert TOTPDevice.objects.filter(user=alice).count() == 1


def test_a_person_without_an_authenticator_has_no_code_step(client, nina):
    password(client, "nina")
    assert client.get(reverse("signin_code"))["Location"] == reverse("signin_set_up")
    assert code(client, "123456")["Location"] == reverse("signin_set_up")
    assert not SignInFailure.objects.exists()


# The admin


def test_the_admin_needs_the_code_too(client, sam):
    response = password(client, "sam", url="/admin/login/?next=/admin/", next_url="/admin/")
    assert response["Location"] == reverse("signin_code")
    admin = client.get("/admin/")
    assert admin.status_code == 302
    assert urlsplit(admin["Location"]).path == reverse("admin:login")
    assert client.get("/admin/accounts/user/").status_code == 302
    response = code(client, totp_code(device_of(sam)))
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_admin_shows_no_secret_key(client, sam, alice):
    client.force_login(sam)
    device = device_of(alice)
    page = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/").content.decode()
    assert device.key not in page
    assert client.get(f"/admin/otp_totp/totpdevice/{device.pk}/config/").status_code == 403


# Support


def test_reset_deletes_the_devices_and_the_person_sets_up_again(client, nina):
    set_up(client)
    client.post(reverse("logout"))
    out = io.StringIO()
    call_command("twofactor", "reset", "nina", reason="lost phone, ticket 42", stdout=out)
    assert "Reset two-factor sign-in for nina" in out.getvalue()
    assert not TOTPDevice.objects.filter(user=nina).exists()
    assert not StaticDevice.objects.filter(user=nina).exists()
    event = AuditEvent.objects.get(object_type="accounts.twofactor", action=Action.UPDATE)
    assert event.purpose == "lost phone, ticket 42"
    assert event.detail == {
        "event": "reset",
        "username": "nina",
        "authenticators": 1,
        "recovery_codes": 10,
        "sessions_ended": 0,  # she signed out first
    }
    assert event.actor.startswith("command line")
    assert password(client, "nina")["Location"] == reverse("signin_set_up")


def test_reset_ends_the_persons_sessions_and_no_one_elses(client, nina, alice):
    set_up(client)
    assert client.get(reverse("referrals:queue")).status_code in (200, 403)  # signed in
    other = Client()
    other.force_login(alice)
    call_command("twofactor", "reset", "nina", reason="phone stolen", stdout=io.StringIO())
    event = AuditEvent.objects.get(object_type="accounts.twofactor", action=Action.UPDATE)
    assert event.detail["sessions_ended"] == 1
    response = client.get(reverse("referrals:queue"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert other.get(reverse("referrals:queue")).status_code == 200  # Alice is still signed in


def test_reset_of_an_unknown_username_fails(db):
    with pytest.raises(CommandError, match="No user is called 'nobody'"):
        call_command("twofactor", "reset", "nobody")
    assert not AuditEvent.objects.exists()


# Two-factor off (the demonstration hub only)


def test_with_two_factor_off_the_password_signs_in(client, alice, settings):
    settings.SAFEHUB_TWO_FACTOR = False
    response = password(client)
    assert response["Location"] == reverse("referrals:queue")
    assert signed_in(client)
    assert AuditEvent.objects.get(detail__outcome="succeeded").detail["method"] == "password"
    assert client.get(reverse("signin_code"))["Location"] == reverse("login")


def test_the_demo_says_when_two_factor_is_off(settings):
    from safehub.core.management.commands.demo import Command

    logins = {"people": {}, "api_token": "shb_x"}
    for on, words in [(False, "Two-factor sign-in is OFF"), (True, "Two-factor sign-in is on")]:
        settings.SAFEHUB_TWO_FACTOR = on
        out = io.StringIO()
        Command(stdout=out)._print_logins(logins, "127.0.0.1:8000")
        assert words in out.getvalue()


def _settings_in_a_new_process(tmp_path, **env) -> subprocess.CompletedProcess:
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SAFEHUB_", "PYTEST_")) and k != "DATABASE_URL"
    }
    environ.update(
        SECRET_KEY="x",
        SAFEHUB_FIELD_KEYS="bGludGxpbnRsaW50bGludGxpbnRsaW50bGludGxpbnQ=",
        SAFEHUB_HOME=str(tmp_path),
        **env,
    )
    script = "from safehub import settings; print(settings.SAFEHUB_TWO_FACTOR)"
    return subprocess.run(
        [sys.executable, "-c", script], env=environ, capture_output=True, text=True, timeout=60
    )


def test_two_factor_is_on_unless_the_demo_turns_it_off(tmp_path):
    assert _settings_in_a_new_process(tmp_path).stdout.strip() == "True"
    assert _settings_in_a_new_process(tmp_path, SAFEHUB_DEMO="true").stdout.strip() == "False"
    demo_on = _settings_in_a_new_process(tmp_path, SAFEHUB_DEMO="true", SAFEHUB_TWO_FACTOR="true")
    assert demo_on.stdout.strip() == "True"
    refused = _settings_in_a_new_process(tmp_path, SAFEHUB_TWO_FACTOR="false")
    assert refused.returncode != 0
    assert "SAFEHUB_TWO_FACTOR=false is for the demonstration hub only" in refused.stderr
