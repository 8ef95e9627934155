"""Two-factor sign-in: after the right password, a code from the person's authenticator app
(TOTP, django-otp's TOTPDevice) or one of their single-use recovery codes (a StaticDevice).

The flow (views.SignInView, then views.CodeView / RecoveryCodeView / SetUpView):

1. A right password does not sign anyone in: `signin_pending_start` gives the session a new key
   and keeps the user's id in it, with the time. Django's SESSION_KEY is not set, so the session
   is anonymous to every page, the admin and the API until step 2 or 3 ends with
   `signin_complete`. The pending sign-in lasts SAFEHUB_TWO_FACTOR_PENDING_MINUTES.
2. A person with a confirmed authenticator enters its code (`twofactor_sign_in_with_code`) or a
   recovery code (`twofactor_sign_in_with_recovery_code`, which uses the code up). A wrong code
   counts towards the (username, address) lock of `safehub.accounts.signin` like a wrong
   password, and the lock is checked first.
3. A person without one sets it up: `twofactor_set_up_device` makes an unconfirmed device (the
   same one on every visit of this pending sign-in), whose QR code and key the page shows; the
   right code confirms it, makes ten new recovery codes and signs the person in
   (`twofactor_set_up_confirm`). The page shows the recovery codes that once; only their owner
   has them after that.

A code is checked against `clock.now()`, one time step either way (an app's clock a little out),
and never accepted twice: the device keeps the time step of the last code it accepted
(`last_t`), and the row is locked while a code is checked so two requests cannot both use one.
Besides the pair's lock, each device keeps django-otp's throttle: after n wrong codes in a row
from anywhere, none is checked for 2^(n-1) seconds.

Support resets a person's second factor with `safehub twofactor reset USERNAME`
(`twofactor_reset`): their devices are deleted, and they set up again at their next sign-in.
"""

import base64
import re
from dataclasses import dataclass
from typing import Any

import segno
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.cached_db import SessionStore
from django.contrib.sessions.models import Session
from django.db import transaction
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare
from django_otp.models import MAX_THROTTLE_DELAY_SECONDS
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from safehub.accounts.models import User
from safehub.accounts.signin import (
    ANONYMOUS,
    client_address,
    signin_audit,
    signin_complete,
    signin_fail,
)
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core import clock

SESSION_PENDING = "safehub.signin_pending"

AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
RECOVERY_CODE_COUNT = 10

_SEPARATORS = re.compile(r"[\s-]+")


@dataclass(frozen=True)
class PendingSignIn:
    """A sign-in whose password was right and whose second step is still to come."""

    user: User
    next_url: str
    set_up_device_id: int | None


class SignInPendingExpired(Exception):
    """The pending sign-in is older than SAFEHUB_TWO_FACTOR_PENDING_MINUTES."""

    def __init__(self, next_url: str) -> None:
        super().__init__("the pending sign-in has expired")
        self.next_url = next_url


class TwoFactorAlreadySetUp(Exception):
    """The person has a confirmed authenticator: they enter its code, they do not set up another."""


# The pending sign-in


def signin_pending_start(*, request: HttpRequest, user: User, next_url: str) -> None:
    """After a right password: a new session key, the user's id kept in the session (not signed
    in), and an audit event "password_accepted" saying which step comes next."""
    request.session.cycle_key()
    request.session[SESSION_PENDING] = {
        "user_id": user.pk,
        # A password changed meanwhile ends the pending sign-in, as it ends sessions.
        "auth_hash": user.get_session_auth_hash(),
        "backend": getattr(user, "backend", None),
        "at": clock.now().timestamp(),
        "next": next_url,
        "set_up_device": None,
    }
    with transaction.atomic():
        signin_audit(
            actor=ANONYMOUS,
            outcome="password_accepted",
            username=user.get_username(),
            address=client_address(request),
            next_step="code" if twofactor_is_set_up(user=user) else "set_up",
        )


def signin_pending_get(*, request: HttpRequest) -> PendingSignIn | None:
    """The session's pending sign-in, or None. Raises SignInPendingExpired (and forgets it) once
    it is SAFEHUB_TWO_FACTOR_PENDING_MINUTES old."""
    raw = request.session.get(SESSION_PENDING)
    if not isinstance(raw, dict):
        return None
    try:
        user_id, auth_hash, started_at = raw["user_id"], str(raw["auth_hash"]), float(raw["at"])
        next_url, device_id = str(raw["next"]), raw.get("set_up_device")
    except (KeyError, TypeError, ValueError):
        signin_pending_clear(request=request)
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not constant_time_compare(auth_hash, user.get_session_auth_hash()):
        signin_pending_clear(request=request)
        return None
    age = clock.now().timestamp() - started_at
    if not 0 <= age < settings.SAFEHUB_TWO_FACTOR_PENDING_MINUTES * 60:
        signin_pending_clear(request=request)
        with transaction.atomic():
            signin_audit(
                actor=ANONYMOUS,
                outcome="expired",
                username=user.get_username(),
                address=client_address(request),
            )
        raise SignInPendingExpired(next_url)
    if raw.get("backend"):
        user.backend = raw["backend"]
    return PendingSignIn(
        user=user,
        next_url=next_url,
        set_up_device_id=device_id if isinstance(device_id, int) else None,
    )


def signin_pending_clear(*, request: HttpRequest) -> None:
    request.session.pop(SESSION_PENDING, None)


def twofactor_is_set_up(*, user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


# Codes


def code_normalise(code: str) -> str:
    """A code as typed, without the spaces and hyphens people put in, lower case."""
    return _SEPARATORS.sub("", code).lower()


def _throttled(device: TOTPDevice | StaticDevice) -> bool:
    """django-otp's throttle (ThrottlingMixin.verify_is_allowed), on safehub's clock: after n
    wrong codes in a row, no code is checked for 2^(n-1) seconds (times OTP_*_THROTTLE_FACTOR)
    from the last. Only someone with the password can make wrong codes, so unlike the password's
    lock this one may be on the person alone: it stops the holder of a stolen password guessing
    from many addresses, each under the (username, address) lock."""
    count, last = device.throttling_failure_count, device.throttling_failure_timestamp
    if count <= 0 or last is None:
        return False
    delay = min(device.get_throttle_factor() * 2 ** (count - 1), MAX_THROTTLE_DELAY_SECONDS)
    return (clock.now() - last).total_seconds() < delay


def _throttle_count(device: TOTPDevice | StaticDevice, *, failed: bool) -> list[str]:
    """Count a wrong code against the device, or clear its count after a right one; the fields
    to save."""
    if failed:
        device.throttling_failure_count += 1
        device.throttling_failure_timestamp = clock.now()
    else:
        device.throttling_failure_count = 0
        device.throttling_failure_timestamp = None
    return ["throttling_failure_count", "throttling_failure_timestamp"]


def _totp_accept(device: TOTPDevice, code: str) -> bool:
    """Whether `code` is the device's code within one time step (its `tolerance`) of now and
    later than the last it accepted; if so, the device (unsaved) remembers that time step.

    django-otp's TOTPDevice.verify_token, on safehub's clock (so that tests can move it)."""
    if not code.isdigit():
        return False
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = clock.now().timestamp()
    if not totp.verify(int(code), tolerance=device.tolerance, min_t=device.last_t + 1):
        return False
    device.last_t = totp.t()
    if getattr(settings, "OTP_TOTP_SYNC", True):
        device.drift = totp.drift
    device.last_used_at = clock.now()
    return True


def _complete(*, request: HttpRequest, pending: PendingSignIn, method: str) -> None:
    signin_pending_clear(request=request)
    signin_complete(request=request, user=pending.user, method=method)


def twofactor_sign_in_with_code(*, request: HttpRequest, pending: PendingSignIn, code: str) -> bool:
    """Sign in with a code from the person's authenticator app. A wrong (or reused) code is a
    failed sign-in of the (username, address) pair, outcome "failed_code"."""
    code = code_normalise(code)
    with transaction.atomic():
        devices = TOTPDevice.objects.select_for_update().filter(user=pending.user, confirmed=True)
        checked = [device for device in devices.order_by("pk") if not _throttled(device)]
        for device in checked:
            if _totp_accept(device, code):
                fields = _throttle_count(device, failed=False)
                device.save(update_fields=["last_t", "drift", "last_used_at", *fields])
                _complete(request=request, pending=pending, method="totp")
                return True
        for device in checked:
            device.save(update_fields=_throttle_count(device, failed=True))
    signin_fail(
        username=pending.user.get_username(),
        address=client_address(request),
        outcome="failed_code",
        method="totp",
    )
    return False


def twofactor_sign_in_with_recovery_code(
    *, request: HttpRequest, pending: PendingSignIn, code: str
) -> int | None:
    """Sign in with one of the person's recovery codes, which is used up. Returns how many they
    have left; None for a wrong (or used) code, a failed sign-in as a wrong authenticator code
    is."""
    code = code_normalise(code)
    with transaction.atomic():
        devices = StaticDevice.objects.select_for_update().filter(user=pending.user, confirmed=True)
        checked = [device for device in devices.order_by("pk") if not _throttled(device)]
        token = (
            StaticToken.objects.select_for_update().filter(device__in=checked, token=code).first()
            if code and checked
            else None
        )
        if token is not None:
            device = next(d for d in checked if d.pk == token.device_id)
            token.delete()
            device.last_used_at = clock.now()
            fields = _throttle_count(device, failed=False)
            device.save(update_fields=["last_used_at", *fields])
            _complete(request=request, pending=pending, method="recovery_code")
            return StaticToken.objects.filter(
                device__user=pending.user, device__confirmed=True
            ).count()
        for device in checked:
            device.save(update_fields=_throttle_count(device, failed=True))
    signin_fail(
        username=pending.user.get_username(),
        address=client_address(request),
        outcome="failed_code",
        method="recovery_code",
    )
    return None


# Setting up


@transaction.atomic
def twofactor_set_up_device(*, request: HttpRequest, pending: PendingSignIn) -> TOTPDevice:
    """The unconfirmed authenticator this pending sign-in sets up: the same one at each visit, so
    that a QR code scanned before a reload stays good; a new one (and any other unconfirmed one
    of the person's gone) otherwise."""
    user = User.objects.select_for_update().get(pk=pending.user.pk)
    if twofactor_is_set_up(user=user):
        raise TwoFactorAlreadySetUp
    device = None
    if pending.set_up_device_id is not None:
        device = TOTPDevice.objects.filter(
            pk=pending.set_up_device_id, user=user, confirmed=False
        ).first()
    if device is None:
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
        request.session[SESSION_PENDING] = {
            **request.session[SESSION_PENDING],
            "set_up_device": device.pk,
        }
    return device


def twofactor_set_up_confirm(
    *, request: HttpRequest, pending: PendingSignIn, code: str
) -> list[str] | None:
    """Confirm the authenticator being set up with its first code, replace the person's recovery
    codes with ten new ones and sign them in, all or nothing. Returns the recovery codes, to be
    shown this once; None for a wrong code (audited as "failed_set_up_code", not counted
    towards the lock: the page has just shown the key, there is nothing to guess)."""
    code = code_normalise(code)
    address = client_address(request)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=pending.user.pk)
        if twofactor_is_set_up(user=user):
            raise TwoFactorAlreadySetUp
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(pk=pending.set_up_device_id, user=user, confirmed=False)
            .first()
        )
        if device is not None and _totp_accept(device, code):
            device.confirmed = True
            device.save(update_fields=["confirmed", "last_t", "drift", "last_used_at"])
            codes = _recovery_codes_replace(user=user)
            audit_record(
                actor=user,
                action=Action.CREATE,
                object_type="accounts.twofactor",
                object_id=str(user.pk),
                detail={"event": "set_up", "recovery_codes": len(codes), "address": address},
            )
            _complete(request=request, pending=pending, method="set_up")
            return codes
    with transaction.atomic():
        signin_audit(
            actor=ANONYMOUS,
            outcome="failed_set_up_code",
            username=pending.user.get_username(),
            address=address,
        )
    return None


def _recovery_codes_replace(*, user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def recovery_code_display(code: str) -> str:
    """A recovery code as shown: "abcd-efgh" (typed with or without the hyphen)."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def twofactor_key_display(device: TOTPDevice) -> str:
    """The device's secret key as an authenticator app takes it typed in: base32, in groups of
    four."""
    key = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def twofactor_qr_code(device: TOTPDevice) -> tuple[str, int]:
    """The device's otpauth:// URI (issuer OTP_TOTP_ISSUER, account the username) as a QR code:
    an SVG data: URI for an <img> (the CSP allows data: images and needs no inline style for
    them), and its width and height in pixels."""
    qr = segno.make(device.config_url, error="m", micro=False)
    scale, border = 5, 4
    uri = qr.svg_data_uri(scale=scale, border=border, dark="#0b0c0c", light="#ffffff")
    width, _ = qr.symbol_size(scale=scale, border=border)
    return str(uri), int(width)


# Support


def _sessions_end(user: User) -> int:
    """End every signed-in session of the person (database-backed sessions): after a lost or
    stolen phone, a session opened with it must not outlive the reset."""
    if not settings.SESSION_ENGINE.startswith("django.contrib.sessions.backends.") or (
        not settings.SESSION_ENGINE.endswith(("db", "cached_db"))
    ):
        return 0
    ended = []
    live = Session.objects.filter(expire_date__gt=clock.now())
    for session in live.iterator():
        if session.get_decoded().get(SESSION_KEY) == str(user.pk):
            ended.append(session.session_key)
    Session.objects.filter(session_key__in=ended).delete()
    if settings.SESSION_ENGINE.endswith("cached_db"):
        for key in ended:
            SessionStore(session_key=key).delete()
    return len(ended)


def twofactor_reset(*, user: User, actor: Any, reason: str = "") -> int:
    """Delete the person's authenticators and recovery codes, so that they set up again at their
    next sign-in, and end their sessions. Returns how many devices went."""
    with transaction.atomic():
        sessions = _sessions_end(user)
        totp, _ = TOTPDevice.objects.filter(user=user).delete()
        static = StaticDevice.objects.filter(user=user)
        tokens = StaticToken.objects.filter(device__in=static).count()
        static_count = static.count()
        static.delete()
        audit_record(
            actor=actor,
            action=Action.UPDATE,
            object_type="accounts.twofactor",
            object_id=str(user.pk),
            purpose=reason[:200],
            detail={
                "event": "reset",
                "username": user.get_username(),
                "authenticators": totp,
                "recovery_codes": tokens,
                "sessions_ended": sessions,
            },
        )
    return totp + static_count
