"""Each figure against hand-built records whose answer is known (see conftest.py)."""

import datetime as dt

import pytest

from safehub.reports.figures import (
    BY_SLUG,
    FIGURES,
    drill_contacts,
    figure_compute,
    nearest_rank,
)
from safehub.reports.scope import council_scope, force_scope, national_scope
from safehub.reports.tests.conftest import NOW, PERIOD, at

pytestmark = pytest.mark.django_db


def compute(slug, scope):
    return figure_compute(slug=slug, scope=scope, period=PERIOD, now=NOW)


def drilled(slug, measure, scope, council=""):
    return set(
        drill_contacts(
            slug=slug, measure=measure, scope=scope, period=PERIOD, council=council, now=NOW
        ).values_list("pk", flat=True)
    )


def test_nearest_rank_is_the_value_at_ceil_q_n():
    assert nearest_rank([5, 1, 3, 2, 4], 0.5) == 3
    assert nearest_rank([1, 2, 3, 4], 0.5) == 2
    assert nearest_rank(list(range(1, 11)), 0.9) == 9
    assert nearest_rank([], 0.5) is None


def test_contacts_by_rag_count_the_councils_contacts_received_in_the_period(build):
    w = build.wirral
    red = [build.contact(received=at(3), rag="red"), build.contact(received=at(20), rag="red")]
    amber = build.contact(received=at(27, month=10), rag="amber")
    manual = build.contact(received=at(10), rag="")
    build.contact(received=at(20, month=10), rag="red")  # before the period
    build.contact(received=at(25), rag="red")  # after it (the clock stands at 24 Nov)
    build.contact(council=build.liverpool, received=at(3), rag="green")
    figure = compute("rag", council_scope(w))
    assert [r.key for r in figure.rows] == ["LA344"]
    assert figure.value("contacts") == 4
    assert (figure.value("red"), figure.value("amber"), figure.value("green")) == (2, 1, 0)
    assert figure.value("not_rated") == 1
    assert figure.value("red_rate") == 0.5
    assert drilled("rag", "red", council_scope(w)) == {c.pk for c in red}
    assert drilled("rag", "amber", council_scope(w)) == {amber.pk}
    assert drilled("rag", "not_rated", council_scope(w)) == {manual.pk}


def test_the_period_is_london_days(build):
    """The period starts at London midnight on Mon 26 Oct 2026 (GMT again since the 25th)."""
    inside = build.contact(received=dt.datetime(2026, 10, 26, 0, 0, tzinfo=dt.UTC))
    build.contact(received=dt.datetime(2026, 10, 25, 23, 59, tzinfo=dt.UTC))
    figure = compute("rag", council_scope(build.wirral))
    assert figure.value("contacts") == 1
    assert drilled("rag", "contacts", council_scope(build.wirral)) == {inside.pk}


def test_screening_counts_each_clock_started_in_the_period_against_its_deadline(build):
    def one(received, due, met=None, state=""):
        c = build.contact(received=received)
        build.clock(c, "screening", started=received, due=due, met=met, state=state)
        return c

    on_time = one(at(2), at(2, 16), at(2, 15))
    late = one(at(3), at(3, 16), at(4, 9))
    overdue = one(at(23), at(23, 16))
    waiting = one(at(24, 8), at(24, 12))
    one(at(5), at(5, 16), state="stopped")  # returned, then stopped: not counted
    one(at(1, month=10), at(1, 16, month=10), at(1, 15, month=10))  # before the period
    figure = compute("screening", council_scope(build.wirral))
    assert figure.value("clocks") == 4
    counts = [figure.value(k) for k in ("on_time", "late", "overdue", "waiting")]
    assert counts == [1, 1, 1, 1]
    assert figure.value("on_time_rate") == round(1 / 3, 4)
    scope = council_scope(build.wirral)
    for measure, contact in (
        ("on_time", on_time),
        ("late", late),
        ("overdue", overdue),
        ("waiting", waiting),
    ):
        assert drilled("screening", measure, scope) == {contact.pk}


def test_referral_decisions_and_encompass_use_their_own_clocks(build):
    c = build.contact(received=at(2))
    build.clock(c, "referral_decision", started=at(2, 14), due=at(3, 23), met=at(3, 10))
    build.clock(c, "encompass", started=at(1, 22), due=at(2, 8.5), met=at(2, 9))
    decision = compute("referral_decision", council_scope(build.wirral))
    assert (decision.value("clocks"), decision.value("on_time"), decision.value("late")) == (
        1,
        1,
        0,
    )
    encompass = compute("encompass", council_scope(build.wirral))
    assert (encompass.value("on_time"), encompass.value("late")) == (0, 1)
    assert encompass.value("on_time_rate") == 0.0


def test_the_share_of_contacts_that_became_referrals_counts_signed_off_decisions(build):
    referred = build.contact(received=at(2))
    build.decision(referred, referral=True)
    not_referred = build.contact(received=at(3))
    build.decision(not_referred, referral=False)
    awaiting = build.contact(received=at(4))
    build.decision(awaiting, referral=True, signed_off=False)
    build.contact(received=at(5))
    figure = compute("conversion", council_scope(build.wirral))
    assert figure.value("contacts") == 4
    assert figure.value("decided") == 2
    assert figure.value("referrals") == 1
    assert figure.value("undecided") == 2
    assert figure.value("referral_rate") == 0.5
    assert figure.value("referral_rate_all") == 0.25
    scope = council_scope(build.wirral)
    assert drilled("conversion", "referrals", scope) == {referred.pk}
    assert drilled("conversion", "undecided", scope) == {
        awaiting.pk,
        *drilled("conversion", "undecided", scope) - {awaiting.pk},
    }
    assert len(drilled("conversion", "undecided", scope)) == 2


def test_a_re_referral_is_the_same_child_referred_to_the_same_council_within_365_days(build):
    def referral(received, council=None, referral=True, **child):
        c = build.contact(received=received, council=council, **child)
        build.decision(c, referral=referral)
        return c

    earlier = at(1, month=6)  # 1 Jun 2026: 150-odd days before
    referral(earlier, given="Amy", family="Example")
    again = referral(at(5), given="  AMY ", family="Éxample")  # case, spaces, accent: same
    # Not re-referrals: a year and a half ago; another date of birth; another council; an
    # earlier contact that was not a referral; no date of birth at all.
    referral(at(1, month=5) - dt.timedelta(days=365), given="Leo", family="Old")
    referral(at(6), given="Leo", family="Old")
    referral(earlier, given="Kai", family="Dob", dob=dt.date(2019, 1, 1))
    referral(at(7), given="Kai", family="Dob", dob=dt.date(2019, 1, 2))
    referral(earlier, council=build.liverpool, given="Ravi", family="Moved")
    referral(at(8), given="Ravi", family="Moved")
    referral(earlier, referral=False, given="Zoe", family="Nfa")
    referral(at(9), given="Zoe", family="Nfa")
    referral(earlier, given="Nat", family="Nodob", dob=None)
    referral(at(10), given="Nat", family="Nodob", dob=None)
    figure = compute("rereferral", council_scope(build.wirral))
    assert figure.value("referrals") == 6
    assert figure.value("rereferrals") == 1
    assert figure.value("first") == 5
    assert drilled("rereferral", "rereferrals", council_scope(build.wirral)) == {again.pk}


def test_times_from_the_incident_to_the_hub(build):
    """Three children of one incident in Wirral and one of another incident in Liverpool, and a
    Cheshire incident in Wirral: known hours on each leg."""
    n1 = build.notification(occurred=at(2, 0), recorded=at(2, 1), received=at(2, 3))  # 1 + 2
    n2 = build.notification(occurred=at(3, 0), recorded=at(3, 10), received=at(4, 6))  # 10 + 20
    n3 = build.notification(
        force=build.chs, occurred=at(5, 0), recorded=at(5, 100), received=at(5, 200)
    )  # 100 + 100 hours
    a = build.contact(received=n1.received_at, notification=n1)
    b = build.contact(received=n2.received_at, notification=n2)
    c = build.contact(received=n2.received_at, notification=n2)
    d = build.contact(received=n3.received_at, notification=n3)
    build.contact(council=build.liverpool, received=n1.received_at, notification=n1)
    build.contact(received=at(6))  # a manual contact: no police times
    wirral = council_scope(build.wirral)
    figure = compute("receipt", wirral)
    assert figure.value("count") == 4
    # Overall hours: 3, 30, 30, 200 → median (2nd of 4) 30, 90th percentile (4th) 200.
    assert figure.value("median_overall") == 30.0
    assert figure.value("p90_overall") == 200.0
    assert figure.value("median_recording") == 10.0
    assert figure.value("median_sending") == 20.0
    assert figure.value("within_24h") == 1
    assert figure.value("within_24h_rate") == 0.25
    bands = compute("receipt_bands", wirral)
    assert bands.value("1_4h") == 1 and bands.value("1_2d") == 2 and bands.value("7d_plus") == 1
    assert drilled("receipt_bands", "1_2d", wirral) == {b.pk, c.pk}
    assert drilled("receipt", "within_24h", wirral) == {a.pk}
    assert drilled("receipt_bands", "7d_plus", wirral) == {d.pk}

    forces = compute("receipt_force", wirral)
    assert [r.key for r in forces.rows] == ["CHS", "MSP"]
    # By force each incident counts once: Merseyside's two incidents, 3 and 30 hours.
    assert forces.value("count", "MSP") == 2
    assert forces.value("median_overall", "MSP") == 3.0
    assert forces.value("count") == 3

    # Merseyside's view: its incidents' children, in both councils.
    msp = force_scope(build.msp, PERIOD)
    by_council = compute("receipt", msp)
    assert [r.key for r in by_council.rows] == ["LA341", "LA344"]
    assert by_council.value("count", "LA344") == 3
    assert by_council.value("count", "LA341") == 1
    national = compute("receipt_force", national_scope())
    assert national.value("count") == 3


def test_icpcs_within_15_working_days_of_the_section_47_start(build):
    from safehub.casework.models import Section47

    def enquiry(started, held=None, not_required=False):
        c = build.contact(received=at(1))
        e = build.episode(c, referral=started)
        Section47.objects.create(
            episode=e,
            started_on=started,
            icpc_target=started,
            icpc_on=held,
            icpc_not_required=not_required,
        )
        return c

    # Mon 2 Nov 2026 + 15 working days is Mon 23 Nov (no bank holiday in between).
    within = enquiry(dt.date(2026, 11, 2), dt.date(2026, 11, 23))
    later = enquiry(dt.date(2026, 11, 2), dt.date(2026, 11, 24))
    overdue = enquiry(dt.date(2026, 11, 2))
    waiting = enquiry(dt.date(2026, 11, 20))
    enquiry(dt.date(2026, 11, 3), not_required=True)
    enquiry(dt.date(2026, 9, 1), dt.date(2026, 9, 10))  # started before the period
    scope = council_scope(build.wirral)
    figure = compute("icpc", scope)
    assert figure.value("count") == 5
    assert [figure.value(k) for k in ("within", "later", "overdue", "waiting")] == [1, 1, 1, 1]
    assert figure.value("not_required") == 1
    assert figure.value("within_rate") == round(1 / 3, 4)
    for measure, contact in (
        ("within", within),
        ("later", later),
        ("overdue", overdue),
        ("waiting", waiting),
    ):
        assert drilled("icpc", measure, scope) == {contact.pk}


def test_assessments_on_both_clocks(build):
    """Working Together counts 45 working days from the referral, DfE from the assessment's
    start: one assessment late on the first and on time on the second."""
    from safehub.casework.models import Assessment
    from safehub.reports.scope import Period

    year = Period(dt.date(2025, 11, 25), dt.date(2026, 11, 24))

    def assessment(referral, started, authorised=None):
        c = build.contact(received=at(1))
        e = build.episode(c, referral=referral)
        Assessment.objects.create(episode=e, started_on=started, authorised_on=authorised)
        return c

    # Mon 5 Jan 2026 + 45 working days: Mon 9 Mar; Tue 20 Jan + 45: Tue 24 Mar.
    both = assessment(dt.date(2026, 1, 5), dt.date(2026, 1, 5), dt.date(2026, 3, 9))
    split = assessment(dt.date(2026, 1, 5), dt.date(2026, 1, 20), dt.date(2026, 3, 10))
    overdue = assessment(dt.date(2026, 1, 5), dt.date(2026, 1, 5))
    waiting = assessment(dt.date(2026, 11, 20), dt.date(2026, 11, 20))
    scope = council_scope(build.wirral)
    wt = figure_compute(slug="assessment_wt", scope=scope, period=year, now=NOW)
    dfe = figure_compute(slug="assessment_dfe", scope=scope, period=year, now=NOW)
    assert [wt.value(k) for k in ("within", "later", "overdue", "waiting")] == [1, 1, 1, 1]
    assert [dfe.value(k) for k in ("within", "later", "overdue", "waiting")] == [2, 0, 1, 1]

    def listed(slug, measure):
        return set(
            drill_contacts(
                slug=slug, measure=measure, scope=scope, period=year, now=NOW
            ).values_list("pk", flat=True)
        )

    assert listed("assessment_wt", "later") == {split.pk}
    assert listed("assessment_dfe", "within") == {both.pk, split.pk}
    assert listed("assessment_dfe", "overdue") == {overdue.pk}
    assert listed("assessment_wt", "waiting") == {waiting.pk}


def test_every_drillable_column_is_a_measure_the_drill_down_knows(build):
    scope = council_scope(build.wirral)
    for definition in FIGURES:
        figure = compute(definition.slug, scope)
        drillable = {c.key for c in figure.columns if c.drill}
        assert drillable == set(definition.measures), definition.slug
        assert (definition.drill is None) == (not drillable), definition.slug


def test_the_national_scope_has_no_drill_down(build):
    with pytest.raises(KeyError):
        drill_contacts(slug="rag", measure="red", scope=national_scope(), period=PERIOD, now=NOW)
    assert BY_SLUG["attendance"].drill is None
