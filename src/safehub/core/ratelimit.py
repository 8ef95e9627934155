"""Rate and size limits against bulk extraction and oversized requests.

Limits are per caller, an integration client or a signed-in person, never per address (a force's
system sends from a few addresses; a hub's staff share one behind the council's proxy):

- API writes (POST, PUT): `SAFEHUB_API_WRITES_PER_SECOND` (200) and `SAFEHUB_API_WRITES_PER_HOUR`
  (20,000) per client. A force's records system that was cut off for a few hours sends its
  backlog at once: at 100 a second (the pace the service is built for) it may send for over three
  minutes without a refusal, 20,000 in the first hour, and 5.5 a second after that;
- API reads (GET): `SAFEHUB_API_READS_PER_MINUTE` (120) per client or person: reading back what
  was sent is occasional, and walking through the notifications is what bulk extraction looks
  like;
- pages that show a person's record (`SAFEHUB_PAGE_RATE_LIMITED`, URL names): together,
  `SAFEHUB_PAGE_VIEWS_PER_MINUTE` (60) per signed-in person (`PageRateLimitMiddleware`).

Each limit of N per period is the generic cell rate algorithm (GCRA), which is a token bucket of N
that refills at N per period: a burst of N at once, then one every period/N. Its state is one
number per caller and limit, kept in `accounts.RateBucket` and changed by one conditional UPDATE,
which is atomic: every web process and host counts the same requests, with no cache to set up and
no request lost between a read and a write. (django-ninja's `SimpleRateThrottle` keeps a list of
every request's time in Django's cache, read and written whole at each request: 20,000 floats for
the hourly limit, a read-then-write that loses counts between concurrent workers, and with the
default cache a separate count in each gunicorn worker.) The refusal is django-ninja's throttle
answer: 429 with `Retry-After`, in the API's error shape `{detail, code: "rate_limited"}`.

A setting of 0 turns that limit off (a load test of capacity, say).

`RequestSizeLimitMiddleware` refuses a body larger than `SAFEHUB_MAX_REQUEST_BYTES` (2 MiB) from
its Content-Length, before anything reads it. Django's `DATA_UPLOAD_MAX_MEMORY_SIZE` does not count
the files of a multipart body: without this, a form page would write any size of upload to disk.
"""

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import BigIntegerField, F, Value
from django.db.models.functions import Greatest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from ninja.throttling import BaseThrottle

from safehub.accounts.models import ApiClient, RateBucket, User
from safehub.core import clock

log = logging.getLogger(__name__)

# The settings' values when settings.py leaves them out.
DEFAULTS: dict[str, Any] = {
    "SAFEHUB_API_WRITES_PER_SECOND": 200,
    "SAFEHUB_API_WRITES_PER_HOUR": 20_000,
    "SAFEHUB_API_READS_PER_MINUTE": 120,
    "SAFEHUB_PAGE_VIEWS_PER_MINUTE": 60,
    "SAFEHUB_PAGE_RATE_LIMITED": [
        "referrals:contact_detail",
        "encompass:notice_detail",
        "risk:referral_detail",
    ],
    "SAFEHUB_MAX_REQUEST_BYTES": 2 * 1024 * 1024,
}


def _setting(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])


MICROSECONDS = 1_000_000


@dataclass(frozen=True)
class Rate:
    """At most `count` in any `seconds` (after a burst of `count`, one every seconds/count)."""

    count: int
    seconds: int

    @property
    def period_us(self) -> int:
        return self.seconds * MICROSECONDS

    @property
    def interval_us(self) -> int:
        return max(1, round(self.period_us / self.count))


def _rates(*pairs: tuple[str, int]) -> list[Rate]:
    """The limits named by these settings, those set to 0 left out."""
    rates = []
    for name, seconds in pairs:
        count = int(_setting(name))
        if count > 0:
            rates.append(Rate(count, seconds))
    return rates


def api_write_rates() -> list[Rate]:
    return _rates(("SAFEHUB_API_WRITES_PER_SECOND", 1), ("SAFEHUB_API_WRITES_PER_HOUR", 3600))


def api_read_rates() -> list[Rate]:
    return _rates(("SAFEHUB_API_READS_PER_MINUTE", 60))


def page_rates() -> list[Rate]:
    return _rates(("SAFEHUB_PAGE_VIEWS_PER_MINUTE", 60))


# The store ------------------------------------------------------------------------------------


def _int(value: int) -> Value:
    return Value(value, output_field=BigIntegerField())


def _take_one(key: str, rate: Rate, now: int) -> float | None:
    """Take one request from this bucket: None if allowed (and counted), else the seconds until
    it would be. One UPDATE when allowed, which is atomic: no two processes take the same
    place. Call it outside a transaction, so that the row is locked for one statement only."""
    bucket = RateBucket.objects.filter(key=key)
    # Allowed while the bucket's time, brought up to now, is at most a period less one interval
    # ahead; then it moves one interval on.
    allowed = bucket.filter(tat__lte=now + rate.period_us - rate.interval_us)
    step = Greatest(F("tat"), _int(now)) + _int(rate.interval_us)
    if allowed.update(tat=step):
        return None
    tat = bucket.values_list("tat", flat=True).first()
    if tat is None:
        # First request of this caller (or a bucket that a crash emptied): an empty bucket,
        # then take from it as above. A second process doing the same at once is harmless.
        RateBucket.objects.bulk_create([RateBucket(key=key, tat=now)], ignore_conflicts=True)
        if allowed.update(tat=step):
            return None
        tat = bucket.values_list("tat", flat=True).first() or now
    return max(tat + rate.interval_us - rate.period_us - now, 0) / MICROSECONDS


def _give_back(key: str, rate: Rate) -> None:
    RateBucket.objects.filter(key=key).update(tat=F("tat") - _int(rate.interval_us))


def rate_take(key: str, rates: list[Rate]) -> float | None:
    """Count one request of the caller `key` against every rate: None if all allow it, else the
    seconds to wait. A request refused by one rate is not counted by the others."""
    taken: list[tuple[str, Rate]] = []
    for rate in rates:
        bucket = f"{key}:{rate.count}/{rate.seconds}"
        # The time is read just before each statement: a process held up for a second between
        # reading it and counting would otherwise count with a time the other processes have
        # left behind, and be refused by a one-second limit it is well within.
        now = round(clock.now().timestamp() * MICROSECONDS)
        wait = _take_one(bucket, rate, now)
        if wait is not None:
            for earlier in taken:
                _give_back(*earlier)
            return wait
        taken.append((bucket, rate))
    return None


def caller_key(caller: Any) -> str | None:
    """`client:<id>` or `user:<id>`: whom a limit counts."""
    if isinstance(caller, ApiClient):
        return f"client:{caller.pk}"
    if isinstance(caller, User) and caller.is_authenticated:
        return f"user:{caller.pk}"
    return None


def retry_after(wait: float) -> int:
    """Whole seconds (RFC 9110), at least one."""
    return max(1, math.ceil(wait))


# The API: django-ninja's throttle ----------------------------------------------------------------


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ApiRateThrottle(BaseThrottle):
    """Every API operation's throttle (set on the NinjaAPI, so that an operation added later is
    limited too): reads by `api_read_rates()`, writes by `api_write_rates()`, each per client or
    person. django-ninja runs it after authentication, and answers 429 with `Retry-After: wait()`.
    One object serves every request: `wait()` reads what this thread's `allow_request` found."""

    def __init__(
        self,
        read_rates: Callable[[], list[Rate]] = api_read_rates,
        write_rates: Callable[[], list[Rate]] = api_write_rates,
    ) -> None:
        self.read_rates = read_rates
        self.write_rates = write_rates
        self._local = threading.local()

    def allow_request(self, request: HttpRequest) -> bool:
        self._local.wait = None
        key = caller_key(getattr(request, "auth", None))
        if key is None:
            return True
        reading = request.method in READ_METHODS
        rates = self.read_rates() if reading else self.write_rates()
        if not rates:
            return True
        scope = "api-read" if reading else "api-write"
        wait = rate_take(f"{scope}:{key}", rates)
        if wait is None:
            return True
        self._local.wait = wait
        log.warning("rate limit: %s refused %s %s (%s)", key, request.method, request.path, scope)
        return False

    def wait(self) -> float | None:
        wait = getattr(self._local, "wait", None)
        return None if wait is None else float(retry_after(wait))


# Pages: a middleware ---------------------------------------------------------------------------


class PageRateLimitMiddleware:
    """A signed-in person who opens the pages named in `SAFEHUB_PAGE_RATE_LIMITED` (the records of
    people) faster than `SAFEHUB_PAGE_VIEWS_PER_MINUTE`, all together, is refused with a 429 page
    until the pace drops: nobody reads sixty case records a minute, a script copying them does.
    After the authentication middleware; pages not named are not counted."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if match is None or match.view_name not in _setting("SAFEHUB_PAGE_RATE_LIMITED"):
            return None
        key = caller_key(getattr(request, "user", None))
        rates = page_rates()
        if key is None or not rates:
            return None
        wait = rate_take(f"page:{key}", rates)
        if wait is None:
            return None
        seconds = retry_after(wait)
        log.warning("rate limit: %s refused page %s", key, match.view_name)
        response = render(request, "429.html", {"retry_after": seconds}, status=429)
        response["Retry-After"] = str(seconds)
        return response


# Request size -----------------------------------------------------------------------------------


class RequestSizeLimitMiddleware:
    """Refuse with 413 a request whose declared body is larger than `SAFEHUB_MAX_REQUEST_BYTES`,
    before anything reads it: the API in its JSON error shape, pages with a short text. Django
    reads no more than Content-Length declares (a body sent without one is not read at all), so
    the declared length is the size that matters. Keep it above `NOTIFICATION_MAX_BYTES`, so that
    the notification API gives its own, more precise, 413."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = int(_setting("SAFEHUB_MAX_REQUEST_BYTES"))
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if limit and declared > limit:
            log.warning("refused %s %s: a body of %d bytes", request.method, request.path, declared)
            detail = f"The body is larger than {limit} bytes."
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": detail, "code": "too_large"}, status=413)
            return HttpResponse(detail, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
