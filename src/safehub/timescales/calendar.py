"""The working-day calendar every clock in safehub uses.

A working day is Monday to Friday and not an England and Wales bank holiday (statutory.md §1.5,
§8). The bank holidays come from the `holidays` package, corrected by the administrator's
BankHolidayOverride rows. Dates are London dates; every deadline returned is an aware datetime in
UTC, like `core.clock.now()`, so that it compares with the clock directly.

`WorkingCalendar` is the pure arithmetic over a fixed set of overrides. The module functions use
`working_calendar()`, built from the database and rebuilt when the overrides change (one cheap
query per call). A loop over many dates should take `working_calendar()` once and call its
methods.

numpy is not a dependency, so there is no `numpy.busday_offset` bulk variant: a WorkingCalendar
does a million `add_working_days(d, 1)` in about 4 s (against numpy's 0.1 s).
"""

import calendar as _gregorian
import datetime as dt
import enum
import threading
import time
from collections.abc import Mapping
from typing import Any

import holidays
from django.conf import settings
from django.db.models import Count, Max

from safehub.accounts.models import Agency, AgencyKind
from safehub.core.clock import LONDON
from safehub.timescales.models import (
    DEFAULT_SCHOOL_DAY_START,
    BankHolidayOverride,
    SchoolClosure,
    SchoolDayStart,
)

END_OF_DAY = dt.time(23, 59, 59)

# Screening of a contact by its RAG rating (the front door's local policy, statutory.md §1.1 T1
# for amber): red within hours, amber and green by the end of a working day after receipt.
SCREENING_RED_WITHIN = dt.timedelta(hours=4)
SCREENING_WORKING_DAYS = {"amber": 1, "green": 3}

# A school closed for longer than this is a data-entry mistake, not a holiday.
_MAX_SCHOOL_DAYS_AHEAD = 366


class WorkingDayConvention(enum.StrEnum):
    """How `add_working_days(start, n)` counts (statutory.md §1.5, a ❓ in the spec).

    EXCLUSIVE (safehub's default): the start is day 0 and the result is the n-th working day after
    it. INCLUSIVE: the DfE community CIN validator's `start + CustomBusinessDay(n - 1)`: a working
    start day counts as day 1, so the result is one working day earlier.
    """

    EXCLUSIVE = "exclusive"
    INCLUSIVE = "inclusive"


# The package's holidays, by year, Monday to Friday only (the gov.uk list leaves out Boxing Day
# on a Saturday and gives the substitute Monday or Tuesday instead).
_package_lock = threading.Lock()
_package_years: dict[int, dict[dt.date, str]] = {}


def package_bank_holidays(year: int) -> dict[dt.date, str]:
    """England and Wales bank holidays in `year` according to the `holidays` package alone,
    weekdays only, overrides not applied."""
    return dict(_package_year(year))


def _package_year(year: int) -> dict[dt.date, str]:
    # The years either side are computed on the way, for the next question.
    try:
        return _package_years[year]
    except KeyError:
        pass
    with _package_lock:
        if year not in _package_years:
            years = [
                y
                for y in range(year - 1, year + 2)
                if dt.MINYEAR <= y <= dt.MAXYEAR and y not in _package_years
            ]
            found: dict[int, dict[dt.date, str]] = {y: {} for y in years}
            for day, name in holidays.country_holidays("GB", subdiv="ENG", years=years).items():
                if day.weekday() < 5 and day.year in found:
                    found[day.year][day] = name
            _package_years.update(found)
        return _package_years[year]


def _weekdays_up_to(day: dt.date) -> int:
    """How many Mondays to Fridays there are from 1 Jan 1 (a Monday) to `day`, inclusive."""
    weeks, rest = divmod(day.toordinal(), 7)
    return weeks * 5 + min(rest, 5)


def _require_date(day: dt.date) -> None:
    # A datetime is a date too; its own date part is not necessarily the London date.
    if isinstance(day, dt.datetime):
        raise TypeError("pass a date: use london_date() to turn a datetime into one")


def _require_aware(at: dt.datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("need an aware datetime")


class WorkingCalendar:
    """Working days in England and Wales with a fixed set of overrides.

    `overrides` maps a date to True (a bank holiday the package lacks) or False (a package
    holiday that is not one); `names` optionally names the added holidays.
    """

    def __init__(
        self,
        overrides: Mapping[dt.date, bool] | None = None,
        names: Mapping[dt.date, str] | None = None,
    ) -> None:
        self._overrides = dict(overrides or {})
        self._names = dict(names or {})
        self._years: dict[int, dict[dt.date, str]] = {}

    def is_bank_holiday(self, day: dt.date) -> bool:
        override = self._overrides.get(day)
        if override is not None:
            return override
        return day in _package_year(day.year)

    def is_working_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and not self.is_bank_holiday(day)

    def bank_holidays(self, year: int) -> dict[dt.date, str]:
        """The bank holidays on weekdays in `year`, in date order, with their names."""
        return dict(self._bank_holidays(year))

    def _bank_holidays(self, year: int) -> dict[dt.date, str]:
        if year not in self._years:
            days = package_bank_holidays(year)
            for day, is_holiday in self._overrides.items():
                if day.year != year or day.weekday() >= 5:
                    continue
                if is_holiday:
                    days[day] = self._names.get(day) or days.get(day) or "Bank holiday"
                else:
                    days.pop(day, None)
            self._years[year] = dict(sorted(days.items()))
        return self._years[year]

    def add_working_days(
        self,
        start: dt.date,
        n: int,
        *,
        convention: WorkingDayConvention | str = WorkingDayConvention.EXCLUSIVE,
    ) -> dt.date:
        """The n-th working day after `start` (exclusive), or the validator's one day stricter
        count (inclusive, n ≥ 1). A negative n counts back (exclusive only)."""
        _require_date(start)
        convention = WorkingDayConvention(convention)
        if convention is WorkingDayConvention.EXCLUSIVE:
            return self._step(start, n)
        if n < 1:
            raise ValueError("the inclusive convention counts from 1 working day")
        # pandas' CustomBusinessDay(n - 1): from a working day, n - 1 steps; from a weekend or
        # holiday, rolling onto the next working day is itself the first step.
        due = self._step(start, n - 1)
        while not self.is_working_day(due):
            due += dt.timedelta(days=1)
        return due

    def _step(self, day: dt.date, n: int) -> dt.date:
        one = dt.timedelta(days=1 if n >= 0 else -1)
        for _ in range(abs(n)):
            day += one
            while not self.is_working_day(day):
                day += one
        return day

    def working_days_between(self, a: dt.date, b: dt.date) -> int:
        """The working days after `a` up to and including `b`: the n for which
        `add_working_days(a, n)` is `b` when `b` is a working day. Negative when b is before a."""
        _require_date(a)
        _require_date(b)
        if b < a:
            return -self.working_days_between(b, a)
        holidays_in_range = sum(
            1
            for year in range(a.year, b.year + 1)
            for day in self._bank_holidays(year)
            if a < day <= b
        )
        return _weekdays_up_to(b) - _weekdays_up_to(a) - holidays_in_range


# The calendar built from the database, with the token that says which overrides it holds.
_cache_lock = threading.Lock()
_cached: tuple[tuple[int, dt.datetime | None], WorkingCalendar] | None = None


def _overrides_token() -> tuple[int, dt.datetime | None]:
    # Adding or deleting a row changes the count; changing one moves the latest updated_at.
    found = BankHolidayOverride.objects.aggregate(count=Count("pk"), latest=Max("updated_at"))
    return found["count"], found["latest"]


_checked_at = 0.0


def _fresh_enough(checked_at: float) -> bool:
    """Whether a per-process copy checked at `checked_at` may be used without asking the
    database again: for `SAFEHUB_REFERENCE_CACHE_SECONDS` (0, as in tests: always ask)."""
    ttl = settings.SAFEHUB_REFERENCE_CACHE_SECONDS
    return ttl > 0 and time.monotonic() - checked_at < ttl


def working_calendar() -> WorkingCalendar:
    """The calendar with the overrides in the database now (or, where the process keeps
    reference data in memory, as of at most `SAFEHUB_REFERENCE_CACHE_SECONDS` ago)."""
    global _cached, _checked_at
    cached = _cached
    if cached is not None and _fresh_enough(_checked_at):
        return cached[1]
    token = _overrides_token()
    if cached is not None and cached[0] == token:
        _checked_at = time.monotonic()
        return cached[1]
    with _cache_lock:
        _checked_at = time.monotonic()
        rows = list(BankHolidayOverride.objects.values_list("date", "is_holiday", "name"))
        calendar = WorkingCalendar(
            {day: is_holiday for day, is_holiday, _ in rows},
            {day: name for day, _, name in rows if name},
        )
        _cached = (token, calendar)
    return calendar


def calendar_reset() -> None:
    """Forget the cached calendar and schools' days; the next call reads them again."""
    global _cached
    _cached = None
    _school_days.clear()


def is_bank_holiday(d: dt.date) -> bool:
    _require_date(d)
    return working_calendar().is_bank_holiday(d)


def is_working_day(d: dt.date) -> bool:
    _require_date(d)
    return working_calendar().is_working_day(d)


def bank_holidays(year: int) -> dict[dt.date, str]:
    """England and Wales bank holidays on weekdays in `year`, overrides applied."""
    return working_calendar().bank_holidays(year)


def add_working_days(
    start: dt.date,
    n: int,
    *,
    convention: WorkingDayConvention | str = WorkingDayConvention.EXCLUSIVE,
) -> dt.date:
    """The n-th working day after `start` (start = day 0); see WorkingDayConvention."""
    return working_calendar().add_working_days(start, n, convention=convention)


def working_days_between(a: dt.date, b: dt.date) -> int:
    """Working days from `a` to `b` for reporting: those after a, up to and including b."""
    return working_calendar().working_days_between(a, b)


def london_date(at: dt.datetime) -> dt.date:
    """The date in London at the instant `at`."""
    _require_aware(at)
    return at.astimezone(LONDON).date()


def end_of_working_day(d: dt.date) -> dt.datetime:
    """23:59:59 London time on `d`, in UTC (22:59:59Z in summer, 23:59:59Z in winter)."""
    _require_date(d)
    return dt.datetime.combine(d, END_OF_DAY, tzinfo=LONDON).astimezone(dt.UTC)


def working_days_due(
    start: dt.datetime | dt.date,
    n: int,
    *,
    convention: WorkingDayConvention | str = WorkingDayConvention.EXCLUSIVE,
) -> dt.datetime:
    """The end of the n-th working day after `start`'s London date."""
    day = london_date(start) if isinstance(start, dt.datetime) else start
    return end_of_working_day(add_working_days(day, n, convention=convention))


def screening_due(received_at: dt.datetime, rag: str) -> dt.datetime:
    """When a contact rated `rag` must be screened: red four hours after receipt, by the clock
    (not the wall: the hours of a change to or from summer time count once); amber by the end of
    the first working day after the London day of receipt; green by the end of the third."""
    _require_aware(received_at)
    rating = rag.strip().lower()
    if rating == "red":
        return received_at.astimezone(dt.UTC) + SCREENING_RED_WITHIN
    if rating in SCREENING_WORKING_DAYS:
        return working_days_due(received_at, SCREENING_WORKING_DAYS[rating])
    raise ValueError(f"unknown RAG rating {rag!r}: expected red, amber or green")


def add_calendar_months(d: dt.date, n: int) -> dt.date:
    """The same day n months later, or the last day of that month if it is shorter
    (30 Nov + 3 months = 28 Feb, or 29 Feb in a leap year). For T5 and T6 (❓ convention)."""
    _require_date(d)
    year, month0 = divmod(d.year * 12 + d.month - 1 + n, 12)
    last_day = _gregorian.monthrange(year, month0 + 1)[1]
    return d.replace(year=year, month=month0 + 1, day=min(d.day, last_day))


def _require_school(school: Agency | None) -> None:
    if school is not None and school.kind != AgencyKind.SCHOOL:
        raise ValueError(f"{school} is not a school")


# Each school's start time and closures, per process, for `SAFEHUB_REFERENCE_CACHE_SECONDS`.
_school_days: dict[Any, tuple[float, dt.time, list[tuple[dt.date, dt.date]]]] = {}


def _school_days_of(school: Agency) -> tuple[dt.time, list[tuple[dt.date, dt.date]]]:
    found = _school_days.get(school.pk)
    if found is not None and _fresh_enough(found[0]):
        return found[1], found[2]
    starts_at = (
        SchoolDayStart.objects.filter(school=school).values_list("starts_at", flat=True).first()
    )
    closures = list(
        SchoolClosure.objects.filter(school=school)
        .order_by("first_day")
        .values_list("first_day", "last_day")
    )
    start = starts_at if starts_at is not None else DEFAULT_SCHOOL_DAY_START
    _school_days[school.pk] = (time.monotonic(), start, closures)
    return start, closures


def school_day_start(school: Agency | None) -> dt.time:
    """When `school`'s day starts, London time (the default for no school or no row)."""
    _require_school(school)
    if school is None:
        return DEFAULT_SCHOOL_DAY_START
    return _school_days_of(school)[0]


def is_school_day(d: dt.date, school: Agency | None) -> bool:
    """A working day on which `school` is not closed. With no school, any working day."""
    _require_date(d)
    _require_school(school)
    if not is_working_day(d):
        return False
    if school is None:
        return True
    return not any(first <= d <= last for first, last in _school_days_of(school)[1])


def encompass_due(recorded_at: dt.datetime, school: Agency | None) -> dt.datetime:
    """When an Operation Encompass notification is due: the start of the first school day that
    starts strictly after `recorded_at` (statutory.md §3, "before the start of the next school
    day"). With no school (e.g. a child educated at home), weekdays that are not bank holidays
    and the default start."""
    _require_aware(recorded_at)
    _require_school(school)
    day = london_date(recorded_at)
    if school is None:
        starts_at, closures = DEFAULT_SCHOOL_DAY_START, []
    else:
        starts_at, all_closures = _school_days_of(school)
        closures = [(first, last) for first, last in all_closures if last >= day]
    calendar = working_calendar()
    for _ in range(_MAX_SCHOOL_DAYS_AHEAD):
        if calendar.is_working_day(day) and not any(
            first <= day <= last for first, last in closures
        ):
            start = dt.datetime.combine(day, starts_at, tzinfo=LONDON)
            if start > recorded_at:
                return start.astimezone(dt.UTC)
        day += dt.timedelta(days=1)
    raise ValueError(f"{school} has no school day in the year after {recorded_at:%Y-%m-%d}")
