"""A clock carries its contact's council (the dashboard counts clocks by it): set when the clock
is built, and moved with the contact when the police's amendment or a person routes it."""

import datetime as dt
import json

from safehub.accounts.models import Agency
from safehub.core import clock
from safehub.core.testing import example
from safehub.intake.models import Channel
from safehub.intake.services import notification_amend, notification_receive
from safehub.referrals.models import Contact
from safehub.referrals.services import contact_route
from safehub.timescales.models import Clock

RECEIVED = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def _mismatched() -> list[tuple[object, object, object]]:
    """Clocks whose council is not their contact's."""
    return [
        (c.pk, c.local_authority_id, c.contact.local_authority_id)
        for c in Clock.objects.select_related("contact")
        if c.local_authority_id != c.contact.local_authority_id
    ]


def _receive() -> dict:
    doc = example("notification-high-risk.json")
    with clock.frozen(RECEIVED):
        notification_receive(raw=json.dumps(doc).encode(), channel=Channel.IMPORT, now=RECEIVED)
    return doc


def test_a_clock_carries_its_contacts_council(reference):
    _receive()
    assert Clock.objects.count() > 0
    assert not Clock.objects.filter(local_authority__isnull=True).exists()
    assert _mismatched() == []


def test_an_amendment_that_moves_a_child_moves_its_clocks(reference):
    doc = _receive()
    changed = json.loads(json.dumps(doc))
    changed["people"][2]["address"] = {"line1": "1 New Street", "postcode": "L8 1AA"}
    changed["people"][2]["lives_at_incident_address"] = False
    with clock.frozen(RECEIVED + dt.timedelta(minutes=30)):
        notification_amend(
            force_code=doc["force_code"],
            incident_reference=doc["incident_reference"],
            raw=json.dumps(changed).encode(),
            channel=Channel.API,
        )
    amy = Contact.objects.get(child_ref="C1")
    assert amy.local_authority.la_code == "341"
    assert set(
        Clock.objects.filter(contact=amy).values_list("local_authority__la_code", flat=True)
    ) == {"341"}
    assert _mismatched() == []


def test_routing_a_contact_by_hand_moves_its_clocks(reference, mary):
    _receive()
    amy = Contact.objects.get(child_ref="C1")
    assert amy.local_authority_id == mary.agency_id
    elsewhere = Agency.objects.exclude(pk=mary.agency_id).filter(kind=mary.agency.kind).first()
    assert elsewhere is not None
    with clock.frozen(RECEIVED + dt.timedelta(minutes=30)):
        contact_route(contact=amy, routed_by=mary, council=elsewhere, reason="Lives there now.")
    assert set(Clock.objects.filter(contact=amy).values_list("local_authority_id", flat=True)) == {
        elsewhere.pk
    }
    assert _mismatched() == []


def test_the_migration_backfills_the_council_from_the_contact(reference):
    import importlib

    from django.db import connection

    migration = importlib.import_module("safehub.timescales.migrations.0005_clock_local_authority")

    _receive()
    Clock.objects.update(local_authority=None)
    with connection.cursor() as cursor:
        cursor.execute(migration.BACKFILL)
    assert not Clock.objects.filter(local_authority__isnull=True).exists()
    assert _mismatched() == []


def test_the_clock_figures_follow_a_contact_routed_elsewhere(reference, mary):
    """The dashboard counts a clock under its contact's council, before and after routing, for
    a council, its force and the nation (the meaning the figures had when they joined the
    contact)."""
    from safehub.intake.models import Notification
    from safehub.reports.figures import figure_compute
    from safehub.reports.scope import Period, council_scope, force_scope, national_scope

    _receive()
    period = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 23))
    now = RECEIVED + dt.timedelta(hours=1)
    home = mary.agency
    elsewhere = Agency.objects.exclude(pk=home.pk).filter(kind=home.kind).first()
    assert elsewhere is not None
    force = Notification.objects.get().force
    assert force is not None

    def started(scope) -> int:
        return sum(
            figure_compute(slug=slug, scope=scope, period=period, now=now).value("clocks")
            for slug in ("screening", "referral_decision", "encompass")
        )

    def by_contact(council) -> int:
        return (
            Clock.objects.exclude(state="stopped")
            .filter(kind__in=["screening", "referral_decision", "encompass"])
            .filter(contact__local_authority=council)
            .count()
        )

    total = started(national_scope())
    assert total == Clock.objects.exclude(state="stopped").count() > 0
    assert started(council_scope(home)) == by_contact(home) == total
    assert started(force_scope(force, period)) == total
    amy = Contact.objects.get(child_ref="C1")
    moved = Clock.objects.filter(contact=amy).exclude(state="stopped").count()
    with clock.frozen(RECEIVED + dt.timedelta(minutes=30)):
        contact_route(contact=amy, routed_by=mary, council=elsewhere, reason="Lives there now.")
    assert started(council_scope(home)) == by_contact(home) == total - moved
    assert started(council_scope(elsewhere)) == by_contact(elsewhere) == moved > 0
    assert started(national_scope()) == total
    assert started(force_scope(force, period)) == total
