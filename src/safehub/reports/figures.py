"""The performance dashboard's figures: pure reads taking a scope and a period, returning tables.

Every figure is a `Figure`: rows (a council, a force, an agency) of named columns, and a total.
The page draws its chart from it, shows it as a table, writes it as CSV and links its counts to
the contacts behind them (`drill_contacts`, which selects exactly what the count counted). The
definitions are in docs/dashboard.md; in short, a figure counts what *started* in the period:

- contacts received, clocks started, strategy discussions called, section 47 enquiries started,
  assessments started (DfE clock) or referred (Working Together's clock).

Counting happens in the database (conditional aggregation, grouped by council) so that the cost
grows with the number of councils, not of contacts. Medians and 90th percentiles are the nearest
rank (the value at position ceil(q·n) of the sorted values): PostgreSQL computes them with
`percentile_disc`; on SQLite the durations of the period are fetched and ranked in Python.
"""

import datetime as dt
import math
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, connections
from django.db.models import (
    Aggregate,
    BooleanField,
    Count,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.expressions import RawSQL

from safehub.accounts.models import Agency
from safehub.casework.models import Assessment, Section47
from safehub.core import clock
from safehub.intake.models import Notification
from safehub.meetings.models import (
    DiscussionChild,
    DiscussionStatus,
    InformationRequest,
    Participant,
    ParticipantRole,
    RequestStatus,
    StrategyDiscussion,
)
from safehub.referrals.models import Contact, Decision, SignOff
from safehub.reports.scope import COUNCIL, FORCE, Period, Scope
from safehub.timescales.calendar import working_calendar
from safehub.timescales.models import Clock, ClockKind, ClockState

HOUR = 3600.0
# The bands of the time from the incident to the hub's receipt: [low, high) in hours.
BANDS: list[tuple[str, str, float, float]] = [
    ("under_1h", "Under 1 hour", -math.inf, 1),
    ("1_4h", "1 to 4 hours", 1, 4),
    ("4_12h", "4 to 12 hours", 4, 12),
    ("12_24h", "12 to 24 hours", 12, 24),
    ("1_2d", "1 to 2 days", 24, 48),
    ("2_7d", "2 to 7 days", 48, 168),
    ("7d_plus", "7 days or more", 168, math.inf),
]
RE_REFERRAL_WINDOW = dt.timedelta(days=365)


# --- What a figure is ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "count"  # count, rate (0..1), hours, text
    series: str = ""  # its colour in the chart's stacked bar, when it is one of the parts
    drill: bool = False  # a count of contacts that `drill_contacts` can list


@dataclass
class Row:
    key: str  # a council's LA code, a force's code, an agency's code, or "total"
    label: str
    values: dict[str, Any] = field(default_factory=dict)
    council: str = ""  # the LA code whose contacts a drill-down from this row lists


@dataclass
class Figure:
    slug: str
    title: str
    summary: str  # what counts, in one or two sentences
    row_heading: str
    columns: list[Column]
    rows: list[Row]
    total: Row | None = None
    chart: str = "stacked"  # "stacked": the series columns; or a column key: one bar per row
    headline: str = ""

    @property
    def series(self) -> list[Column]:
        return [c for c in self.columns if c.series]

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def value(self, key: str, row: str = "total") -> Any:
        """A value, from the total row or the row with that key (for tests and the API)."""
        found = self.total if row == "total" else next(r for r in self.rows if r.key == row)
        assert found is not None
        return found.values.get(key)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _pct(rate: float | None) -> str:
    return "no cases" if rate is None else f"{rate * 100:.0f}%"


def nearest_rank(values: list[float], q: float) -> float | None:
    """The nearest-rank q-quantile: the value at position ceil(q·n) of the sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# --- Database helpers ----------------------------------------------------------------------------


class Seconds(Func):
    """The seconds from the first datetime to the second, on PostgreSQL and SQLite."""

    output_field = FloatField()

    def __init__(self, start: Any, end: Any) -> None:
        super().__init__(end, start)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(
            compiler,
            connection,
            template="EXTRACT(EPOCH FROM (%(expressions)s))",
            arg_joiner=" - ",
            **extra,
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        # julianday() keeps milliseconds; rounding to them keeps a band's edge exact.
        return super().as_sql(
            compiler,
            connection,
            template="ROUND((julianday(%(expressions)s)) * 86400.0, 3)",
            arg_joiner=") - julianday(",
            **extra_context,
        )


class PercentileDisc(Aggregate):
    """PostgreSQL's nearest-rank percentile of an ordered set."""

    function = "PERCENTILE_DISC"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def _postgres() -> bool:
    return connection.vendor == "postgresql"


# --- What the figures of one page share ----------------------------------------------------------
#
# Several figures read the same rows: the receipt times (by council, and in bands), the three
# clock figures (one query for the three kinds), the re-referrals (the period's referrals, for
# the figure and its drill-down), the daily summary's days. `figures_compute` computes each of
# these once for the page; a figure computed alone (a CSV download) computes what it needs.

_MEMO: ContextVar[dict[Any, Any] | None] = ContextVar("reports_figures_memo", default=None)


_MEMO_LOCK = threading.Lock()


def _shared[T](name: str, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    memo = _MEMO.get()
    if memo is None:
        return compute()
    # The page's figures may be computed in two threads (`figures_compute`): the first to need a
    # shared read computes it while the other waits for it, rather than both reading it.
    with _MEMO_LOCK:
        lock = memo.setdefault(("lock", name, *key), threading.RLock())
    with lock:
        if (name, *key) not in memo:
            memo[(name, *key)] = compute()
        return memo[(name, *key)]  # type: ignore[no-any-return]


def _copy(counts: dict[Any, dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """A figure's own copy of shared counts (figures add their rates to the rows)."""
    return {k: dict(v) for k, v in counts.items()}


Counts = dict[Any, dict[str, Any]]
Source = Callable[[Scope, Period, dt.datetime], Counts]


def _counts(source: str, scope: Scope, period: Period, now: dt.datetime) -> Counts:
    """A figure's counts by row (council, force, kind of agency): nationally from the daily
    summary for the days before today when it holds them all (safehub.reports.rollup), with
    today's counted live; otherwise counted from the records of the period."""
    live = SOURCES.get(source) or _OWN_SOURCES[source]
    if scope.is_national:
        from safehub.reports.rollup import rollup_counts

        found = rollup_counts(source, period, now, lambda p: live(scope, p, now))
        if found is not None:
            return found
    return _copy(_shared(source, (scope, period, now), lambda: live(scope, period, now)))


def _pk_in(model: Any, ids: list[Any]) -> Any:
    """A filter on `model`'s key being one of `ids`: on PostgreSQL one array parameter (Django
    prepares thousands of `IN` parameters one by one, which costs more than the query)."""
    if not _postgres():
        return Q(pk__in=ids)
    table, column = model._meta.db_table, model._meta.pk.column
    return RawSQL(f'"{table}"."{column}" = ANY(%s)', (ids,), BooleanField())  # noqa: S611


def _councils(ids: Iterable[int | None]) -> dict[int, Agency]:
    wanted = {i for i in ids if i is not None}
    return {a.pk: a for a in Agency.objects.filter(pk__in=wanted)}


def _council_rows(
    counts: dict[int, dict[str, Any]],
    keys: list[str],
    finish: Callable[[dict[str, Any]], None],
    scope: Scope,
) -> tuple[list[Row], Row]:
    """One row per council (by name), every council of the scope included even with nothing to
    count, and the total of the counts `keys`; `finish` adds the rates to each."""
    ids = set(counts)
    if scope.council is not None:
        ids.add(scope.council.pk)
    ids.update(scope.council_ids)
    agencies = _councils(ids)
    rows = []
    total = Row("total", "Total", {k: 0 for k in keys})
    for pk in sorted(ids, key=lambda i: agencies[i].name if i in agencies else ""):
        agency = agencies.get(pk)
        if agency is None:
            continue
        found = counts.get(pk, {})
        values = {k: int(found.get(k) or 0) for k in keys}
        for k in keys:
            total.values[k] += values[k]
        # What is not a count (a median of the row) is kept as it is.
        values |= {k: v for k, v in found.items() if k not in keys}
        finish(values)
        rows.append(Row(agency.code, agency.name, values, council=agency.la_code or ""))
    finish(total.values)
    return rows, total


def _grouped(qs: QuerySet[Any], group: str, **aggregates: Any) -> dict[int, dict[str, Any]]:
    return {
        row.pop(group): row
        for row in qs.order_by().values(group).annotate(**aggregates).order_by()
        if row[group] is not None
    }


# --- Contacts by RAG -----------------------------------------------------------------------------

RAG_SERIES = [("red", "Red", "red"), ("amber", "Amber", "orange"), ("green", "Green", "green")]


def _contacts(scope: Scope, period: Period) -> QuerySet[Contact]:
    return Contact.objects.filter(
        scope.contacts_q(), received_at__gte=period.lo, received_at__lt=period.hi
    )


def _rag_counts(scope: Scope, period: Period, now: dt.datetime) -> Counts:
    return _grouped(
        _contacts(scope, period),
        "local_authority",
        red=Count("pk", filter=Q(rag="red")),
        amber=Count("pk", filter=Q(rag="amber")),
        green=Count("pk", filter=Q(rag="green")),
        not_rated=Count("pk", filter=Q(rag="")),
        contacts=Count("pk"),
    )


def rag_figure(*, scope: Scope, period: Period, now: dt.datetime) -> Figure:
    counts = _counts("rag", scope, period, now)
    keys = ["contacts", "red", "amber", "green", "not_rated"]

    def finish(v: dict[str, Any]) -> None:
        v["red_rate"] = _rate(v["red"], v["contacts"])

    rows, total = _council_rows(counts, keys, finish, scope)
    columns = [
        Column("contacts", "Contacts", drill=True),
        *(Column(k, label, series=colour, drill=True) for k, label, colour in RAG_SERIES),
        Column("not_rated", "Not rated", series="grey", drill=True),
        Column("red_rate", "Share red", kind="rate"),
    ]
    return Figure(
        "rag",
        "Contacts by RAG rating",
        "Contacts (one per child) received in the period, by the rating triage gave them. "
        "Manual contacts are not rated.",
        "Council",
        columns,
        rows,
        total,
        headline=f"{total.values['contacts']} contacts, {total.values['red']} rated red",
    )


def _rag_drill(scope: Scope, period: Period, measure: str, now: dt.datetime) -> QuerySet[Contact]:
    qs = _contacts(scope, period)
    rags = {"red": "red", "amber": "amber", "green": "green", "not_rated": ""}
    if measure == "contacts":
        return qs
    return qs.filter(rag=rags[measure])


# --- Clocks: screening, referral decision, Operation Encompass -----------------------------------

CLOCK_SERIES = [
    ("on_time", "Met on time", "green"),
    ("late", "Met late", "orange"),
    ("overdue", "Not met, overdue", "red"),
    ("waiting", "Not met, not yet due", "grey"),
]


CLOCK_KINDS = (ClockKind.SCREENING, ClockKind.REFERRAL_DECISION, ClockKind.ENCOMPASS)


def _clocks_q(scope: Scope) -> Q:
    """The clocks of the contacts in scope. A clock carries its contact's council (kept equal to
    it), so a council's clocks are one range of the index on (local_authority, kind, started_at)
    and the national ones need no contact; only a force's still meet their notification."""
    if scope.kind == COUNCIL:
        return Q(local_authority=scope.council)
    if scope.kind == FORCE:
        return Q(contact__notification__force=scope.force, local_authority__isnull=False)
    return Q(local_authority__isnull=False)


def _clocks(kinds: Iterable[str], scope: Scope, period: Period) -> QuerySet[Clock]:
    return Clock.objects.filter(
        _clocks_q(scope),
        kind__in=list(kinds),
        started_at__gte=period.lo,
        started_at__lt=period.hi,
    ).exclude(state=ClockState.STOPPED)


def _clock_q(measure: str, now: dt.datetime) -> Q:
    return {
        "clocks": Q(),
        "on_time": Q(met_at__isnull=False, met_at__lte=F("due_at")),
        "late": Q(met_at__isnull=False, met_at__gt=F("due_at")),
        "overdue": Q(met_at__isnull=True, due_at__lt=now),
        "waiting": Q(met_at__isnull=True, due_at__gte=now),
    }[measure]


def _clock_figure(
    kind: str,
    *,
    slug: str,
    title: str,
    summary: str,
    scope: Scope,
    period: Period,
    now: dt.datetime,
    labels: dict[str, str] | None = None,
) -> Figure:
    keys = ["clocks", *(k for k, _, _ in CLOCK_SERIES)]
    counts = {
        council: v for (k, council), v in _counts("clocks", scope, period, now).items() if k == kind
    }

    def finish(v: dict[str, Any]) -> None:
        v["on_time_rate"] = _rate(v["on_time"], v["on_time"] + v["late"] + v["overdue"])

    rows, total = _council_rows(counts, keys, finish, scope)
    names = {k: label for k, label, _ in CLOCK_SERIES} | (labels or {})
    columns = [
        Column("clocks", "Started", drill=True),
        *(Column(k, names[k], series=colour, drill=True) for k, _, colour in CLOCK_SERIES),
        Column("on_time_rate", "On time (of those due or met)", kind="rate"),
    ]
    return Figure(
        slug,
        title,
        summary,
        "Council",
        columns,
        rows,
        total,
        headline=f"{_pct(total.values['on_time_rate'])} on time "
        f"({total.values['on_time']} of {total.values['on_time'] + total.values['late']}"
        f" met, {total.values['overdue']} overdue)",
    )


def _clock_counts(scope: Scope, period: Period, now: dt.datetime) -> Counts:
    """The counts of the three clock figures, in one query: (kind, council) → counts. The
    clocks come from an index read alone (`Count("contact")`, not the key, which is not in it):
    a council's from (local_authority, kind, started_at), the nation's from (kind, started_at);
    each counts under the council it carries, its contact's."""
    keys = ["clocks", *(k for k, _, _ in CLOCK_SERIES)]
    found: Counts = {}
    for row in (
        _clocks(CLOCK_KINDS, scope, period)
        .order_by()
        .values("kind", "local_authority")
        .annotate(**{k: Count("contact", filter=_clock_q(k, now)) for k in keys})
        .order_by()
    ):
        values: dict[str, Any] = dict(row)
        council = values.pop("local_authority")
        if council is not None:
            found[(values.pop("kind"), council)] = values
    return found


def screening_figure(*, scope: Scope, period: Period, now: dt.datetime) -> Figure:
    return _clock_figure(
        ClockKind.SCREENING,
        slug="screening",
        title="Screening decisions within their RAG deadline",
        summary="The screening clock of each contact received in the period (red 4 hours, amber "
        "and green by the end of a working day, as the triage policy says): met on time when "
        "the decision was made by its deadline. A returned decision's clock runs again.",
        scope=scope,
        period=period,
        now=now,
        labels={"on_time": "Decided on time", "late": "Decided late"},
    )


def referral_decision_figure(*, scope: Scope, period: Period, now: dt.datetime) -> Figure:
    return _clock_figure(
        ClockKind.REFERRAL_DECISION,
        slug="referral_decision",
        title="Referral decisions within one working day",
        summary="The referral decision clock, started by a decision that makes a referral "
        "(assessment, section 47 or already open) in the period and met by the manager's "
        "sign-off: on time by the end of the next working day (Working Together).",
        scope=scope,
        period=period,
        now=now,
        labels={"on_time": "Signed off on time", "late": "Signed off late"},
    )


def encompass_figure(*, scope: Scope, period: Period, now: dt.datetime) -> Figure:
    return _clock_figure(
        ClockKind.ENCOMPASS,
        slug="encompass",
        title="Operation Encompass notices sent before the school day began",
        summary="The Encompass clock of each child of school age whose incident the police "
        "recorded in the period: met when the notice reached the school (or was acknowledged) "
        "before the start of the school's next school day.",
        scope=scope,
        period=period,
        now=now,
        labels={"on_time": "Sent before the school day", "late": "Sent after it began"},
    )


def _clock_drill(kind: str) -> Callable[[Scope, Period, str, dt.datetime], QuerySet[Contact]]:
    def drill(scope: Scope, period: Period, measure: str, now: dt.datetime) -> QuerySet[Contact]:
        clocks = _clocks([kind], scope, period).filter(_clock_q(measure, now))
        return Contact.objects.filter(pk__in=clocks.values("contact_id"))

    return drill


# --- Contacts that became referrals --------------------------------------------------------------


def _signed_off() -> QuerySet[Decision]:
    return Decision.objects.filter(contact=OuterRef("pk"), sign_off=SignOff.SIGNED_OFF)


def _with_decisions(qs: QuerySet[Contact]) -> QuerySet[Contact]:
    return qs.annotate(
        decided=Exists(_signed_off()),
        referral=Exists(_signed_off().filter(became_referral=True)),
    )


def _conversion_counts(scope: Scope, period: Period, now: dt.datetime) -> Counts:

    # Each EXISTS is an index-only probe of the signed-off decisions' partial index
    # (referrals.Decision "decision_signed_off_contact").
    return _grouped(
        _with_decisions(_contacts(scope, period)),
        "local_authority",
        contacts=Count("pk"),
        decided=Count("pk", filter=Q(decided=True)),
        referrals=Count("pk", filter=Q(referral=True)),
    )


def conversion_figure(*, scope: Scope, period: Period, now: dt.datetime) -> Figure:
    counts = _counts("conversion", scope, period, now)
    for v in counts.values():
        v["not_referred"] = v["decided"] - v["referrals"]
        v["undecided"] = v["contacts"] - v["decided"]
    keys = ["contacts", "decided", "referrals", "not_referred", "undecided"]

    def finish(v: dict[str, Any]) -> None:
        v["referral_rate"] = _rate(v["referrals"], v["decided"])
        v["referral_rate_all"] = _rate(v["referrals"], v["contacts"])

    rows, total = _council_rows(counts, keys, finish, scope)
    columns = [
        Column("contacts", "Contacts", drill=True),
        Column("decided", "Decided and signed off", drill=True),
        Column("referrals", "Became referrals", series="blue", drill=True),
        Column("not_referred", "Did not", series="light-blue", drill=True),
        Column("undecided", "Not decided yet", series="grey", drill=True),
        Column("referral_rate", "Referrals of decided", kind="rate"),
        Column("referral_rate_all", "Referrals of all contacts", kind="rate"),
    ]
    return Figure(
        "conversion",
        "Contacts that became referrals",
        "Contacts received in the period whose decision, signed off by a manager, made a "
        "referral to children's social care (assessment, section 47, or already open). The "
        "share is of the contacts decided and signed off; the share of all contacts is beside it.",
        "Council",
        columns,
        rows,
        total,
        headline=f"{_pct(total.values['referral_rate'])} of decided contacts became referrals",
    )


def _conversion_drill(
    scope: Scope, period: Period, measure: str, now: dt.datetime
) -> QuerySet[Contact]:
    qs = _with_decisions(_contacts(scope, period))
    return {
        "contacts": qs,
        "decided": qs.filter(Q(decided=True)),
        "referrals": qs.filter(Q(referral=True)),
        "not_referred": qs.filter(Q(decided=True, referral=False)),
        "undecided": qs.filter(Q(decided=False)),
    }[measure]


# --- Re-referrals within 12 months ---------------------------------------------------------------


def rereferrals(scope: Scope, period: Period) -> tuple[dict[Any, int], set[Any]]:
    """The referrals of the period (contact id → council id) and those that are re-referrals:
    the same child (exact key: normalised names and date of birth) had another referral to the
    same council received in the 365 days before."""
    return _shared("rereferrals", (scope, period), lambda: _rereferrals(scope, period))


def _rereferrals(scope: Scope, period: Period) -> tuple[dict[Any, int], set[Any]]:
    # For each referral of the period, one probe of the council's contacts of the same child
    # in the year before it (index "contact_council_child"), each asked of the signed-off
    # decisions' partial index whether it made a referral. A child with no date of birth has no
    # key, and is never a re-referral.
    earlier = (
        Contact.objects.filter(
            local_authority_id=OuterRef("local_authority_id"),
            child_key=OuterRef("child_key"),
            received_at__gte=OuterRef("received_at") - RE_REFERRAL_WINDOW,
            received_at__lt=OuterRef("received_at"),
        )
        .exclude(child_key="")
        .filter(Exists(_signed_off().filter(became_referral=True)))
    )
    rows = (
        _with_decisions(_contacts(scope, period))
        .filter(Q(referral=True))
        .annotate(again=Exists(earlier))
        .values_list("pk", "local_authority_id", "again")
    )
    referrals, again = {}, set()
    for pk, council, is_again in rows:
        referrals[pk] = council
        if is_again:
            again.add(pk)
    return referrals, again


def _rereferral_counts(scope: Scope, period: Period, now: dt.datetime) -> Counts:
    referrals, again = rereferrals(scope, period)
    counts: Counts = {}
    for pk, council in referrals.items():
        v = counts.setdefault(council, {"referrals": 0, "rereferrals": 0, "first": 0})
        v["referrals"] += 1
        v["rereferrals" if pk in again else "first"] += 1
    return counts


def rereferral_figure(*, scope: Scope, period: Period, now: dt.datetime) -> Figure:
    counts = _counts("rereferral", scope, period, now)
    keys = ["referrals", "rereferrals", "first"]

    def finish(v: dict[str, Any]) -> None:
        v["rereferral_rate"] = _rate(v["rereferrals"], v["referrals"])

    rows, total = _council_rows(counts, keys, finish, scope)
    columns = [
        Column("referrals", "Referrals", drill=True),
        Column("rereferrals", "Re-referrals within 12 months", series="purple", drill=True),
        Column("first", "No referral in the 12 months before", series="light-blue", drill=True),
        Column("rereferral_rate", "Share re-referred", kind="rate"),
    ]
    return Figure(
        "rereferral",
        "Re-referrals within 12 months",
        "Referrals (contacts received in the period that became referrals) of a child who had "
        "another referral to the same council received in the 365 days before. Until the "
        "person index links records, the same child is an exact match of normalised names and "
        "date of birth; a child without a date of birth is never a re-referral.",
        "Council",
        columns,
        rows,
        total,
        headline=f"{_pct(total.values['rereferral_rate'])} of referrals were re-referrals",
    )


def _rereferral_drill(
    scope: Scope, period: Period, measure: str, now: dt.datetime
) -> QuerySet[Contact]:
    referrals, again = rereferrals(scope, period)
    wanted = {
        "referrals": set(referrals),
        "rereferrals": again,
        "first": set(referrals) - again,
    }[measure]
    return Contact.objects.filter(pk__in=wanted)


# --- Time from the incident to the hub -----------------------------------------------------------

LEGS = [
    ("recording", "incident to police record", "occurred_at", "recorded_at"),
    ("sending", "police record to the hub", "recorded_at", "received_at"),
    ("overall", "incident to the hub", "occurred_at", "received_at"),
]


def _band_q(key: str, field_name: str) -> Q:
    _, _, low, high = next(b for b in BANDS if b[0] == key)
    q = Q()
    if low != -math.inf:
        q &= Q(**{f"{field_name}__gte": low * HOUR})
    if high != math.inf:
        q &= Q(**{f"{field_name}__lt": high * HOUR})
    return q


def _receipt_stats(qs: QuerySet[Any], group: str, prefix: str) -> dict[Any, dict[str, Any]]:
    """Per group: the count, the bands of the overall time, and the median and 90th percentile of
    each leg, in hours (one query on PostgreSQL; on SQLite the durations are ranked here)."""
    annotated = qs.annotate(
        **{
            f"secs_{leg}": Seconds(F(f"{prefix}{start}"), F(f"{prefix}{end}"))
            for leg, _, start, end in LEGS
        }
    )
    aggregates: dict[str, Any] = {
        "count": Count("pk"),
        "within_24h": Count("pk", filter=Q(secs_overall__lt=24 * HOUR)),
        **{key: Count("pk", filter=_band_q(key, "secs_overall")) for key, *_ in BANDS},
    }
    if _postgres():
        aggregates |= {
            f"{stat}_{leg}": PercentileDisc(f"secs_{leg}", q)
            for leg, *_ in LEGS
            for stat, q in (("median", 0.5), ("p90", 0.9))
        }
    counts = {
        row.pop(group): row
        for row in annotated.order_by().values(group).annotate(**aggregates).order_by()
        if row[group] is not None
    }
    if not _postgres():
        values: dict[Any, dict[str, list[float]]] = {}
        for row in annotated.values_list(group, *(f"secs_{leg}" for leg, *_ in LEGS)):
            by_leg = values.setdefault(row[0], {leg: [] for leg, *_ in LEGS})
            for (leg, *_), secs in zip(LEGS, row[1:], strict=True):
                by_leg[leg].append(secs)
        for g, by_leg in values.items():
            if g in counts:
                counts[g] |= {
                    f"{stat}_{leg}": nearest_rank(by_leg[leg], q)
                    for leg, *_ in LEGS
                    for stat, q in (("median", 0.5), ("p90", 0.9))
                }
    for v in counts.values():
        for k, secs in v.items():
            if k.startswith(("median_", "p90_")):
                v[k] = None if secs is None else round(float(secs) / HOUR, 1)
    return counts


def _receipt_hist(qs: QuerySet[Any], group: str, prefix: str) -> Counts:
    """Per group the same counts as `_receipt_stats`, and for each leg how many took each number
    of hours as the figure shows them (in tenths of an hour, as integers): the daily summary
    keeps these, and the nearest-rank median of them is the median shown, exactly (rounding
    keeps the order)."""
    counts: Counts = {}
    annotated = qs.annotate(**_receipt_seconds(prefix))
    for g, *secs in annotated.values_list(group, *(f"secs_{leg}" for leg, *_ in LEGS)):
        if g is not None:
            _receipt_add(counts, g, secs)
    return counts


def _receipt_seconds(prefix: str) -> dict[str, Seconds]:
    return {
        f"secs_{leg}": Seconds(F(f"{prefix}{start}"), F(f"{prefix}{end}"))
        for leg, _, start, end in LEGS
    }


_LEG_NAMES = [leg for leg, *_ in LEGS]
_OVERALL = _LEG_NAMES.index("overall")


def _receipt_add(counts: Counts, group: Any, secs: list[Any]) -> None:
    """Count one contact (or notification) with its legs' seconds into its group's row."""
    v = counts.get(group)
    if v is None:
        v = counts[group] = {"count": 0, "within_24h": 0, **{key: 0 for key, *_ in BANDS}}
        v["hist"] = {leg: {} for leg in _LEG_NAMES}
    v["count"] += 1
    overall = secs[_OVERALL]
    if overall is not None:
        v["within_24h"] += int(overall < 24 * HOUR)
        for key, _, low, high in BANDS:
            if low * HOUR <= overall < high * HOUR:
                v[key] += 1
    for leg, value in zip(_LEG_NAMES, secs, strict=True):
        if value is not None:
            tenths = round(round(float(value) / HOUR, 1) * 10)
            v["hist"][leg][tenths] = v["hist"][leg].get(tenths, 0) + 1


def _hist_rank(hist: dict[int, int], q: float) -> float | None:
    """The nearest-rank q-quantile, in hours, of tenths of hours given as {tenths: how many}."""
    n = sum(hist.values())
    if not n:
        return None
    rank, seen = max(1, math.ceil(q * n)), 0
    for value in sorted(hist):
        seen += hist[value]
        if seen >= rank:
            return value / 10
    return None  # not reached


def _from_hist(counts: Counts) -> tuple[Counts, dict[str, Any]]:
    """Counts with histograms → the counts with each row's medians and 90th percentiles, and
    the whole's (from the histograms added together)."""
    whole: dict[str, dict[int, int]] = {leg: {} for leg, *_ in LEGS}
    for v in counts.values():
        hist = v.pop("hist", {})
        for leg, *_ in LEGS:
            for value, n in hist.get(leg, {}).items():
                whole[leg][value] = whole[leg].get(value, 0) + n
            for stat, q in (("median", 0.5), ("p90", 0.9)):
                v[f"{stat}_{leg}"] = _hist_rank(hist.get(leg, {}), q)
    overall = {
        f"{stat}_{leg}": _hist_rank(whole[leg], q)
        for leg, *_ in LEGS
        for stat, q in (("median", 0.5), ("p90", 0.9))
    }
    return counts, overall


def _police_contacts(scope: Scope, period: Period) -> QuerySet[Contact]:
    return _contacts(scope, period).filter(notification__isnull=False)


def _receipt_columns(unit: str) -> list[Column]:
    stats = [
        Column(f"{stat}_{leg}", f"{name.capitalize()}: {stat_label} (hours)", kind="hours")
        for leg, name, *_ in LEGS
        for stat, stat_label in (("median", "median"), ("p90", "90th percentile"))
    ]
    return [
        Column("count", unit, drill=unit == "Contacts"),
        *stats,
        Column("within_24h", "Within 24 hours of the incident", drill=unit == "Contacts"),
        Column("within_24h_rate", "Share within 24 hours", kind="rate"),
    ]


def _receipt_finish(v: dict[str, Any]) -> None:
    v["within_24h_rate"] = _rate(v["within_24h"], v["count"])


def _overall(qs: QuerySet[Any], prefix: str) -> dict[str, Any]:
    """The medians and percentiles of the whole scope (not an average of the rows')."""
    found = _receipt_stats(qs.annotate(everyone=Value(1, IntegerField())), "everyone", prefix)
    return next(iter(found.values()), {})


def _receipt_by_council(
    scope: Scope, period: Period, now: dt.datetime
) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
    """The receipt counts by council, and the whole scope's medians and percentiles (a
    council's are its own row's: no second query; the nation's from the daily summary)."""
    if scope.is_national:
        from safehub.reports.rollup import rollup_counts

        def summed() -> tuple[Counts, dict[str, Any]] | None:
            found = rollup_counts("receipt", period, now, lambda p: _receipt_source(scope, p, now))
            return None if found is None else _from_hist(found)

        national = _shared("receipt-summary", (period, now), summed)
        if national is not None:
            return _copy(national[0]), national[1]

    def compute() -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
        qs = _police_contacts(scope, period)
        counts = _receipt_stats(qs, "local_authority", "notification__")
        if scope.council is not None:
            overall = next(iter(counts.values()), {})
        else:
            overall = _overall(qs, "notification__")
        return counts, {k: v for k, v in overall.items() if k.startswith(("median_", "p90_"))}

    return _shared("receipt", (scope, period), compute)


def receipt_figure(*, scope: Scope, period: Period, now: dt.datetime) -> Figure:
    counts, overall = _receipt_by_council(scope, period, now)
    keys = ["count", "within_24h", *(key for key, *_ in BANDS)]
    rows, total = _council_rows(_copy(counts), keys, _receipt_finish, scope)
    total.values |= overall
    return Figure(
        "receipt",
        "Time from the incident to the police record to the hub, by council",
        "Each police contact (one per child) received in the period: hours from the incident "
        "to the police record of it, from the record to the hub's receipt of the child's "
        "contact, and from the incident to the hub. Median and 90th percentile are the nearest "
        "rank.",
        "Council",
        _receipt_columns("Contacts"),
        rows,
        total,
        chart="within_24h_rate",
        headline=f"{_pct(total.values['within_24h_rate'])} reached the hub within 24 hours of "
        f"the incident (median {_hours(total.values.get('median_overall'))})",
    )


def _hours(value: float | None) -> str:
    return "no cases" if value is None else f"{value:g} hours"


def receipt_bands_figure(*, scope: Scope, period: Period, now: dt.datetime) -> Figure:
    counts, _ = _receipt_by_council(scope, period, now)
    keys = ["count", *(key for key, *_ in BANDS)]
    rows, total = _council_rows(_copy(counts), keys, lambda v: None, scope)
    colours = ["green", "light-green", "turquoise", "blue", "yellow", "orange", "red"]
    columns = [
        Column("count", "Contacts", drill=True),
        *(
            Column(key, label, series=colour, drill=True)
            for (key, label, *_), colour in zip(BANDS, colours, strict=True)
        ),
    ]
    return Figure(
        "receipt_bands",
        "Time from the incident to the hub, in bands",
        "The same police contacts, by how long after the incident their contact reached the hub.",
        "Council",
        columns,
        rows,
        total,
        headline=f"{total.values['count']} police contacts",
    )


def _receipt_drill(
    scope: Scope, period: Period, measure: str, now: dt.datetime
) -> QuerySet[Contact]:
    qs = _police_contacts(scope, period)
    if measure == "count":
        return qs
    qs = qs.annotate(
        secs_overall=Seconds(F("notification__occurred_at"), F("notification__received_at"))
    )
    if measure == "within_24h":
        return qs.filter(secs_overall__lt=24 * HOUR)
    return qs.filter(_band_q(measure, "secs_overall"))


def _force_notifications(scope: Scope, period: Period) -> QuerySet[Notification]:
    qs = Notification.objects.filter(
        received_at__gte=period.lo, received_at__lt=period.hi, force__isnull=False
    )
    # Only notifications with a child routed to a council in scope (an incident without
    # children, or not yet routed, is no council's contact). A child's contact is received
    # with its notification or later (an amendment's child), never before: the contacts to
    # look at are those received since the period began (an index range of the council's).
    in_scope: Any = Contact.objects.filter(
        scope.contacts_q(), received_at__gte=period.lo, notification__isnull=False
    ).values("notification_id")
    if not scope.is_national:
        # A council's few thousand: by their keys (the planner would scan the period's
        # notifications of the whole country to meet them), as one array on PostgreSQL
        # (thousands of `IN` parameters cost more to prepare than the query takes).
        ids = list({n for (n,) in in_scope.values_list("notification_id")})
        return qs.filter(_pk_in(Notification, ids))
    return qs.filter(pk__in=in_scope)


def _receipt_source(scope: Scope, period: Period, now: dt.datetime) -> Counts:
    return _receipt_hist(_police_contacts(scope, period), "local_authority", "notification__")


def _receipt_force_source(scope: Scope, period: Period, now: dt.datetime) -> Counts:
    return _receipt_hist(_force_notifications(scope, period), "force", "")


def receipt_force_figure(*, scope: Scope, period: Period, now: dt.datetime) -> Figure:
    """By force, each notification once (an incident with three children counts once)."""
    found = None
    if scope.is_national:
        from safehub.reports.rollup import rollup_counts

        found = rollup_counts(
            "receipt_force", period, now, lambda p: _receipt_force_source(scope, p, now)
        )
    if found is not None:
        counts, overall = _from_hist(found)
    else:
        qs = _force_notifications(scope, period)
        counts = _receipt_stats(qs, "force", "")
        # With one force, its row is the whole (no second query).
        overall = next(iter(counts.values()), {}) if len(counts) <= 1 else _overall(qs, "")
    forces = _councils(counts)
    keys = ["count", "within_24h", *(key for key, *_ in BANDS)]
    rows = []
    total = Row("total", "Total", {k: 0 for k in keys})
    for pk in sorted(counts, key=lambda i: forces[i].name):
        v = counts[pk]
        values = {k: int(v.get(k) or 0) for k in keys}
        for k in keys:
            total.values[k] += values[k]
        _receipt_finish(values)
        values |= {k: x for k, x in v.items() if k.startswith(("median_", "p90_"))}
        rows.append(Row(forces[pk].code, forces[pk].name, values))
    _receipt_finish(total.values)
    for k, x in overall.items():
        if k.startswith(("median_", "p90_")):
            total.values[k] = x
    return Figure(
        "receipt_force",
        "Time from the incident to the police record to the hub, by force",
        "Each notification (one per incident, whatever the number of children) the hub received "
        "in the period from a registered force, with a child in scope: the same times, by the "
        "force that sent it, to the notification's first receipt.",
        "Force",
        _receipt_columns("Notifications"),
        rows,
        total,
        chart="within_24h_rate",
        headline=f"{_pct(total.values['within_24h_rate'])} of notifications reached the hub "
        "within 24 hours of the incident",
    )


# --- Strategy discussions (the meetings figures) -------------------------------------------------


DISCUSSION_KEYS = [
    "called",
    "held",
    "held_within_due",
    "held_late",
    "open",
    "open_overdue",
    "cancelled",
    "held_without_statutory_agency",
]


def _national_discussions(
    period: Period, now: dt.datetime, scope: Scope | None = None
) -> dict[int, dict[str, Any]]:
    """The same counts as the meetings figures, grouped in the database for every council (of
    the scope)."""
    held = Q(status=DiscussionStatus.HELD, held_at__isnull=False)
    return _grouped(
        StrategyDiscussion.objects.filter(
            scope.councils_q() if scope is not None else Q(),
            called_at__gte=period.lo,
            called_at__lt=period.hi,
        ),
        "local_authority",
        called=Count("pk"),
        held=Count("pk", filter=held),
        held_within_due=Count("pk", filter=held & Q(held_at__lte=F("due_at"))),
        held_late=Count("pk", filter=held & Q(held_at__gt=F("due_at"))),
        open=Count("pk", filter=~held & ~Q(status=DiscussionStatus.CANCELLED)),
        open_overdue=Count(
            "pk", filter=~held & ~Q(status=DiscussionStatus.CANCELLED) & Q(due_at__lt=now)
        ),
        cancelled=Count("pk", filter=Q(status=DiscussionStatus.CANCELLED)),
        held_without_statutory_agency=Count("pk", filter=held & ~Q(missing_agencies=[])),
    )


def discussions_figure(*, scope: Scope, period: Period, now: dt.datetime) -> Figure:
    counts = _counts("discussions", scope, period, now)

    def finish(v: dict[str, Any]) -> None:
        v["open_in_time"] = v["open"] - v["open_overdue"]
        v["held_within_due_rate"] = _rate(v["held_within_due"], v["held"])

    rows, total = _council_rows(counts, DISCUSSION_KEYS, finish, scope)
    columns = [
        Column("called", "Called", drill=True),
        Column("held", "Held", drill=True),
        Column("held_within_due", "Held within their due time", series="green", drill=True),
        Column("held_late", "Held late", series="orange", drill=True),
        Column("open_overdue", "Not held, overdue", series="red", drill=True),
        Column("open_in_time", "Not held, not yet due", series="grey", drill=True),
        Column("cancelled", "Cancelled", drill=True),
        Column("held_without_statutory_agency", "Held without a statutory agency", drill=True),
        Column("held_within_due_rate", "Held within due (of held)", kind="rate"),
    ]
    return Figure(
        "discussions",
        "Strategy discussions within their due time",
        "Strategy discussions the council called in the period (the meetings figures: every "
        "discussion of the council, whatever the source of the contact), held by the time "
        "they were due (red: the same day; otherwise the policy's working days after the "
        "decision). A number links to the children the discussions were about.",
        "Council",
        columns,
        rows,
        total,
        headline=f"{_pct(total.values['held_within_due_rate'])} of held discussions were held "
        "within their due time",
    )


def _discussion_drill(
    scope: Scope, period: Period, measure: str, now: dt.datetime
) -> QuerySet[Contact]:
    discussions = StrategyDiscussion.objects.filter(
        scope.councils_q(), called_at__gte=period.lo, called_at__lt=period.hi
    )
    held = Q(status=DiscussionStatus.HELD, held_at__isnull=False)
    waiting = ~held & ~Q(status=DiscussionStatus.CANCELLED)
    q = {
        "called": Q(),
        "held": held,
        "held_within_due": held & Q(held_at__lte=F("due_at")),
        "held_late": held & Q(held_at__gt=F("due_at")),
        "open_overdue": waiting & Q(due_at__lt=now),
        "open_in_time": waiting & Q(due_at__gte=now),
        "cancelled": Q(status=DiscussionStatus.CANCELLED),
        "held_without_statutory_agency": held & ~Q(missing_agencies=[]),
    }[measure]
    children = DiscussionChild.objects.filter(discussion__in=discussions.filter(q))
    return Contact.objects.filter(pk__in=children.values("contact_id"))


ATTENDANCE_KEYS = [
    "invited",
    "attended",
    "apologies_with_information",
    "apologies_without_information",
    "did_not_attend",
    "not_recorded",
    "sent_information",
]
REQUEST_KEYS = [
    "sent",
    "answered",
    "answered_on_time",
    "not_shared",
    "open",
    "open_overdue",
    "withdrawn",
]


def _attendance_finish(v: dict[str, Any]) -> None:
    v["attendance_rate"] = _rate(v["attended"], v["invited"])
    v["information_rate"] = _rate(v["sent_information"], v["invited"])


def _national_attendance(period: Period) -> dict[tuple[str, str], dict[str, Any]]:
    participants = Participant.objects.filter(
        discussion__called_at__gte=period.lo,
        discussion__called_at__lt=period.hi,
        discussion__status=DiscussionStatus.HELD,
    ).exclude(role=ParticipantRole.CHILDREN_SOCIAL_CARE)
    informed = Q(attendance__in=["attended", "apologies_with_information"]) | Q(
        request__status=RequestStatus.ANSWERED
    )
    found = {}
    for row in (
        participants.order_by()
        .values("role")
        .annotate(
            invited=Count("pk"),
            attended=Count("pk", filter=Q(attendance="attended")),
            apologies_with_information=Count(
                "pk", filter=Q(attendance="apologies_with_information")
            ),
            apologies_without_information=Count(
                "pk", filter=Q(attendance="apologies_without_information")
            ),
            did_not_attend=Count("pk", filter=Q(attendance="did_not_attend")),
            not_recorded=Count("pk", filter=Q(attendance="")),
            informed=Count("pk", filter=informed),
        )
        .order_by()
    ):
        values: dict[str, Any] = dict(row)
        role = values.pop("role")
        # Named apart from the model's property while in the query.
        values["sent_information"] = values.pop("informed")
        found[(role, ParticipantRole(role).label)] = values
    return found


def _participants(scope: Scope, period: Period) -> QuerySet[Participant]:
    """The agencies invited to the discussions the councils of the scope called in the period
    (children's social care, which holds them, apart)."""
    return Participant.objects.filter(
        Q(discussion__local_authority=scope.council)
        if scope.council is not None
        else Q(discussion__local_authority__in=list(scope.council_ids)),
        discussion__called_at__gte=period.lo,
        discussion__called_at__lt=period.hi,
    ).exclude(role=ParticipantRole.CHILDREN_SOCIAL_CARE)


def _agency_key(row: dict[str, Any]) -> tuple[str, str]:
    part = ParticipantRole(row["role"]).label.lower()
    return (f"{row['agency__code']}:{row['role']}", f"{row['agency__name']} ({part})")


def _attendance_by_agency(scope: Scope, period: Period, now: dt.datetime) -> Counts:
    """The meetings figures' attendance by agency (`discussion_figures`), for a council's or a
    force's councils, counted in the database: the held discussions' invited agencies."""
    informed = Q(attendance__in=["attended", "apologies_with_information"]) | Q(
        request__status=RequestStatus.ANSWERED
    )
    found: Counts = {}
    for row in (
        _participants(scope, period)
        .filter(discussion__status=DiscussionStatus.HELD)
        .order_by()
        .values("agency__code", "agency__name", "role")
        .annotate(
            invited=Count("pk"),
            attended=Count("pk", filter=Q(attendance="attended")),
            apologies_with_information=Count(
                "pk", filter=Q(attendance="apologies_with_information")
            ),
            apologies_without_information=Count(
                "pk", filter=Q(attendance="apologies_without_information")
            ),
            did_not_attend=Count("pk", filter=Q(attendance="did_not_attend")),
            not_recorded=Count("pk", filter=Q(attendance="")),
            informed=Count("pk", filter=informed),
        )
        .order_by()
    ):
        found_row: dict[str, Any] = dict(row)
        values = {k: found_row[k] for k in ATTENDANCE_KEYS if k in found_row}
        values["sent_information"] = found_row["informed"]
        values["role"] = found_row["role"]
        found[_agency_key(found_row)] = values
    return found


def _requests_by_agency(scope: Scope, period: Period, now: dt.datetime) -> Counts:
    """The meetings figures' information requests by agency, counted in the database: every
    request of the discussions called in the period."""
    answered = Q(request__status=RequestStatus.ANSWERED)
    settled = [RequestStatus.ANSWERED, RequestStatus.NOT_SHARED, RequestStatus.WITHDRAWN]
    waiting = Q(request__isnull=False) & ~Q(request__status__in=settled)
    found: Counts = {}
    for row in (
        _participants(scope, period)
        .filter(request__isnull=False)
        .order_by()
        .values("agency__code", "agency__name", "role")
        .annotate(
            sent=Count("request"),
            answered=Count("request", filter=answered),
            on_time=Count(
                "request",
                filter=answered
                & Q(
                    request__answered_at__isnull=False,
                    request__answered_at__lte=F("request__deadline"),
                ),
            ),
            not_shared=Count("request", filter=Q(request__status=RequestStatus.NOT_SHARED)),
            withdrawn=Count("request", filter=Q(request__status=RequestStatus.WITHDRAWN)),
            open=Count("request", filter=waiting),
            open_overdue=Count("request", filter=waiting & Q(request__deadline__lt=now)),
        )
        .order_by()
    ):
        found_row: dict[str, Any] = dict(row)
        values = {k: found_row[k] for k in REQUEST_KEYS if k in found_row}
        values["answered_on_time"] = found_row["on_time"]
        found[_agency_key(found_row)] = values
    return found


def attendance_figure(*, scope: Scope, period: Period, now: dt.datetime) -> Figure:
    """Rows: the police together, every other agency together, then each agency in its part
    (each kind of agency, nationally)."""
    police = {k: 0 for k in ATTENDANCE_KEYS}
    partners = {k: 0 for k in ATTENDANCE_KEYS}
    by_agency: dict[tuple[str, str], dict[str, Any]] = {}
    if scope.is_national:
        by_agency = _counts("attendance", scope, period, now)
        for (role, _), v in by_agency.items():
            target = police if role == ParticipantRole.POLICE else partners
            for k in ATTENDANCE_KEYS:
                target[k] += v[k]
    else:
        by_agency = _counts("attendance_by_agency", scope, period, now)
        for v in by_agency.values():
            target = police if v.pop("role") == ParticipantRole.POLICE else partners
            for k in ATTENDANCE_KEYS:
                target[k] += v[k]
    rows = []
    for key, label, values in (
        ("police", "All police", police),
        ("partners", "All other agencies", partners),
    ):
        _attendance_finish(values)
        rows.append(Row(key, label, values))
    for (code, name), values in sorted(by_agency.items(), key=lambda i: (i[0][1], i[0][0])):
        _attendance_finish(values)
        rows.append(Row(code, name, values))
    columns = [
        Column("invited", "Invited (held discussions)"),
        Column("attended", "Attended", series="green"),
        Column("apologies_with_information", "Apologies, information sent", series="light-green"),
        Column("apologies_without_information", "Apologies, no information", series="orange"),
        Column("did_not_attend", "Did not attend", series="red"),
        Column("not_recorded", "Not recorded", series="grey"),
        Column("sent_information", "Attended or sent information"),
        Column("attendance_rate", "Attendance rate", kind="rate"),
        Column("information_rate", "Information rate", kind="rate"),
    ]
    p = police
    return Figure(
        "attendance",
        "Attendance and information at strategy discussions, by agency",
        "Every agency invited to the strategy discussions called in the period and held "
        "(children's social care, which holds them, apart). Information: attended, sent "
        "apologies with information, or answered the information request. The police are "
        "counted apart from the other agencies.",
        "Kind of agency" if scope.is_national else "Agency",
        columns,
        rows,
        None,
        headline=f"Police attended {_pct(p['attendance_rate'])} and informed "
        f"{_pct(p['information_rate'])} of the discussions they were invited to",
    )


def _requests_finish(v: dict[str, Any]) -> None:
    v["answered_late"] = v["answered"] - v["answered_on_time"]
    v["on_time_rate"] = _rate(v["answered_on_time"], v["sent"] - v["withdrawn"])


def _national_requests(period: Period, now: dt.datetime) -> dict[tuple[str, str], dict[str, Any]]:
    requests = InformationRequest.objects.filter(
        participant__discussion__called_at__gte=period.lo,
        participant__discussion__called_at__lt=period.hi,
    )
    answered = Q(status=RequestStatus.ANSWERED)
    found = {}
    for row in (
        requests.order_by()
        .values("participant__role")
        .annotate(
            sent=Count("pk"),
            answered=Count("pk", filter=answered),
            on_time=Count(
                "pk", filter=answered & Q(answered_at__isnull=False, answered_at__lte=F("deadline"))
            ),
            not_shared=Count("pk", filter=Q(status=RequestStatus.NOT_SHARED)),
            withdrawn=Count("pk", filter=Q(status=RequestStatus.WITHDRAWN)),
            open=Count("pk", filter=Q(status=RequestStatus.OPEN)),
            open_overdue=Count("pk", filter=Q(status=RequestStatus.OPEN, deadline__lt=now)),
        )
        .order_by()
    ):
        values: dict[str, Any] = dict(row)
        role = values.pop("participant__role")
        values["answered_on_time"] = values.pop("on_time")  # the model has a property so named
        found[(role, ParticipantRole(role).label)] = values
    return found


def requests_figure(*, scope: Scope, period: Period, now: dt.datetime) -> Figure:
    by_agency: dict[tuple[str, str], dict[str, Any]] = {}
    if scope.is_national:
        by_agency = _counts("requests", scope, period, now)
    else:
        by_agency = _counts("requests_by_agency", scope, period, now)
    rows = []
    total = Row("total", "Total", {k: 0 for k in REQUEST_KEYS})
    for (code, name), values in sorted(by_agency.items(), key=lambda i: (i[0][1], i[0][0])):
        for k in REQUEST_KEYS:
            total.values[k] += values[k]
        _requests_finish(values)
        rows.append(Row(code, name, values))
    _requests_finish(total.values)
    columns = [
        Column("sent", "Sent"),
        Column("answered_on_time", "Answered on time", series="green"),
        Column("answered_late", "Answered late", series="orange"),
        Column("not_shared", "Answered: not shared", series="purple"),
        Column("open_overdue", "Not answered, deadline passed", series="red"),
        Column("open", "Not answered (all)"),
        Column("withdrawn", "Withdrawn", series="grey"),
        Column("on_time_rate", "Answered on time (of those not withdrawn)", kind="rate"),
    ]
    return Figure(
        "requests",
        "Information requests answered on time, by agency",
        "Every information request of the strategy discussions called in the period: answered "
        "by its deadline (before the discussion starts), late, declined, still open or "
        "withdrawn.",
        "Kind of agency" if scope.is_national else "Agency",
        columns,
        rows,
        total,
        headline=f"{_pct(total.values['on_time_rate'])} of requests were answered on time",
    )


# --- ICPCs and assessments (casework) ------------------------------------------------------------

DEADLINE_SERIES = [
    ("within", "Within", "green"),
    ("later", "Later", "orange"),
    ("overdue", "Not yet, overdue", "red"),
    ("waiting", "Not yet, not due", "grey"),
]


class _Deadlines:
    """The n-th working day after each start date, each computed once (a period has at most
    366 start dates, and thousands of enquiries or assessments)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.calendar = working_calendar()
        self.due: dict[dt.date, dt.date] = {}

    def measure(self, start: dt.date, done: dt.date | None, today: dt.date) -> str:
        due = self.due.get(start)
        if due is None:
            due = self.due[start] = self.calendar.add_working_days(start, self.n)
        if done is not None:
            return "within" if done <= due else "later"
        return "overdue" if today > due else "waiting"


def _casework_q(scope: Scope, council: str = "local_authority") -> Q:
    """The assessments or enquiries of the contacts in scope, by the council kept on each
    (`council`: the episode's, indexed with the start; "episode__local_authority" where the
    period is the episode's, indexed with its referral date): an episode is its contact's
    council's (a contact is routed elsewhere only before it is allocated, and an episode opens
    on the signed-off decision of an allocated contact)."""
    if scope.is_national:
        return Q()  # every episode is a routed contact's
    if scope.council is not None:
        return Q(**{council: scope.council})
    return scope.contacts_q("episode__contact__") & Q(**{f"{council}__in": list(scope.council_ids)})


def _enquiries(scope: Scope, period: Period) -> QuerySet[Section47]:
    return Section47.objects.filter(
        _casework_q(scope),
        started_on__gte=period.start,
        started_on__lte=period.end,
    )


def icpc_measures(scope: Scope, period: Period, now: dt.datetime) -> list[tuple[Any, int, str]]:
    """(contact id, council id, measure) of each section 47 enquiry started in the period."""
    today = now.astimezone(clock.LONDON).date()
    deadlines = _Deadlines(15)
    found = []
    for contact_id, council, started, held, not_required in _enquiries(scope, period).values_list(
        "episode__contact_id",
        "local_authority_id",
        "started_on",
        "icpc_on",
        "icpc_not_required",
    ):
        measure = "not_required" if not_required else deadlines.measure(started, held, today)
        found.append((contact_id, council, measure))
    return found


def _measure_counts(measures: list[tuple[Any, int, str]], extra: list[str]) -> Counts:
    keys = ["count", *(k for k, _, _ in DEADLINE_SERIES), *extra]
    counts: Counts = {}
    for _, council, measure in measures:
        v = counts.setdefault(council, {k: 0 for k in keys})
        v["count"] += 1
        v[measure] += 1
    return counts


def _measures_figure(counts: Counts, extra: list[str], scope: Scope) -> tuple[list[Row], Row]:
    keys = ["count", *(k for k, _, _ in DEADLINE_SERIES), *extra]

    def finish(v: dict[str, Any]) -> None:
        v["within_rate"] = _rate(v["within"], v["within"] + v["later"] + v["overdue"])

    return _council_rows(counts, keys, finish, scope)


def icpc_figure(*, scope: Scope, period: Period, now: dt.datetime) -> Figure:
    rows, total = _measures_figure(_counts("icpc", scope, period, now), ["not_required"], scope)
    columns = [
        Column("count", "Section 47 enquiries started", drill=True),
        Column("within", "ICPC within 15 working days", series="green", drill=True),
        Column("later", "ICPC later", series="orange", drill=True),
        Column("overdue", "No ICPC yet, overdue", series="red", drill=True),
        Column("waiting", "No ICPC yet, not due", series="grey", drill=True),
        Column("not_required", "ICPC not required", drill=True),
        Column("within_rate", "Within 15 working days (of those due or held)", kind="rate"),
    ]
    return Figure(
        "icpc",
        "Initial child protection conferences within 15 working days",
        "Section 47 enquiries started in the period, as DfE counts them: working days from the "
        "enquiry's start (the strategy discussion that initiated it) to the initial child "
        "protection conference, on time on or before the 15th working day after.",
        "Council",
        columns,
        rows,
        total,
        headline=f"{_pct(total.values['within_rate'])} of conferences within 15 working days",
    )


def assessment_measures(
    scope: Scope, period: Period, now: dt.datetime, *, clock_of: str
) -> list[tuple[Any, int, str]]:
    """(contact id, council id, measure) of each assessment whose clock started in the period:
    Working Together's from the referral ("wt"), DfE's from the assessment's start ("dfe")."""
    today = now.astimezone(clock.LONDON).date()
    start_field = "episode__referral_date" if clock_of == "wt" else "started_on"
    rows = Assessment.objects.filter(
        _casework_q(scope, "episode__local_authority" if clock_of == "wt" else "local_authority"),
        **{f"{start_field}__gte": period.start, f"{start_field}__lte": period.end},
    ).values_list("episode__contact_id", "local_authority_id", start_field, "authorised_on")
    deadlines = _Deadlines(45)
    return [
        (contact_id, council, deadlines.measure(start, done, today))
        for contact_id, council, start, done in rows
    ]


def _assessment_figure(*, scope: Scope, period: Period, now: dt.datetime, clock_of: str) -> Figure:
    rows, total = _measures_figure(_counts(f"assessment_{clock_of}", scope, period, now), [], scope)
    columns = [
        Column("count", "Assessments", drill=True),
        Column("within", "Authorised within 45 working days", series="green", drill=True),
        Column("later", "Authorised later", series="orange", drill=True),
        Column("overdue", "Not authorised, overdue", series="red", drill=True),
        Column("waiting", "Not authorised, not due", series="grey", drill=True),
        Column("within_rate", "Within 45 working days (of those due or done)", kind="rate"),
    ]
    if clock_of == "wt":
        slug, title, summary = (
            "assessment_wt",
            "Assessments within 45 working days of the referral (Working Together)",
            "Child and family assessments of the referrals made in the period (the episode's "
            "referral date): authorised on or before the 45th working day after the referral.",
        )
    else:
        slug, title, summary = (
            "assessment_dfe",
            "Assessments within 45 working days of their start (DfE)",
            "Child and family assessments started in the period, as the DfE CIN census checks "
            "them: authorised on or before the 45th working day after the assessment's start.",
        )
    return Figure(
        slug,
        title,
        summary,
        "Council",
        columns,
        rows,
        total,
        headline=f"{_pct(total.values['within_rate'])} within 45 working days",
    )


def assessment_wt_figure(*, scope: Scope, period: Period, now: dt.datetime) -> Figure:
    return _assessment_figure(scope=scope, period=period, now=now, clock_of="wt")


def assessment_dfe_figure(*, scope: Scope, period: Period, now: dt.datetime) -> Figure:
    return _assessment_figure(scope=scope, period=period, now=now, clock_of="dfe")


def _measures_drill(
    measures: Callable[[Scope, Period, dt.datetime], list[tuple[Any, int, str]]],
) -> Callable[[Scope, Period, str, dt.datetime], QuerySet[Contact]]:
    def drill(scope: Scope, period: Period, measure: str, now: dt.datetime) -> QuerySet[Contact]:
        wanted = {c for c, _, m in measures(scope, period, now) if measure in ("count", m)}
        return Contact.objects.filter(pk__in=wanted)

    return drill


# --- What the daily summary keeps ----------------------------------------------------------------

# Each figure's counts by row, for a scope and a period: what the figure shows, before its rates.
# Every count is of things that started in the period, so a period's counts are the sum of its
# days' (safehub.reports.rollup keeps each closed day's national counts).
SOURCES: dict[str, Source] = {
    "receipt": _receipt_source,
    "receipt_force": _receipt_force_source,
    "rag": _rag_counts,
    "clocks": _clock_counts,
    "conversion": _conversion_counts,
    "rereferral": _rereferral_counts,
    "discussions": lambda scope, period, now: _national_discussions(
        period, now, None if scope.is_national else scope
    ),
    "attendance": lambda scope, period, now: _national_attendance(period),
    "requests": lambda scope, period, now: _national_requests(period, now),
    "icpc": lambda scope, period, now: _measure_counts(
        icpc_measures(scope, period, now), ["not_required"]
    ),
    "assessment_wt": lambda scope, period, now: _measure_counts(
        assessment_measures(scope, period, now, clock_of="wt"), []
    ),
    "assessment_dfe": lambda scope, period, now: _measure_counts(
        assessment_measures(scope, period, now, clock_of="dfe"), []
    ),
}


# A council's or a force's only (the national page has kinds of agency, not agencies).
_OWN_SOURCES: dict[str, Source] = {
    "attendance_by_agency": _attendance_by_agency,
    "requests_by_agency": _requests_by_agency,
}


# --- The register --------------------------------------------------------------------------------

Compute = Callable[..., Figure]
Drill = Callable[[Scope, Period, str, dt.datetime], QuerySet[Contact]]


@dataclass(frozen=True)
class FigureDef:
    slug: str
    section: str
    compute: Compute
    drill: Drill | None = None
    measures: tuple[str, ...] = ()  # the counts `drill` lists (the columns with drill=True)


_CLOCK = ("clocks", "on_time", "late", "overdue", "waiting")
_DEADLINE = ("count", "within", "later", "overdue", "waiting")
_BANDS = tuple(key for key, *_ in BANDS)

FIGURES: list[FigureDef] = [
    FigureDef(
        "receipt",
        "From the incident to the hub",
        receipt_figure,
        _receipt_drill,
        ("count", "within_24h"),
    ),
    FigureDef(
        "receipt_bands",
        "From the incident to the hub",
        receipt_bands_figure,
        _receipt_drill,
        ("count", *_BANDS),
    ),
    FigureDef("receipt_force", "From the incident to the hub", receipt_force_figure),
    FigureDef(
        "rag",
        "The front door",
        rag_figure,
        _rag_drill,
        ("contacts", "red", "amber", "green", "not_rated"),
    ),
    FigureDef(
        "screening",
        "The front door",
        screening_figure,
        _clock_drill(ClockKind.SCREENING),
        _CLOCK,
    ),
    FigureDef(
        "referral_decision",
        "The front door",
        referral_decision_figure,
        _clock_drill(ClockKind.REFERRAL_DECISION),
        _CLOCK,
    ),
    FigureDef(
        "conversion",
        "The front door",
        conversion_figure,
        _conversion_drill,
        ("contacts", "decided", "referrals", "not_referred", "undecided"),
    ),
    FigureDef(
        "rereferral",
        "The front door",
        rereferral_figure,
        _rereferral_drill,
        ("referrals", "rereferrals", "first"),
    ),
    FigureDef(
        "discussions",
        "Strategy discussions",
        discussions_figure,
        _discussion_drill,
        (
            "called",
            "held",
            "held_within_due",
            "held_late",
            "open_overdue",
            "open_in_time",
            "cancelled",
            "held_without_statutory_agency",
        ),
    ),
    FigureDef("attendance", "Strategy discussions", attendance_figure),
    FigureDef("requests", "Strategy discussions", requests_figure),
    FigureDef(
        "encompass",
        "Operation Encompass",
        encompass_figure,
        _clock_drill(ClockKind.ENCOMPASS),
        _CLOCK,
    ),
    FigureDef(
        "icpc",
        "Child protection",
        icpc_figure,
        _measures_drill(icpc_measures),
        (*_DEADLINE, "not_required"),
    ),
    FigureDef(
        "assessment_wt",
        "Child protection",
        assessment_wt_figure,
        _measures_drill(lambda s, p, n: assessment_measures(s, p, n, clock_of="wt")),
        _DEADLINE,
    ),
    FigureDef(
        "assessment_dfe",
        "Child protection",
        assessment_dfe_figure,
        _measures_drill(lambda s, p, n: assessment_measures(s, p, n, clock_of="dfe")),
        _DEADLINE,
    ),
]
BY_SLUG = {f.slug: f for f in FIGURES}
SLUGS = [f.slug for f in FIGURES]


def figure_compute(
    *, slug: str, scope: Scope, period: Period, now: dt.datetime | None = None
) -> Figure:
    return BY_SLUG[slug].compute(scope=scope, period=period, now=now or clock.now())


def figures_compute(
    *, scope: Scope, period: Period, now: dt.datetime | None = None
) -> list[Figure]:
    """Every figure of the dashboard, in the page's order; what several figures read is read
    once."""
    now = now or clock.now()
    memo: dict[Any, Any] = {}
    token = _MEMO.set(memo)
    try:
        lanes = _lanes()
        if lanes == 1:
            return [f.compute(scope=scope, period=period, now=now) for f in FIGURES]
        return _in_lanes(lanes, memo, scope=scope, period=period, now=now)
    finally:
        _MEMO.reset(token)


def _lanes() -> int:
    """How many figures are computed at once: SAFEHUB_REPORTS_THREADS on PostgreSQL (the page
    spends most of its time waiting for statements that the database can run side by side, one
    per connection), one elsewhere and inside a transaction (whose rows the other connections
    would not see)."""
    threads = int(getattr(settings, "SAFEHUB_REPORTS_THREADS", 1))
    if threads <= 1 or not _postgres() or connection.in_atomic_block:
        return 1
    return threads


def _in_lanes(
    lanes: int, memo: dict[Any, Any], *, scope: Scope, period: Period, now: dt.datetime
) -> list[Figure]:
    """The figures computed by this thread and `lanes - 1` others, each taking the next figure
    not yet begun; each other thread has a connection of its own, closed when it is done."""
    results: list[Figure | None] = [None] * len(FIGURES)
    queue = iter(range(len(FIGURES)))
    taking = threading.Lock()

    def work(own_thread: bool) -> None:
        if own_thread:
            _MEMO.set(memo)
        try:
            while True:
                with taking:
                    i = next(queue, None)
                if i is None:
                    return
                results[i] = FIGURES[i].compute(scope=scope, period=period, now=now)
        finally:
            if own_thread:
                connections.close_all()

    with ThreadPoolExecutor(max_workers=lanes - 1, thread_name_prefix="figures") as pool:
        others = [pool.submit(work, True) for _ in range(lanes - 1)]
        work(False)
        for other in others:
            other.result()
    return [figure for figure in results if figure is not None]


def drill_contacts(
    *,
    slug: str,
    measure: str,
    scope: Scope,
    period: Period,
    council: str = "",
    now: dt.datetime | None = None,
) -> QuerySet[Contact]:
    """The contacts behind one count of a figure (a KeyError for a figure or measure with
    none), optionally of one council of the scope (its LA code). Not scoped to a person: the
    view intersects them with what the asker may see."""
    definition = BY_SLUG[slug]
    if definition.drill is None or scope.is_national:
        raise KeyError(slug)
    if measure not in definition.measures:
        raise KeyError(measure)
    contacts = definition.drill(scope, period, measure, now or clock.now())
    if council:
        contacts = contacts.filter(local_authority__la_code=council)
    return contacts
