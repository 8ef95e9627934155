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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
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

from safehub.accounts.models import Agency
from safehub.casework.models import Assessment, Section47
from safehub.core import clock
from safehub.intake.keys import person_key
from safehub.intake.models import Notification
from safehub.meetings.figures import AgencyAttendance, AgencyRequests, discussion_figures
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
from safehub.reports.scope import Period, Scope
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


def rag_figure(*, scope: Scope, period: Period, now: dt.datetime) -> Figure:
    qs = _contacts(scope, period)
    counts = _grouped(
        qs,
        "local_authority",
        red=Count("pk", filter=Q(rag="red")),
        amber=Count("pk", filter=Q(rag="amber")),
        green=Count("pk", filter=Q(rag="green")),
        not_rated=Count("pk", filter=Q(rag="")),
        contacts=Count("pk"),
    )
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


def _clocks(kind: str, scope: Scope, period: Period) -> QuerySet[Clock]:
    return Clock.objects.filter(
        scope.contacts_q("contact__"),
        kind=kind,
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
    counts = _grouped(
        _clocks(kind, scope, period),
        "contact__local_authority",
        **{k: Count("pk", filter=_clock_q(k, now)) for k in keys},
    )

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
        clocks = _clocks(kind, scope, period).filter(_clock_q(measure, now))
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


def conversion_figure(*, scope: Scope, period: Period, now: dt.datetime) -> Figure:
    counts = _grouped(
        _with_decisions(_contacts(scope, period)),
        "local_authority",
        contacts=Count("pk"),
        decided=Count("pk", filter=Q(decided=True)),
        referrals=Count("pk", filter=Q(referral=True)),
    )
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


def _child_key(c: dict[str, Any]) -> str | None:
    if c["date_of_birth"] is None:
        return None
    return person_key(
        given_names=c["given_names"],
        family_name=c["family_name"],
        date_of_birth=c["date_of_birth"],
    )


def rereferrals(scope: Scope, period: Period) -> tuple[dict[Any, int], set[Any]]:
    """The referrals of the period (contact id → council id) and those that are re-referrals:
    the same child (exact key: normalised names and date of birth) had another referral to the
    same council received in the 365 days before."""
    fields = ["pk", "local_authority_id", "given_names", "family_name", "date_of_birth"]
    current = list(
        _with_decisions(_contacts(scope, period))
        .filter(Q(referral=True))
        .values(*fields, "received_at")
    )
    referrals = {c["pk"]: c["local_authority_id"] for c in current}
    keyed: list[tuple[dict[str, Any], str]] = []
    for c in current:
        key = _child_key(c)
        if key is not None:
            keyed.append((c, key))
    if not keyed:
        return referrals, set()
    dobs = sorted({c["date_of_birth"] for c, _ in keyed})
    councils = sorted({c["local_authority_id"] for c, _ in keyed})
    earlier: dict[tuple[int, str], list[tuple[dt.datetime, Any]]] = {}
    for i in range(0, len(dobs), 500):
        rows = (
            _with_decisions(
                Contact.objects.filter(
                    local_authority_id__in=councils,
                    date_of_birth__in=dobs[i : i + 500],
                    received_at__gte=period.lo - RE_REFERRAL_WINDOW,
                    received_at__lt=period.hi,
                )
            )
            .filter(Q(referral=True))
            .values(*fields, "received_at")
        )
        for row in rows:
            key = _child_key(row)
            if key is not None:
                earlier.setdefault((row["local_authority_id"], key), []).append(
                    (row["received_at"], row["pk"])
                )
    again = set()
    for c, key in keyed:
        for at, pk in earlier.get((c["local_authority_id"], key), []):
            if pk != c["pk"] and c["received_at"] - RE_REFERRAL_WINDOW <= at < c["received_at"]:
                again.add(c["pk"])
                break
    return referrals, again


def rereferral_figure(*, scope: Scope, period: Period, now: dt.datetime) -> Figure:
    referrals, again = rereferrals(scope, period)
    counts: dict[int, dict[str, Any]] = {}
    for pk, council in referrals.items():
        v = counts.setdefault(council, {"referrals": 0, "rereferrals": 0, "first": 0})
        v["referrals"] += 1
        v["rereferrals" if pk in again else "first"] += 1
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
    each leg, in hours."""
    annotated = qs.annotate(
        **{
            f"secs_{leg}": Seconds(F(f"{prefix}{start}"), F(f"{prefix}{end}"))
            for leg, _, start, end in LEGS
        }
    )
    counts = {
        row.pop(group): row
        for row in annotated.order_by()
        .values(group)
        .annotate(
            count=Count("pk"),
            within_24h=Count("pk", filter=Q(secs_overall__lt=24 * HOUR)),
            **{key: Count("pk", filter=_band_q(key, "secs_overall")) for key, *_ in BANDS},
        )
        .order_by()
        if row[group] is not None
    }
    if _postgres():
        quantiles = {
            row.pop(group): row
            for row in annotated.order_by()
            .values(group)
            .annotate(
                **{
                    f"{stat}_{leg}": PercentileDisc(f"secs_{leg}", q)
                    for leg, *_ in LEGS
                    for stat, q in (("median", 0.5), ("p90", 0.9))
                }
            )
            .order_by()
            if row[group] is not None
        }
    else:
        values: dict[Any, dict[str, list[float]]] = {}
        for row in annotated.values_list(group, *(f"secs_{leg}" for leg, *_ in LEGS)):
            by_leg = values.setdefault(row[0], {leg: [] for leg, *_ in LEGS})
            for (leg, *_), secs in zip(LEGS, row[1:], strict=True):
                by_leg[leg].append(secs)
        quantiles = {
            g: {
                f"{stat}_{leg}": nearest_rank(by_leg[leg], q)
                for leg, *_ in LEGS
                for stat, q in (("median", 0.5), ("p90", 0.9))
            }
            for g, by_leg in values.items()
        }
    for g, v in counts.items():
        for k, secs in quantiles.get(g, {}).items():
            v[k] = None if secs is None else round(float(secs) / HOUR, 1)
    return counts


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


def receipt_figure(*, scope: Scope, period: Period, now: dt.datetime) -> Figure:
    qs = _police_contacts(scope, period)
    counts = _receipt_stats(qs, "local_authority", "notification__")
    keys = ["count", "within_24h", *(key for key, *_ in BANDS)]
    rows, total = _council_rows(counts, keys, _receipt_finish, scope)
    for k, v in _overall(qs, "notification__").items():
        if k.startswith(("median_", "p90_")):
            total.values[k] = v
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
    qs = _police_contacts(scope, period)
    counts = _receipt_stats(qs, "local_authority", "notification__")
    keys = ["count", *(key for key, *_ in BANDS)]
    rows, total = _council_rows(counts, keys, lambda v: None, scope)
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


def receipt_force_figure(*, scope: Scope, period: Period, now: dt.datetime) -> Figure:
    """By force, each notification once (an incident with three children counts once)."""
    qs = Notification.objects.filter(
        received_at__gte=period.lo, received_at__lt=period.hi, force__isnull=False
    )
    # Only notifications with a child routed to a council in scope (an incident without
    # children, or not yet routed, is no council's contact).
    in_scope = Contact.objects.filter(scope.contacts_q(), notification=OuterRef("pk"))
    qs = qs.filter(Exists(in_scope))
    counts = _receipt_stats(qs, "force", "")
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
    for k, x in _overall(qs, "").items():
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


def _discussion_councils(scope: Scope) -> list[Agency]:
    if scope.council is not None:
        return [scope.council]
    return list(Agency.objects.filter(pk__in=scope.council_ids))


def discussion_figures_by_council(scope: Scope, period: Period, now: dt.datetime) -> dict[int, Any]:
    """The meetings app's figures for each council of a council's or force's scope."""
    return {
        council.pk: discussion_figures(
            council=council, start=period.start, end=period.end_exclusive, now=now
        )
        for council in _discussion_councils(scope)
    }


def _national_discussions(period: Period, now: dt.datetime) -> dict[int, dict[str, Any]]:
    """The same counts as the meetings figures, grouped in the database for every council."""
    held = Q(status=DiscussionStatus.HELD, held_at__isnull=False)
    return _grouped(
        StrategyDiscussion.objects.filter(called_at__gte=period.lo, called_at__lt=period.hi),
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
    if scope.is_national:
        counts = _national_discussions(period, now)
    else:
        counts = {
            pk: {k: getattr(f, k) for k in DISCUSSION_KEYS}
            for pk, f in discussion_figures_by_council(scope, period, now).items()
        }

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


def _merge(
    rows: dict[tuple[str, str], dict[str, Any]], key: tuple[str, str], item: Any, keys: list[str]
) -> None:
    v = rows.setdefault(key, {k: 0 for k in keys})
    for k in keys:
        v[k] += getattr(item, k)


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


def attendance_figure(*, scope: Scope, period: Period, now: dt.datetime) -> Figure:
    """Rows: the police together, every other agency together, then each agency in its part
    (each kind of agency, nationally)."""
    police = {k: 0 for k in ATTENDANCE_KEYS}
    partners = {k: 0 for k in ATTENDANCE_KEYS}
    by_agency: dict[tuple[str, str], dict[str, Any]] = {}
    if scope.is_national:
        by_agency = _national_attendance(period)
        for (role, _), v in by_agency.items():
            target = police if role == ParticipantRole.POLICE else partners
            for k in ATTENDANCE_KEYS:
                target[k] += v[k]
    else:
        for f in discussion_figures_by_council(scope, period, now).values():
            row: AgencyAttendance
            for row in f.attendance_by_agency:
                part = ParticipantRole(row.role).label.lower()
                _merge(
                    by_agency,
                    (f"{row.agency}:{row.role}", f"{row.name} ({part})"),
                    row,
                    ATTENDANCE_KEYS,
                )
            for target, summary in (
                (police, f.police_attendance),
                (partners, f.partners_attendance),
            ):
                if summary is not None:
                    for k in ATTENDANCE_KEYS:
                        target[k] += getattr(summary, k)
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
        by_agency = _national_requests(period, now)
    else:
        for f in discussion_figures_by_council(scope, period, now).values():
            r: AgencyRequests
            for r in f.requests_by_agency:
                _merge(
                    by_agency,
                    (f"{r.agency}:{r.role}", f"{r.name} ({ParticipantRole(r.role).label.lower()})"),
                    r,
                    REQUEST_KEYS,
                )
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


def _deadline_measure(start: dt.date, done: dt.date | None, n: int, today: dt.date) -> str:
    due = working_calendar().add_working_days(start, n)
    if done is not None:
        return "within" if done <= due else "later"
    return "overdue" if today > due else "waiting"


def _enquiries(scope: Scope, period: Period) -> QuerySet[Section47]:
    return Section47.objects.filter(
        scope.contacts_q("episode__contact__"),
        started_on__gte=period.start,
        started_on__lte=period.end,
    )


def icpc_measures(scope: Scope, period: Period, now: dt.datetime) -> list[tuple[Any, int, str]]:
    """(contact id, council id, measure) of each section 47 enquiry started in the period."""
    today = now.astimezone(clock.LONDON).date()
    found = []
    for contact_id, council, started, held, not_required in _enquiries(scope, period).values_list(
        "episode__contact_id",
        "episode__contact__local_authority_id",
        "started_on",
        "icpc_on",
        "icpc_not_required",
    ):
        measure = "not_required" if not_required else _deadline_measure(started, held, 15, today)
        found.append((contact_id, council, measure))
    return found


def _measures_figure(
    measures: list[tuple[Any, int, str]], extra: list[str], scope: Scope
) -> tuple[list[Row], Row]:
    keys = ["count", *(k for k, _, _ in DEADLINE_SERIES), *extra]
    counts: dict[int, dict[str, Any]] = {}
    for _, council, measure in measures:
        v = counts.setdefault(council, {k: 0 for k in keys})
        v["count"] += 1
        v[measure] += 1

    def finish(v: dict[str, Any]) -> None:
        v["within_rate"] = _rate(v["within"], v["within"] + v["later"] + v["overdue"])

    return _council_rows(counts, keys, finish, scope)


def icpc_figure(*, scope: Scope, period: Period, now: dt.datetime) -> Figure:
    rows, total = _measures_figure(icpc_measures(scope, period, now), ["not_required"], scope)
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
        scope.contacts_q("episode__contact__"),
        **{f"{start_field}__gte": period.start, f"{start_field}__lte": period.end},
    ).values_list(
        "episode__contact_id", "episode__contact__local_authority_id", start_field, "authorised_on"
    )
    return [
        (contact_id, council, _deadline_measure(start, done, 45, today))
        for contact_id, council, start, done in rows
    ]


def _assessment_figure(*, scope: Scope, period: Period, now: dt.datetime, clock_of: str) -> Figure:
    measures = assessment_measures(scope, period, now, clock_of=clock_of)
    rows, total = _measures_figure(measures, [], scope)
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
    """Every figure of the dashboard, in the page's order."""
    now = now or clock.now()
    return [f.compute(scope=scope, period=period, now=now) for f in FIGURES]


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
