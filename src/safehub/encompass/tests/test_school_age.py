"""Only a child of school age gets a notice: reception to 17, aged 4 to 17 on the day of the
incident (Fri 20 Nov 2026 in the example), from the date of birth or else the officer's estimate."""

import datetime as dt

import pytest

from safehub.encompass.models import EncompassNotice
from safehub.encompass.services import encompass_is_school_age
from safehub.encompass.tests.bodies import high_risk

INCIDENT_DAY = dt.date(2026, 11, 20)


def test_three_years_eleven_months_gets_no_notice(receive):
    assert "C1" not in receive(high_risk(date_of_birth="2022-12-21"))


def test_fourth_birthday_on_the_day_of_the_incident_gets_a_notice(receive):
    assert "C1" in receive(high_risk(date_of_birth="2022-11-20"))


def test_seventeen_the_day_before_turning_eighteen_gets_a_notice(receive):
    assert "C1" in receive(high_risk(date_of_birth="2008-11-21"))


def test_eighteenth_birthday_on_the_day_of_the_incident_gets_no_notice(receive):
    assert "C1" not in receive(high_risk(date_of_birth="2008-11-20"))


def test_unborn_child_gets_no_notice(receive):
    body = high_risk(
        date_of_birth=None, unborn=True, expected_date_of_birth="2027-02-01", school_urn=None
    )
    assert "C1" not in receive(body)


def test_a_toddler_gets_no_notice(receive):
    notices = receive()
    assert set(notices) == {"C1"}  # Leo (C2) is two
    assert EncompassNotice.objects.count() == 1


@pytest.mark.parametrize(
    ("estimate", "expected"), [(3, False), (4, True), (9, True), (17, True), (18, False)]
)
def test_age_estimate_is_used_without_a_date_of_birth(receive, estimate, expected):
    notices = receive(high_risk(date_of_birth=None, age_estimate=estimate))
    assert ("C1" in notices) is expected


def test_the_date_of_birth_wins_over_an_estimate():
    assert not encompass_is_school_age(
        date_of_birth=dt.date(2024, 1, 20), age_estimate=9, unborn=False, on=INCIDENT_DAY
    )


def test_unknown_age_is_not_school_age():
    assert not encompass_is_school_age(
        date_of_birth=None, age_estimate=None, unborn=False, on=INCIDENT_DAY
    )


def test_age_is_taken_on_the_london_date_of_the_incident(receive):
    # 23:30 UTC on 19 Jun is 00:30 on 20 Jun in London: the fourth birthday has come.
    body = high_risk(date_of_birth="2022-06-20")
    body["occurred_at"] = "2026-06-19T23:30:00+00:00"
    body["recorded_at"] = "2026-06-20T01:00:00+00:00"
    assert "C1" in receive(body)
