"""Signing in: Argon2, the password rules, the lockout by username and address, the audit trail,
and the limits on a session (idle, absolute, a disabled user).

Alice signs in from her office (127.0.0.1, the test client's address); someone guessing her
password works from 203.0.113.9; Bob's address is 198.51.100.7.
"""

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from safehub import settings as safehub_settings
from safehub.accounts.models import SignInFailure, User
from safehub.accounts.passwords import BreachedPasswordValidator, breached_password_count
from safehub.accounts.signin import (
    SESSION_LAST_SEEN_AT,
    SESSION_SIGNED_IN_AT,
    client_address,
    signin_fail,
)
from safehub.accounts.testing import totp_code_for
from safehub.audit.models import Action, AuditEvent
from safehub.core import clock
from safehub.core.testing import PASSWORD

OFFICE = "127.0.0.1"
ATTACKER = "203.0.113.9"
ELSEWHERE = "198.51.100.7"
LOCKED = "You have tried to sign in too many times. Wait 15 minutes, then try again."
WRONG = "Please enter a correct username and password"
IDLE = "You were signed out after 30 minutes without activity; sign in again"
ABSOLUTE = "You were signed out after 12 hours; sign in again"


@pytest.fixture
def start():
    """Now, to the second: tests move the clock on from it (the session store keeps real time)."""
    return timezone.now().replace(microsecond=0)


def sign_in(client, username="alice", password=PASSWORD, address=OFFICE, **extra):
    """The password, then (when the password was right) the code from the person's app."""
    response = client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )
    if response.status_code == 302 and response["Location"] == reverse("signin_code"):
        response = client.post(
            reverse("signin_code"), {"code": totp_code_for(username)}, REMOTE_ADDR=address, **extra
        )
    return response


def fail(client, times, username="alice", address=OFFICE):
    for _ in range(times):
        response = sign_in(client, username=username, password="not the password", address=address)
        assert WRONG in response.content.decode()


def signed_in(client) -> bool:
    return client.get(reverse("referrals:queue")).status_code == 200


def signin_events():
    events = AuditEvent.objects.filter(object_type="accounts.signin").order_by("id")
    return [
        (e.action, e.detail["outcome"], e.detail["username"], e.detail["address"]) for e in events
    ]


# The lockout


def test_five_failures_lock_that_username_from_that_address_even_with_the_right_password(
    client, alice
):
    fail(client, 5, address=ATTACKER)
    response = sign_in(client, address=ATTACKER)
    assert response.status_code == 200
    assert LOCKED in response.content.decode()
    assert not signed_in(client)


def test_four_failures_do_not_lock(client, alice):
    fail(client, 4, address=ATTACKER)
    assert sign_in(client, address=ATTACKER).status_code == 302


def test_the_lock_is_for_that_address_only(client, alice):
    fail(client, 5, address=ATTACKER)
    assert sign_in(client, address=OFFICE).status_code == 302
    assert signed_in(client)


def test_failures_from_another_address_do_not_count_towards_this_one(client, alice):
    fail(client, 4, address=OFFICE)
    fail(client, 3, address=ATTACKER)
    assert sign_in(client, address=OFFICE).status_code == 302


def test_another_username_from_the_locked_address_is_not_locked(client, alice, bob):
    fail(client, 5, username="alice", address=ATTACKER)
    assert sign_in(client, username="bob", address=ATTACKER).status_code == 302


def test_the_lock_ends_after_the_lockout(client, alice, start):
    with clock.frozen(start):
        fail(client, 5, address=ATTACKER)
    with clock.frozen(start + dt.timedelta(minutes=14, seconds=59)):
        assert LOCKED in sign_in(client, address=ATTACKER).content.decode()
    with clock.frozen(start + dt.timedelta(minutes=15)):
        assert sign_in(client, address=ATTACKER).status_code == 302


def test_the_lockout_counts_from_the_failure_that_tipped_it(client, alice, start):
    with clock.frozen(start):
        fail(client, 4, address=ATTACKER)
    with clock.frozen(start + dt.timedelta(minutes=10)):
        fail(client, 1, address=ATTACKER)
    with clock.frozen(start + dt.timedelta(minutes=24)):
        assert LOCKED in sign_in(client, address=ATTACKER).content.decode()
    with clock.frozen(start + dt.timedelta(minutes=25)):
        assert sign_in(client, address=ATTACKER).status_code == 302


def test_failures_spread_wider_than_the_window_do_not_lock(client, alice, start):
    for minute in (0, 4, 8, 12, 16):  # the first and the fifth are 16 minutes apart
        with clock.frozen(start + dt.timedelta(minutes=minute)):
            fail(client, 1, address=ATTACKER)
    with clock.frozen(start + dt.timedelta(minutes=16, seconds=1)):
        assert sign_in(client, address=ATTACKER).status_code == 302


def test_success_clears_the_failures(client, alice):
    fail(client, 4)
    assert sign_in(client).status_code == 302
    client.post(reverse("logout"))
    fail(client, 4)
    assert sign_in(client).status_code == 302


def test_the_lock_message_is_the_same_for_a_username_nobody_holds(client, alice):
    fail(client, 5, username="nobody", address=ATTACKER)
    fail(client, 5, username="alice", address=ATTACKER)
    nobody = sign_in(client, username="nobody", address=ATTACKER)
    someone = sign_in(client, username="alice", address=ATTACKER)
    assert nobody.status_code == someone.status_code == 200
    assert nobody.context["form"].non_field_errors() == someone.context["form"].non_field_errors()
    assert someone.context["form"].non_field_errors() == [LOCKED]


def test_a_locked_attempt_does_not_extend_the_lock(client, alice, start):
    with clock.frozen(start):
        fail(client, 5, address=ATTACKER)
    with clock.frozen(start + dt.timedelta(minutes=10)):
        sign_in(client, password="still wrong", address=ATTACKER)
        sign_in(client, password="still wrong", address=ATTACKER)
    with clock.frozen(start + dt.timedelta(minutes=15)):
        assert sign_in(client, address=ATTACKER).status_code == 302


def test_the_lockout_follows_the_settings(client, alice, settings, start):
    settings.SAFEHUB_SIGNIN_MAX_FAILURES = 2
    settings.SAFEHUB_SIGNIN_LOCKOUT_MINUTES = 1
    with clock.frozen(start):
        fail(client, 2, address=ATTACKER)
        response = sign_in(client, address=ATTACKER).content.decode()
        assert "Wait 1 minute, then try again." in response
    with clock.frozen(start + dt.timedelta(minutes=1)):
        assert sign_in(client, address=ATTACKER).status_code == 302


def test_old_failures_are_forgotten_at_the_next_failure(db, start):
    with clock.frozen(start):
        signin_fail(username="alice", address=ATTACKER)
    with clock.frozen(start + dt.timedelta(minutes=30, seconds=1)):
        signin_fail(username="bob", address=ATTACKER)
    assert list(SignInFailure.objects.values_list("username", flat=True)) == ["bob"]


def test_usernames_count_case_folded(client, alice):
    fail(client, 3, username="Alice", address=ATTACKER)
    fail(client, 2, username="ALICE", address=ATTACKER)
    assert LOCKED in sign_in(client, address=ATTACKER).content.decode()


def test_the_admin_login_goes_through_the_same_lockout(client, alice):
    fail(client, 5, address=ATTACKER)
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "alice", "password": PASSWORD, "next": "/admin/"},
        REMOTE_ADDR=ATTACKER,
    )
    assert LOCKED in response.content.decode()


# The client's address


def test_the_address_is_remote_addr_unless_behind_a_proxy(settings):
    settings.SAFEHUB_BEHIND_PROXY = False
    request = RequestFactory().get(
        "/", REMOTE_ADDR=OFFICE, HTTP_X_FORWARDED_FOR=f"{ATTACKER}, 10.0.0.1"
    )
    assert client_address(request) == OFFICE


def test_behind_a_proxy_the_address_is_the_first_forwarded_hop(settings):
    settings.SAFEHUB_BEHIND_PROXY = True
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f" {ATTACKER} , 10.0.0.1"
    )
    assert client_address(request) == ATTACKER


def test_a_forwarded_hop_that_is_not_an_address_falls_back_to_remote_addr(settings):
    settings.SAFEHUB_BEHIND_PROXY = True
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="bogus")
    assert client_address(request) == "10.0.0.1"
    assert client_address(RequestFactory().get("/", REMOTE_ADDR="")) == "unknown"


def test_behind_a_proxy_the_lock_follows_the_forwarded_address(client, alice, settings):
    settings.SAFEHUB_BEHIND_PROXY = True
    for _ in range(5):
        sign_in(client, password="wrong", address="10.0.0.1", HTTP_X_FORWARDED_FOR=ATTACKER)
    locked = sign_in(client, address="10.0.0.1", HTTP_X_FORWARDED_FOR=ATTACKER)
    assert LOCKED in locked.content.decode()
    assert sign_in(client, address="10.0.0.1", HTTP_X_FORWARDED_FOR=ELSEWHERE).status_code == 302


# The audit trail


def test_each_outcome_is_an_audit_event(client, alice):
    fail(client, 5, address=ATTACKER)
    sign_in(client, address=ATTACKER)
    sign_in(client, address=OFFICE)
    assert signin_events() == [
        *[(Action.CREATE, "failed", "alice", ATTACKER)] * 5,
        (Action.CREATE, "locked", "alice", ATTACKER),
        (Action.CREATE, "password_accepted", "alice", OFFICE),
        (Action.CREATE, "succeeded", "alice", OFFICE),
    ]
    succeeded = AuditEvent.objects.get(detail__outcome="succeeded")
    assert succeeded.user == alice
    assert succeeded.object_id == "alice"
    assert AuditEvent.objects.get(detail__outcome="locked").user is None


def test_a_form_with_a_field_missing_records_nothing(client, alice):
    client.post(reverse("login"), {"username": "alice", "password": ""})
    assert signin_events() == []
    assert not SignInFailure.objects.exists()


# The session


def test_sign_in_gives_the_session_a_new_key(client, alice):
    session = client.session
    session["before"] = "anonymous"
    session.save()
    before = session.session_key
    assert sign_in(client).status_code == 302
    after = client.cookies["sessionid"].value
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert client.session[SESSION_SIGNED_IN_AT] == client.session[SESSION_LAST_SEEN_AT]


def test_an_idle_session_is_signed_out_with_the_reason(client, alice, start):
    with clock.frozen(start):
        sign_in(client)
    key = client.cookies["sessionid"].value
    with clock.frozen(start + dt.timedelta(minutes=30)):
        response = client.get(reverse("referrals:queue"), follow=True)
    assert response.redirect_chain[0][0].startswith(reverse("login"))
    assert IDLE in response.content.decode()
    assert not Session.objects.filter(session_key=key).exists()


def test_activity_keeps_a_session_going(client, alice, start):
    with clock.frozen(start):
        sign_in(client)
    for minutes in (29, 58, 87):
        with clock.frozen(start + dt.timedelta(minutes=minutes, seconds=59)):
            assert signed_in(client)


def test_twelve_hours_after_sign_in_even_an_active_session_ends(client, alice, start):
    with clock.frozen(start):
        sign_in(client)
    minutes = 0
    while minutes < 12 * 60 - 20:
        minutes += 20
        with clock.frozen(start + dt.timedelta(minutes=minutes)):
            assert signed_in(client)
    with clock.frozen(start + dt.timedelta(hours=12)):
        response = client.get(reverse("referrals:queue"), follow=True)
    assert ABSOLUTE in response.content.decode()
    assert not signed_in(client)


def test_the_session_limits_follow_the_settings(client, alice, settings, start):
    settings.SAFEHUB_SESSION_IDLE_MINUTES = 5
    settings.SAFEHUB_SESSION_MAX_HOURS = 1
    with clock.frozen(start):
        sign_in(client)
    with clock.frozen(start + dt.timedelta(minutes=4)):
        assert signed_in(client)
    with clock.frozen(start + dt.timedelta(minutes=9)):
        response = client.get(reverse("referrals:queue"), follow=True)
    assert "after 5 minutes without activity" in response.content.decode()
    with clock.frozen(start + dt.timedelta(minutes=10)):
        sign_in(client)
    for minutes in range(14, 70, 4):  # active every 4 minutes
        with clock.frozen(start + dt.timedelta(minutes=minutes)):
            assert signed_in(client)
    with clock.frozen(start + dt.timedelta(minutes=70)):
        response = client.get(reverse("referrals:queue"), follow=True)
    assert "You were signed out after 1 hour; sign in again" in response.content.decode()


def test_a_session_signed_in_with_force_login_has_the_same_limits(client, alice):
    client.force_login(alice)
    with clock.frozen(timezone.now() + dt.timedelta(minutes=31)):
        assert not signed_in(client)


def test_a_session_without_a_sign_in_time_is_ended(client, alice):
    client.force_login(alice)
    session = client.session
    del session[SESSION_SIGNED_IN_AT]
    session.save()
    assert not signed_in(client)


def test_the_api_staff_session_honours_the_idle_timeout(client, alice, start):
    url = "/api/v1/notifications/MSP/NO-SUCH-REF"
    with clock.frozen(start):
        sign_in(client)
        assert client.get(url).status_code == 404  # signed in: the API looks, and finds nothing
    with clock.frozen(start + dt.timedelta(minutes=30)):
        assert client.get(url).status_code == 401


def test_the_api_staff_session_honours_the_absolute_limit(client, alice, start):
    url = "/api/v1/notifications/MSP/NO-SUCH-REF"
    with clock.frozen(start):
        sign_in(client)
    for minutes in range(20, 12 * 60, 20):  # a request every 20 minutes
        with clock.frozen(start + dt.timedelta(minutes=minutes)):
            assert client.get(url).status_code == 404
    with clock.frozen(start + dt.timedelta(hours=12)):
        assert client.get(url).status_code == 401


def test_a_disabled_user_is_signed_out_at_their_next_request(client, alice):
    sign_in(client)
    key = client.cookies["sessionid"].value
    assert signed_in(client)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    response = client.get(reverse("referrals:queue"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not Session.objects.filter(session_key=key).exists()
    alice.is_active = True
    alice.save(update_fields=["is_active"])
    assert not signed_in(client)  # the old session does not come back


def test_a_disabled_user_cannot_use_the_api_with_their_session(client, alice):
    sign_in(client)
    User.objects.filter(pk=alice.pk).update(is_active=False)
    assert client.get("/api/v1/notifications/MSP/NO-SUCH-REF").status_code == 401


def test_sign_out_ends_the_session_on_the_server(client, alice):
    sign_in(client)
    key = client.cookies["sessionid"].value
    client.post(reverse("logout"))
    assert not Session.objects.filter(session_key=key).exists()
    client.cookies["sessionid"] = key  # a copy of the old cookie is worth nothing
    assert not signed_in(client)


# Passwords


@pytest.mark.parametrize(
    "password, code",
    [
        ("password1234", "password_too_common"),
        ("qwertyuiop123", "password_too_common"),
        ("short-pass", "password_too_short"),
        ("738264910385", "password_entirely_numeric"),
        ("alice.example", "password_too_similar"),
    ],
)
def test_weak_passwords_are_refused(alice, password, code):
    alice.username, alice.email = "alice.example", "alice.example@hub.example"
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user=alice)
    assert code in [e.code for e in refused.value.error_list]


def test_the_personas_password_passes_the_rules(alice):
    validate_password(PASSWORD, user=alice)


def test_production_hashes_passwords_with_argon2(settings):
    settings.PASSWORD_HASHERS = safehub_settings.PRODUCTION_PASSWORD_HASHERS
    encoded = make_password(PASSWORD)
    assert encoded.startswith("argon2$argon2id$")
    assert identify_hasher(encoded).algorithm == "argon2"
    assert check_password(PASSWORD, encoded)


def test_a_pbkdf2_hash_becomes_argon2_at_the_next_sign_in(client, alice, settings):
    settings.PASSWORD_HASHERS = safehub_settings.PRODUCTION_PASSWORD_HASHERS
    User.objects.filter(pk=alice.pk).update(
        password=make_password(PASSWORD, hasher="pbkdf2_sha256")
    )
    assert sign_in(client).status_code == 302
    alice.refresh_from_db()
    assert alice.password.startswith("argon2$")


def _sha1(password: str) -> str:
    return hashlib.sha1(password.encode()).hexdigest().upper()


def test_a_breached_password_is_refused_from_a_directory_of_range_files(tmp_path: Path, settings):
    digest = _sha1(PASSWORD + "!")
    (tmp_path / f"{digest[:5]}.txt").write_text(
        f"0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n{digest[5:]}:42\r\n"
    )
    settings.SAFEHUB_BREACHED_PASSWORDS_FILE = str(tmp_path)
    assert breached_password_count(PASSWORD + "!", source=tmp_path) == 42
    with pytest.raises(ValidationError) as refused:
        BreachedPasswordValidator().validate(PASSWORD + "!")
    assert refused.value.code == "password_breached"
    BreachedPasswordValidator().validate(PASSWORD + "?")  # no range file for it: allowed


def test_a_padding_line_of_count_zero_is_not_a_breach(tmp_path: Path):
    digest = _sha1("a padded answer")
    (tmp_path / f"{digest[:5]}.txt").write_text(f"{digest[5:]}:0\n")
    assert breached_password_count("a padded answer", source=tmp_path) == 0


def test_a_breached_password_is_found_in_one_sorted_file(tmp_path: Path):
    breached = [f"breached password {n}" for n in range(500)]
    lines = sorted(f"{_sha1(p)}:{n + 1}" for n, p in enumerate(breached))
    source = tmp_path / "pwned-passwords-sha1-ordered-by-hash.txt"
    source.write_text("\n".join(lines) + "\n")
    for n, password in enumerate(breached):
        assert breached_password_count(password, source=source) == n + 1
    assert breached_password_count("not in the list at all", source=source) == 0
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert breached_password_count("anything", source=empty) == 0


def test_without_a_breach_list_the_rule_is_not_listed(settings):
    names = [v["NAME"] for v in settings.AUTH_PASSWORD_VALIDATORS]
    assert names == [
        "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "django.contrib.auth.password_validation.MinimumLengthValidator",
        "django.contrib.auth.password_validation.CommonPasswordValidator",
        "django.contrib.auth.password_validation.NumericPasswordValidator",
    ]
