"""Done when: with the demonstration hub, every figure of the dashboard for the last 30 days
agrees with a count made here another way: Python loops over the model rows, not the figures'
queries. Wirral's dashboard and the national one are both checked, and every number that links to
contacts lists exactly as many."""

import datetime as dt
import math
from collections import Counter
from pathlib import Path

import pytest
from django.test import Client

from safehub.casework.models import Assessment, Section47
from safehub.core import clock
from safehub.core.management.commands.demo import Command
from safehub.intake.keys import name_normalise
from safehub.intake.models import Notification
from safehub.meetings.models import (
    DiscussionChild,
    InformationRequest,
    Participant,
    StrategyDiscussion,
)
from safehub.referrals.models import Contact, Decision
from safehub.reports.figures import FIGURES, drill_contacts, figure_compute
from safehub.reports.scope import Period, council_scope, national_scope
from safehub.timescales.calendar import add_working_days
from safehub.timescales.models import Clock

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(reference, settings, tmp_path: Path):
    settings.VAR_DIR = str(tmp_path)
    command = Command()
    command._people(tmp_path / "demo-logins.json")
    command._notifications(tmp_path, 200, 14)
    command._history()
    return command


def rank(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[max(0, math.ceil(q * len(values)) - 1)]


def in_period(at, period):
    return period.start <= at.astimezone(clock.LONDON).date() <= period.end


def by_hand(council, period, now):
    """Every figure's total for `council` (None: every council), counted row by row."""
    contacts = [
        c
        for c in Contact.objects.select_related("notification")
        if c.local_authority_id is not None
        and (council is None or c.local_authority_id == council.pk)
        and in_period(c.received_at, period)
    ]
    ids = {c.pk for c in contacts}
    got = {}
    rags = Counter(c.rag for c in contacts)
    got["rag"] = {
        "contacts": len(contacts),
        "red": rags["red"],
        "amber": rags["amber"],
        "green": rags["green"],
        "not_rated": rags[""],
    }

    for kind in ("screening", "referral_decision", "encompass"):
        row = Counter()
        for k in Clock.objects.filter(kind=kind).exclude(state="stopped"):
            contact = Contact.objects.get(pk=k.contact_id)
            if contact.local_authority_id is None or not in_period(k.started_at, period):
                continue
            if council is not None and contact.local_authority_id != council.pk:
                continue
            row["clocks"] += 1
            if k.met_at is not None:
                row["on_time" if k.met_at <= k.due_at else "late"] += 1
            else:
                row["overdue" if k.due_at < now else "waiting"] += 1
        got[kind] = dict(row)

    decided = referrals = 0
    referred = []
    for c in contacts:
        signed = [d for d in Decision.objects.filter(contact=c) if d.sign_off == "signed_off"]
        decided += bool(signed)
        if any(d.became_referral for d in signed):
            referrals += 1
            referred.append(c)
    got["conversion"] = {"contacts": len(contacts), "decided": decided, "referrals": referrals}

    def same(a, b):
        return (
            a.date_of_birth is not None
            and a.date_of_birth == b.date_of_birth
            and name_normalise(a.given_names) == name_normalise(b.given_names)
            and name_normalise(a.family_name) == name_normalise(b.family_name)
        )

    all_referrals = [
        c
        for c in Contact.objects.all()
        if any(
            d.became_referral and d.sign_off == "signed_off"
            for d in Decision.objects.filter(contact=c)
        )
    ]
    again = sum(
        any(
            e.pk != c.pk
            and e.local_authority_id == c.local_authority_id
            and same(e, c)
            and c.received_at - dt.timedelta(days=365) <= e.received_at < c.received_at
            for e in all_referrals
        )
        for c in referred
    )
    got["rereferral"] = {"referrals": len(referred), "rereferrals": again}

    police = [c for c in contacts if c.notification is not None]
    hours = [
        (c.notification.received_at - c.notification.occurred_at).total_seconds() / 3600
        for c in police
    ]
    got["receipt"] = {
        "count": len(police),
        "within_24h": sum(h < 24 for h in hours),
        "median_overall": round(rank(hours, 0.5), 1) if hours else None,
        "p90_overall": round(rank(hours, 0.9), 1) if hours else None,
    }
    got["receipt_bands"] = {
        "count": len(police),
        "1_4h": sum(1 <= h < 4 for h in hours),
        "4_12h": sum(4 <= h < 12 for h in hours),
        "7d_plus": sum(h >= 168 for h in hours),
    }
    notifications = [
        n
        for n in Notification.objects.all()
        if n.force_id is not None
        and in_period(n.received_at, period)
        and any(
            c.local_authority_id is not None
            and (council is None or c.local_authority_id == council.pk)
            for c in n.contacts.all()
        )
    ]
    got["receipt_force"] = {"count": len(notifications)}

    discussions = [
        d
        for d in StrategyDiscussion.objects.all()
        if in_period(d.called_at, period) and (council is None or d.local_authority == council)
    ]
    held = [d for d in discussions if d.status == "held" and d.held_at is not None]
    got["discussions"] = {
        "called": len(discussions),
        "held": len(held),
        "held_within_due": sum(d.held_at <= d.due_at for d in held),
        "held_late": sum(d.held_at > d.due_at for d in held),
        "cancelled": sum(d.status == "cancelled" for d in discussions),
    }
    police_rows = [
        p
        for p in Participant.objects.filter(role="police")
        if p.discussion in held or p.discussion_id in {d.pk for d in held}
    ]
    got["attendance"] = {
        "invited": len(police_rows),
        "attended": sum(p.attendance == "attended" for p in police_rows),
    }
    requests = [
        r
        for r in InformationRequest.objects.select_related("participant__discussion")
        if r.participant.discussion in discussions
    ]
    got["requests"] = {
        "sent": len(requests),
        "answered_on_time": sum(
            r.status == "answered" and r.answered_at <= r.deadline for r in requests
        ),
    }

    def deadline(start, done, n):
        due = add_working_days(start, n)
        if done is not None:
            return "within" if done <= due else "later"
        return "overdue" if now.astimezone(clock.LONDON).date() > due else "waiting"

    def mine(episode):
        contact = episode.contact
        return contact.local_authority_id is not None and (
            council is None or contact.local_authority_id == council.pk
        )

    icpc = Counter()
    for e in Section47.objects.select_related("episode__contact"):
        if mine(e.episode) and period.start <= e.started_on <= period.end:
            icpc["count"] += 1
            icpc[
                "not_required" if e.icpc_not_required else deadline(e.started_on, e.icpc_on, 15)
            ] += 1
    got["icpc"] = dict(icpc)
    for name, start_of in (
        ("assessment_wt", lambda a: a.episode.referral_date),
        ("assessment_dfe", lambda a: a.started_on),
    ):
        row = Counter()
        for a in Assessment.objects.select_related("episode__contact"):
            if mine(a.episode) and period.start <= start_of(a) <= period.end:
                row["count"] += 1
                row[deadline(start_of(a), a.authorised_on, 45)] += 1
        got[name] = dict(row)
    return got, ids


def check(scope, council, period, now):
    expected, ids = by_hand(council, period, now)
    problems = []
    for slug, values in expected.items():
        figure = figure_compute(slug=slug, scope=scope, period=period, now=now)
        for key, value in values.items():
            if key in ("invited", "attended"):
                got = figure.value(key, "police")
            else:
                got = figure.value(key)
            if (got or 0) != (value or 0):
                problems.append(f"{slug}.{key}: dashboard {got}, by hand {value}")
    return problems, expected, ids


def test_wirrals_dashboard_agrees_with_a_count_by_hand(demo, make_user):
    from safehub.accounts.models import Agency

    wirral = Agency.objects.get(code="LA344")
    now = clock.now()
    period = Period.last(30)
    scope = council_scope(wirral)
    problems, expected, _ = check(scope, wirral, period, now)
    assert not problems, "\n".join(problems)
    # The demo hub has something in each of the front door's and the meetings' figures.
    assert expected["rag"]["contacts"] > 20
    assert expected["screening"]["clocks"] > 0 and expected["encompass"]["clocks"] > 0
    assert expected["conversion"]["referrals"] > 0
    assert expected["discussions"]["held"] > 0 and expected["attendance"]["invited"] > 0

    # The discussion figures are counted in the database: the same as the meetings app's own.
    from safehub.meetings.figures import discussion_figures

    own = discussion_figures(council=wirral, start=period.start, end=period.end_exclusive, now=now)
    discussions = figure_compute(slug="discussions", scope=scope, period=period, now=now)
    for key in ("called", "held", "held_within_due", "held_late", "open", "open_overdue",
                "cancelled", "held_without_statutory_agency"):  # fmt: skip
        assert discussions.value(key, "LA344") == getattr(own, key), key
    attendance = figure_compute(slug="attendance", scope=scope, period=period, now=now)
    requests = figure_compute(slug="requests", scope=scope, period=period, now=now)
    assert own.police_attendance is not None and own.partners_attendance is not None
    for key in ("invited", "attended", "apologies_with_information",
                "apologies_without_information", "did_not_attend", "not_recorded",
                "sent_information"):  # fmt: skip
        assert attendance.value(key, "police") == getattr(own.police_attendance, key), key
        assert attendance.value(key, "partners") == getattr(own.partners_attendance, key), key
        for a in own.attendance_by_agency:
            assert attendance.value(key, f"{a.agency}:{a.role}") == getattr(a, key), key
    assert len(attendance.rows) == 2 + len(own.attendance_by_agency)
    assert len(requests.rows) == len(own.requests_by_agency)
    for r in own.requests_by_agency:
        for key in ("sent", "answered", "answered_on_time", "not_shared", "open",
                    "open_overdue", "withdrawn"):  # fmt: skip
            assert requests.value(key, f"{r.agency}:{r.role}") == getattr(r, key), key

    # Every number that links lists exactly that many contacts, all of them Wirral's.
    for definition in FIGURES:
        if definition.drill is None:
            continue
        figure = figure_compute(slug=definition.slug, scope=scope, period=period, now=now)
        for measure in definition.measures:
            listed = drill_contacts(
                slug=definition.slug, measure=measure, scope=scope, period=period, now=now
            )
            count = figure.value(measure)
            assert not listed.exclude(local_authority=wirral).exists()
            if definition.slug != "discussions":
                assert listed.count() == count, (definition.slug, measure)
                continue
            # A discussion is about one or more children: the list is its children.
            about = {
                child.discussion_id
                for child in DiscussionChild.objects.filter(contact__in=listed)
                if child.discussion.local_authority_id == wirral.pk
                and in_period(child.discussion.called_at, period)
            }
            assert len(about) >= count and (count > 0) == listed.exists(), measure

    # And the page shows every figure: its chart, its table, its CSV.
    head = make_user("hazel", "LA344", "head_of_service")
    client = Client()
    client.force_login(head)
    text = client.get("/reports/").content.decode()
    for definition in FIGURES:
        assert f'id="{definition.slug}-table"' in text
        assert f'id="chart-{definition.slug}-title"' in text
        assert f"figure={definition.slug}&amp;" in text  # its CSV
    assert "/reports/contacts/?figure=screening" in text


def test_the_national_dashboard_agrees_with_a_count_by_hand(demo):
    now = clock.now()
    period = Period.last(30)
    problems, _, _ = check(national_scope(), None, period, now)
    assert not problems, "\n".join(problems)

    # Nationally the discussions are counted in the database, by council: the same answers as
    # the meetings app's own figures, which the councils' dashboards reuse.
    from safehub.accounts.models import Agency

    national = figure_compute(slug="discussions", scope=national_scope(), period=period, now=now)
    for row in national.rows:
        council = Agency.objects.get(code=row.key)
        own = figure_compute(
            slug="discussions", scope=council_scope(council), period=period, now=now
        )
        assert row.values == own.rows[0].values
    mine = figure_compute(slug="attendance", scope=national_scope(), period=period, now=now)
    wirral = figure_compute(
        slug="attendance",
        scope=council_scope(Agency.objects.get(code="LA344")),
        period=period,
        now=now,
    )
    # Only Wirral holds discussions in the demo hub: the totals are the same.
    assert mine.value("invited", "police") == wirral.value("invited", "police")
    assert mine.value("sent_information", "partners") == wirral.value(
        "sent_information", "partners"
    )


def test_the_national_dashboard_reads_the_same_figures_from_the_daily_summary(demo):
    """Nationally the days before today come from the daily summary (safehub.reports.rollup):
    every row, total and headline is what counting the records gives, medians included."""
    from safehub.reports.figures import SOURCES, figures_compute
    from safehub.reports.models import DailyCount, Span
    from safehub.reports.rollup import rollup_counts, rollup_months, rollup_refresh, rollup_sweep

    now = clock.now()
    with clock.frozen(now):
        periods = [Period.last(days) for days in (1, 7, 30, 365)]
        live = {p: figures_compute(scope=national_scope(), period=p, now=now) for p in periods}
        assert rollup_counts("rag", Period.last(30), now, lambda p: {}) is None
        swept = rollup_sweep(budget=600)
        months = list(DailyCount.objects.filter(span=Span.MONTH).values_list("day", flat=True))
        # Every closed day of the window, then its whole months (11 or 12) added up.
        assert swept == f"366 days counted, {len(set(months))} months added up"
        assert len(set(months)) >= 11 and len(months) == len(set(months)) * len(SOURCES)
        assert DailyCount.objects.filter(span=Span.DAY).count() == 366 * len(SOURCES)
        assert rollup_sweep() == "0 days counted"  # once a day, nothing left to add up
        assert rollup_counts("rag", Period.last(30), now, lambda p: {}) is not None

        def same_as_live() -> None:
            for period in periods:
                summed = figures_compute(scope=national_scope(), period=period, now=now)
                for a, b in zip(live[period], summed, strict=True):
                    assert [(r.key, r.label, r.values) for r in a.rows] == [
                        (r.key, r.label, r.values) for r in b.rows
                    ], (a.slug, period)
                    assert (a.total and a.total.values) == (b.total and b.total.values), a.slug
                    assert a.headline == b.headline

        same_as_live()  # from the months (and the days either side)
        DailyCount.objects.filter(span=Span.MONTH).delete()
        same_as_live()  # from the days alone
        assert rollup_sweep() == f"0 days counted, {len(set(months))} months added up"
        # A day counted again after its month was added up: the month's row no longer stands
        # (spoilt here, it is not read), its days are, until the month is added up again.
        first = min(months)
        with clock.frozen(now + dt.timedelta(minutes=5)):
            rollup_refresh(start=first + dt.timedelta(days=3), end=first + dt.timedelta(days=3))
        spoilt = [[999999, {"count": 1}]]
        DailyCount.objects.filter(span=Span.MONTH, day=first).update(rows=spoilt)
        same_as_live()
        with clock.frozen(now + dt.timedelta(minutes=6)):
            assert rollup_months() == 1
            assert rollup_months() == 0
        again = DailyCount.objects.filter(span=Span.MONTH, day=first).values_list("rows", flat=True)
        assert len(again) == len(SOURCES) and spoilt not in list(again)
        same_as_live()
        # And the count by hand agrees with what the summary gives.
        problems, expected, _ = check(national_scope(), None, Period.last(30), now)
        assert not problems, "\n".join(problems)
        assert expected["rag"]["contacts"] > 20


@pytest.mark.django_db(transaction=True)
def test_figures_computed_side_by_side_are_the_figures_computed_one_by_one(demo, settings):
    """On PostgreSQL the page's figures are computed two at a time, each thread on its own
    connection (which sees only what is committed: hence a test that commits). Every row, total
    and headline is what computing them one after another gives, for a council and nationally."""
    from django.db import connection

    from safehub.accounts.models import Agency
    from safehub.reports import figures
    from safehub.reports.figures import figures_compute

    now = clock.now()
    scopes = [council_scope(Agency.objects.get(code="LA344")), national_scope()]
    settings.SAFEHUB_REPORTS_THREADS = 1
    alone = [figures_compute(scope=s, period=Period.last(30), now=now) for s in scopes]
    settings.SAFEHUB_REPORTS_THREADS = 2
    assert figures._lanes() == (2 if connection.vendor == "postgresql" else 1)
    together = [figures_compute(scope=s, period=Period.last(30), now=now) for s in scopes]
    for one, two in zip(alone, together, strict=True):
        assert [f.slug for f in one] == [f.slug for f in two]
        for a, b in zip(one, two, strict=True):
            assert [(r.key, r.values) for r in a.rows] == [(r.key, r.values) for r in b.rows]
            assert (a.total and a.total.values) == (b.total and b.total.values), a.slug
            assert a.headline == b.headline
