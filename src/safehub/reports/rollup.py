"""The national dashboard's daily summary: each closed London day's national counts of every
figure, so that the national page adds up a few hundred stored rows instead of counting a
country's records (docs/dashboard.md, "Scale").

Every figure counts what *started* in the period (contacts received, clocks started,
discussions called...), and each thing is counted by what became of it, whatever the period:
so a period's counts are the sums of its days'. `rollup_refresh` counts days with the figures'
own functions (`figures.SOURCES`, for the national scope and a one-day period); the times from
the incident to the hub are kept as how many took each tenth of an hour (what the page shows), so
that medians and 90th percentiles of any period are exact. The national page reads the days
before today from here when every one of them was counted after it ended, and counts today from
the records; a council's or a force's page always counts from the records.

What became of things moves on (a clock met late, a decision signed off): a stored day is as of
its `computed_at`. The worker's sweep (`rollup_sweep`) recounts each of the last 366 days once a
day, newest first, a few seconds a minute; `safehub reports refresh` recounts by hand.
"""

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import Count, Q

from safehub.core import clock
from safehub.reports import figures
from safehub.reports.figures import Counts
from safehub.reports.models import DailyCount, Span
from safehub.reports.scope import MAX_DAYS, Period, national_scope

log = logging.getLogger(__name__)
DAY = dt.timedelta(days=1)
SWEEP_SECONDS = 5.0


def _today(now: dt.datetime) -> dt.date:
    return now.astimezone(clock.LONDON).date()


def _day_end(day: dt.date) -> dt.datetime:
    """The first instant after the London day."""
    return Period(day, day).hi


def _encode(counts: Counts) -> list[Any]:
    """Counts as JSON: [[row key, {count: n, "hist": {leg: [[tenths...], [n...]]}}], ...]."""
    out = []
    for key, values in counts.items():
        v = dict(values)
        if "hist" in v:
            v["hist"] = {leg: [list(h), list(h.values())] for leg, h in v["hist"].items()}
        out.append([list(key) if isinstance(key, tuple) else key, v])
    return out


def _add(total: Counts, rows: list[Any]) -> None:
    """Add encoded counts to `total` (row keys that were tuples are tuples again)."""
    for key, values in rows:
        into = total.setdefault(tuple(key) if isinstance(key, list) else key, {})
        for k, x in values.items():
            if k == "hist":
                hist = into.setdefault("hist", {})
                for leg, (values, ns) in x.items():
                    h = hist.setdefault(leg, {})
                    for value, n in zip(values, ns, strict=True):
                        h[value] = h.get(value, 0) + n
            else:
                into[k] = into.get(k, 0) + x


def _month_last(first: dt.date) -> dt.date:
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - DAY


def _months_within(start: dt.date, last: dt.date) -> list[dt.date]:
    """The first days of the calendar months that lie wholly from `start` to `last`."""
    first = start if start.day == 1 else _month_last(start) + DAY
    months = []
    while _month_last(first) <= last:
        months.append(first)
        first = _month_last(first) + DAY
    return months


def _stored(period: Period, now: dt.datetime) -> dict[str, tuple[int, list[list[Any]]]]:
    """The period's stored counts before today, by source: how many of its days they cover (each
    counted after it ended) and their rows. A whole month's days come as its month's row when
    it was added up after the last of them was counted; otherwise day by day."""

    def load() -> dict[str, tuple[int, list[list[Any]]]]:
        last = min(period.end, _today(now) - DAY)
        if last < period.start:
            return {}
        months = _months_within(period.start, last)
        days: dict[str, dict[dt.date, tuple[int, dt.datetime]]] = {}
        added: dict[str, dict[dt.date, tuple[int, dt.datetime]]] = {}
        for pk, day, span, source, computed_at in DailyCount.objects.filter(
            Q(span=Span.DAY, day__gte=period.start, day__lte=last)
            | Q(span=Span.MONTH, day__in=months)
        ).values_list("pk", "day", "span", "source", "computed_at"):
            if span == Span.MONTH:
                added.setdefault(source, {})[day] = (pk, computed_at)
            elif computed_at >= _day_end(day):
                days.setdefault(source, {})[day] = (pk, computed_at)
        covered: dict[str, int] = {}
        wanted: dict[int, str] = {}
        for source, by_day in days.items():
            covered[source] = len(by_day)
            taken: set[dt.date] = set()
            for first, (pk, computed_at) in added.get(source, {}).items():
                month = [first + dt.timedelta(days=i) for i in range(_month_last(first).day)]
                if all(d in by_day and by_day[d][1] <= computed_at for d in month):
                    wanted[pk] = source
                    taken.update(month)
            wanted.update({pk: source for day, (pk, _) in by_day.items() if day not in taken})
        found: dict[str, tuple[int, list[list[Any]]]] = {s: (n, []) for s, n in covered.items()}
        for pk, rows in DailyCount.objects.filter(pk__in=list(wanted)).values_list("pk", "rows"):
            found[wanted[pk]][1].append(rows)
        return found

    return figures._shared("rollup", (period, now), load)


def rollup_counts(
    source: str, period: Period, now: dt.datetime, live: Callable[[Period], Counts]
) -> Counts | None:
    """The national counts of `source` for the period: the stored days before today (whole
    months added up), and today counted by `live`. None when a day before today is not stored
    (count from the records)."""
    today = _today(now)
    last = min(period.end, today - DAY)
    days = (last - period.start).days + 1 if last >= period.start else 0
    covered, stored = _stored(period, now).get(source, (0, []))
    if covered < days:
        return None
    total: Counts = {}
    for rows in stored:
        _add(total, rows)
    if period.end >= today:
        rest = Period(max(today, period.start), period.end)
        _add(total, _encode(figures._shared(f"{source}-today", (rest, now), lambda: live(rest))))
    return total


def rollup_as_of(period: Period, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the oldest stored day the national page would read for the period was counted
    (None: it reads none, or cannot)."""
    now = now or clock.now()
    last = min(period.end, _today(now) - DAY)
    if last < period.start:
        return None
    stored = {
        day: computed_at
        for day, computed_at in DailyCount.objects.filter(
            day__gte=period.start, day__lte=last, source="rag", span=Span.DAY
        ).values_list("day", "computed_at")
        if computed_at >= _day_end(day)
    }
    if len(stored) < (last - period.start).days + 1:
        return None
    return min(stored.values())


def rollup_refresh(
    *, start: dt.date, end: dt.date, progress: Callable[[dt.date], None] | None = None
) -> int:
    """Count again the national figures of each closed day from `start` to `end` (both
    included; today and later are skipped), each day in one transaction. Returns the days."""
    scope = national_scope()
    done = 0
    day = start
    while day <= end:
        now = clock.now()
        if day >= _today(now):
            break
        period = Period(day, day)
        token = figures._MEMO.set({})
        try:
            rows = {
                name: _encode(source(scope, period, now))
                for name, source in figures.SOURCES.items()
            }
        finally:
            figures._MEMO.reset(token)
        with transaction.atomic():
            for name, encoded in rows.items():
                DailyCount.objects.update_or_create(
                    day=day,
                    source=name,
                    span=Span.DAY,
                    defaults={"rows": encoded, "computed_at": now},
                )
        done += 1
        if progress is not None:
            progress(day)
        day += DAY
    return done


def rollup_months(*, budget: float | None = None) -> int:
    """Add up each whole month of the last 366 closed days whose days are all stored, counted
    after they ended, and counted again since its row was last added up (or that has none),
    newest first, within `budget` seconds if given. Returns the months added up."""
    now = clock.now()
    began = time.monotonic()
    today = _today(now)
    months = _months_within(today - dt.timedelta(days=MAX_DAYS), today - DAY)
    if not months:
        return 0
    rows = DailyCount.objects.filter(day__gte=months[0], day__lte=_month_last(months[-1]))
    latest: dict[tuple[dt.date, str], dt.datetime] = {}
    complete: dict[tuple[dt.date, str], int] = {}
    for day, source, computed_at in rows.filter(span=Span.DAY).values_list(
        "day", "source", "computed_at"
    ):
        key = (day.replace(day=1), source)
        if computed_at >= _day_end(day):
            complete[key] = complete.get(key, 0) + 1
            latest[key] = max(latest.get(key, computed_at), computed_at)
    added = dict(
        ((day, source), computed_at)
        for day, source, computed_at in rows.filter(span=Span.MONTH).values_list(
            "day", "source", "computed_at"
        )
    )
    done = 0
    for first in reversed(months):
        if budget is not None and time.monotonic() - began >= budget:
            break
        stale = [
            source
            for source in figures.SOURCES
            if complete.get((first, source)) == _month_last(first).day
            and added.get((first, source), dt.datetime.min.replace(tzinfo=dt.UTC))
            < latest[(first, source)]
        ]
        if not stale:
            continue
        with transaction.atomic():
            for source in stale:
                total: Counts = {}
                for day_rows in DailyCount.objects.filter(
                    span=Span.DAY, source=source, day__gte=first, day__lte=_month_last(first)
                ).values_list("rows", flat=True):
                    _add(total, day_rows)
                DailyCount.objects.update_or_create(
                    day=first,
                    source=source,
                    span=Span.MONTH,
                    defaults={"rows": _encode(total), "computed_at": clock.now()},
                )
        done += 1
    return done


def rollup_sweep(*, budget: float = SWEEP_SECONDS) -> str:
    """Once a day, each of the last 366 closed days, newest first, for at most `budget` seconds
    a call (the worker calls it every minute): the days not yet counted since today began; once
    they all are, the months whose days were counted again are added up."""
    now = clock.now()
    today = _today(now)
    began = time.monotonic()
    first = today - dt.timedelta(days=MAX_DAYS)
    fresh = set(
        DailyCount.objects.filter(
            span=Span.DAY, day__gte=first, computed_at__gte=Period(today, today).lo
        )
        .values("day")
        .annotate(n=Count("id"))
        .filter(n=len(figures.SOURCES))
        .values_list("day", flat=True)
    )
    done = 0
    day = today - DAY
    while day >= first and time.monotonic() - began < budget:
        if day not in fresh:
            done += rollup_refresh(start=day, end=day)
        day -= DAY
    counted = f"{done} days counted"
    left = budget - (time.monotonic() - began)
    if day < first and left > 0:  # every day of the window counted today
        months = rollup_months(budget=left)
        if months:
            counted += f", {months} months added up"
    return counted
