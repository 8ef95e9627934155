"""A notice is due at the start of the first school day that starts strictly after the police
recorded the notification (timescales.calendar.encompass_due): the school's own start time and
closures count; the council inbox uses the default calendar."""

import datetime as dt

from safehub.accounts.models import Agency
from safehub.encompass.tests.bodies import high_risk
from safehub.timescales.models import SchoolClosure, SchoolDayStart

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_friday_night_is_due_monday_at_half_past_eight(receive):
    # Recorded Fri 20 Nov 2026 23:40 (GMT).
    assert receive()["C1"].due_at == at("2026-11-23T08:30:00+00:00")


def test_the_schools_own_start_time_counts(receive):
    SchoolDayStart.objects.create(
        school=Agency.objects.get(code="URN900001"), starts_at=dt.time(8, 45)
    )
    assert receive()["C1"].due_at == at("2026-11-23T08:45:00+00:00")


def test_a_school_closure_moves_the_due_day(receive):
    SchoolClosure.objects.create(
        school=Agency.objects.get(code="URN900001"),
        first_day=dt.date(2026, 11, 23),
        last_day=dt.date(2026, 11, 24),
        reason="INSET days",
    )
    assert receive()["C1"].due_at == at("2026-11-25T08:30:00+00:00")


def test_the_council_inbox_ignores_a_schools_closure(receive):
    school = Agency.objects.get(code="URN900001")
    school.dsl_email = ""
    school.save()
    SchoolClosure.objects.create(
        school=school, first_day=dt.date(2026, 11, 23), last_day=dt.date(2026, 11, 24)
    )
    notice = receive()["C1"]
    assert notice.recipient.code == "EDU344"
    assert notice.due_at == at("2026-11-23T08:30:00+00:00")


def test_recorded_at_eight_on_a_school_day_is_due_the_same_morning(receive):
    body = high_risk()
    body["occurred_at"] = "2026-11-26T07:00:00+00:00"
    body["recorded_at"] = "2026-11-26T08:00:00+00:00"
    assert receive(body)["C1"].due_at == at("2026-11-26T08:30:00+00:00")


def test_recorded_after_the_start_of_a_school_day_is_due_the_next_one(receive):
    body = high_risk()
    body["occurred_at"] = "2026-11-26T07:00:00+00:00"
    body["recorded_at"] = "2026-11-26T08:31:00+00:00"
    assert receive(body)["C1"].due_at == at("2026-11-27T08:30:00+00:00")
