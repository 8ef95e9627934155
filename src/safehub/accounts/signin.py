"""Signing in: the lockout by username and address, the audit trail of every attempt, and the
times each signed-in session keeps.

The flow, in the order a request meets it (views.SignInView, forms.SignInForm):

1. `signin_locked_until` — a (username, address) pair with SAFEHUB_SIGNIN_MAX_FAILURES failures
   within SAFEHUB_SIGNIN_FAILURE_WINDOW_MINUTES is refused for SAFEHUB_SIGNIN_LOCKOUT_MINUTES
   from the failure that tipped it, without its password being checked (`signin_refuse_locked`).
   The lock is never on the username alone, or anyone could lock a colleague out, and it is the
   same for a username nobody holds, so it tells nobody whether an account exists.
2. Django checks the password; a wrong one is `signin_fail`.
3. With SAFEHUB_TWO_FACTOR (safehub.accounts.twofactor), a right password only starts a pending
   sign-in: the user's id in the session, not signed in, until a code from their authenticator
   app or a recovery code. A wrong code is `signin_fail` too (outcome "failed_code"), counted
   towards the same pair's lock, and the pair's lock is checked before any code is.
4. `signin_complete` signs the person in (Django's `login()` gives the session a new key) and
   clears the pair's failures.

Every outcome is an audit event: `Action.CREATE` on "accounts.signin", the outcome, username and
address in its detail. Time comes from `clock.now()`, so tests can move it.
"""

import datetime as dt
import ipaddress
from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.db import transaction
from django.http import HttpRequest

from safehub.accounts.models import SignInFailure, User
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core import clock

# What a signed-in session keeps (seconds since the epoch, as the session is JSON).
SESSION_SIGNED_IN_AT = "safehub.signed_in_at"
SESSION_LAST_SEEN_AT = "safehub.last_seen_at"

UNKNOWN_ADDRESS = "unknown"
ANONYMOUS = "anonymous"  # the audit actor of an attempt that did not sign in


def client_address(request: HttpRequest) -> str:
    """The client's IP address: the first X-Forwarded-For hop behind a proxy that sets the header
    (settings.SAFEHUB_BEHIND_PROXY), REMOTE_ADDR otherwise. Anything not an IP address falls back
    to REMOTE_ADDR, then to "unknown"."""
    candidates = []
    if getattr(settings, "SAFEHUB_BEHIND_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        candidates.append(forwarded.split(",")[0])
    candidates.append(request.META.get("REMOTE_ADDR", ""))
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate.strip()))[:64]
        except ValueError:
            continue
    return UNKNOWN_ADDRESS


def signin_username_key(username: str) -> str:
    """The username as the lockout counts it: case-folded, so "Alice" and "alice" are one."""
    return username.strip().casefold()[:150]


def _window() -> dt.timedelta:
    return dt.timedelta(minutes=settings.SAFEHUB_SIGNIN_FAILURE_WINDOW_MINUTES)


def _lockout() -> dt.timedelta:
    return dt.timedelta(minutes=settings.SAFEHUB_SIGNIN_LOCKOUT_MINUTES)


def signin_locked_until(*, username: str, address: str) -> dt.datetime | None:
    """When the pair's lock ends, or None if it is not locked now."""
    now = clock.now()
    limit = settings.SAFEHUB_SIGNIN_MAX_FAILURES
    window, lockout = _window(), _lockout()
    times = list(
        SignInFailure.objects.filter(
            username=signin_username_key(username),
            address=address,
            at__gt=now - window - lockout,
            at__lte=now,
        )
        .order_by("at")
        .values_list("at", flat=True)
    )
    until = None
    # A lock starts at each failure that is the limit-th within one window.
    for i in range(limit - 1, len(times)):
        if times[i] - times[i - limit + 1] <= window:
            until = times[i] + lockout
    return until if until is not None and until > now else None


def signin_audit(*, actor: Any, outcome: str, username: str, address: str, **detail: Any) -> None:
    """One sign-in outcome in the audit log (inside the caller's transaction)."""
    key = signin_username_key(username)
    audit_record(
        actor=actor,
        action=Action.CREATE,
        object_type="accounts.signin",
        object_id=key[:64],
        detail={"outcome": outcome, "username": key, "address": address, **detail},
    )


def signin_locked_message() -> str:
    """What a locked pair is told: the same words whether or not the username exists."""
    minutes = _plural(settings.SAFEHUB_SIGNIN_LOCKOUT_MINUTES, "minute")
    return f"You have tried to sign in too many times. Wait {minutes}, then try again."


@transaction.atomic
def signin_fail(*, username: str, address: str, outcome: str = "failed", **detail: Any) -> None:
    """Record a wrong username or password (or, with outcome "failed_code", a wrong second-step
    code; `detail` goes into the audit event), and forget failures too old to count any more."""
    now = clock.now()
    SignInFailure.objects.create(username=signin_username_key(username), address=address, at=now)
    SignInFailure.objects.filter(at__lt=now - _window() - _lockout()).delete()
    signin_audit(actor=ANONYMOUS, outcome=outcome, username=username, address=address, **detail)


@transaction.atomic
def signin_refuse_locked(*, username: str, address: str) -> None:
    """Record an attempt refused because the pair is locked (its password was not checked)."""
    signin_audit(actor=ANONYMOUS, outcome="locked", username=username, address=address)


@transaction.atomic
def signin_complete(*, request: HttpRequest, user: User, method: str = "password") -> None:
    """Sign the user in: a new session key (Django's `login()`), the pair's failures cleared, an
    audit event saying how (`method`: "password" with two-factor off, "totp", "recovery_code" or
    "set_up"); all or nothing."""
    address = client_address(request)
    login(request, user)
    SignInFailure.objects.filter(
        username=signin_username_key(user.get_username()), address=address
    ).delete()
    signin_audit(
        actor=user,
        outcome="succeeded",
        username=user.get_username(),
        address=address,
        method=method,
    )


def session_start(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """On every `login()` (this sign-in page, the admin's, the test client's force_login), stamp
    the new session with its sign-in time, from which SessionLimitsMiddleware counts.

    A receiver of `user_logged_in` rather than a line in `signin_complete`, so that no way of
    signing in can make a session without the stamp; the middleware ends any session without one.
    """
    if request is None or not hasattr(request, "session"):
        return
    now = clock.now().timestamp()
    request.session[SESSION_SIGNED_IN_AT] = now
    request.session[SESSION_LAST_SEEN_AT] = now


def session_end_reason(*, signed_in_at: Any, last_seen_at: Any) -> str | None:
    """Why a signed-in session must end now, in words for the person; None while it may go on."""
    now = clock.now().timestamp()
    if not isinstance(signed_in_at, int | float) or not isinstance(last_seen_at, int | float):
        return "You were signed out; sign in again"
    hours = settings.SAFEHUB_SESSION_MAX_HOURS
    minutes = settings.SAFEHUB_SESSION_IDLE_MINUTES
    if now - signed_in_at >= hours * 3600:
        return f"You were signed out after {_plural(hours, 'hour')}; sign in again"
    if now - last_seen_at >= minutes * 60:
        return (
            f"You were signed out after {_plural(minutes, 'minute')} without activity; "
            "sign in again"
        )
    return None


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"
