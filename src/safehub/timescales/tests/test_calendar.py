"""The working-day calendar: statutory.md §1.5 and §8 (working days, bank holidays, test vectors)
and §3 (Operation Encompass: before the start of the next school day)."""

import datetime as dt

import pytest

from safehub.accounts.models import Agency, AgencyKind
from safehub.core.clock import LONDON
from safehub.timescales.calendar import (
    WorkingCalendar,
    WorkingDayConvention,
    add_calendar_months,
    add_working_days,
    bank_holidays,
    calendar_reset,
    encompass_due,
    end_of_working_day,
    is_school_day,
    is_working_day,
    london_date,
    screening_due,
    working_calendar,
    working_days_between,
    working_days_due,
)
from safehub.timescales.models import BankHolidayOverride, SchoolClosure, SchoolDayStart

D = dt.date
UTC = dt.UTC


def london(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LONDON)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_calendar():
    calendar_reset()
    yield
    calendar_reset()


@pytest.fixture
def school(db):
    return Agency.objects.create(
        kind=AgencyKind.SCHOOL, code="URN100001", name="Birkenhead Primary", urn="100001"
    )


@pytest.fixture
def other_school(db):
    return Agency.objects.create(
        kind=AgencyKind.SCHOOL, code="URN100002", name="Wallasey High", urn="100002"
    )


# Bank holidays (§8) ------------------------------------------------------------------------------


def test_2026_bank_holidays_are_the_england_and_wales_list(db):
    assert list(bank_holidays(2026)) == [
        D(2026, 1, 1),
        D(2026, 4, 3),
        D(2026, 4, 6),
        D(2026, 5, 4),
        D(2026, 5, 25),
        D(2026, 8, 31),
        D(2026, 12, 25),
        D(2026, 12, 28),
    ]


def test_2027_bank_holidays_are_the_england_and_wales_list(db):
    assert list(bank_holidays(2027)) == [
        D(2027, 1, 1),
        D(2027, 3, 26),
        D(2027, 3, 29),
        D(2027, 5, 3),
        D(2027, 5, 31),
        D(2027, 8, 30),
        D(2027, 12, 27),
        D(2027, 12, 28),
    ]


def test_boxing_day_on_a_saturday_gives_the_following_monday_instead(db):
    assert bank_holidays(2026)[D(2026, 12, 28)] == "Boxing Day (observed)"
    assert D(2026, 12, 26) not in bank_holidays(2026)


def test_scottish_holidays_are_not_working_day_exceptions(db):
    # 2 Jan and St Andrew's Day (30 Nov 2026 is a Monday) are Scottish bank holidays only.
    assert is_working_day(D(2026, 1, 2))
    assert is_working_day(D(2026, 11, 30))


def test_weekends_and_bank_holidays_are_not_working_days(db):
    assert is_working_day(D(2026, 11, 24))
    assert not is_working_day(D(2026, 11, 28))  # Saturday
    assert not is_working_day(D(2026, 11, 29))  # Sunday
    assert not is_working_day(D(2026, 4, 3))  # Good Friday


def test_the_package_knows_past_one_off_holidays(db):
    assert not is_working_day(D(2022, 9, 19))  # State funeral of Elizabeth II
    assert not is_working_day(D(2023, 5, 8))  # Coronation of Charles III


def test_holidays_are_found_for_any_year_asked(db):
    assert D(2040, 12, 25) in bank_holidays(2040)
    assert not is_working_day(D(1999, 12, 31))  # Millennium bank holiday


# Working-day arithmetic: the vectors of §8 (start = day 0) --------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        (D(2026, 12, 24), 1, D(2026, 12, 29)),  # T1 over Christmas and Boxing Day (observed)
        (D(2026, 8, 28), 1, D(2026, 9, 1)),  # over the August bank holiday
        (D(2026, 4, 2), 15, D(2026, 4, 27)),  # T4 over Easter
        (D(2026, 12, 18), 15, D(2027, 1, 13)),  # T4 over Christmas and New Year
        (D(2026, 5, 1), 45, D(2026, 7, 7)),  # T3 over both May bank holidays
    ],
)
def test_working_days_are_counted_after_the_start_day(db, start, n, due):
    assert add_working_days(start, n) == due
    assert add_working_days(start, n, convention="exclusive") == due
    assert working_days_between(start, due) == n


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        (D(2026, 12, 24), 1, D(2026, 12, 24)),
        (D(2026, 8, 28), 1, D(2026, 8, 28)),
        (D(2026, 4, 2), 15, D(2026, 4, 24)),
        (D(2026, 12, 18), 15, D(2027, 1, 12)),
        (D(2026, 5, 1), 45, D(2026, 7, 6)),
    ],
)
def test_the_inclusive_convention_is_one_working_day_stricter(db, start, n, due):
    assert add_working_days(start, n, convention=WorkingDayConvention.INCLUSIVE) == due
    assert working_days_between(due, add_working_days(start, n)) == 1


def test_the_inclusive_convention_from_a_weekend_rolls_onto_monday_as_its_first_day(db):
    # As the validator's `Saturday + CustomBusinessDay(n - 1)` does.
    assert add_working_days(D(2026, 11, 28), 1, convention="inclusive") == D(2026, 11, 30)
    assert add_working_days(D(2026, 11, 28), 2, convention="inclusive") == D(2026, 11, 30)
    assert add_working_days(D(2026, 11, 28), 3, convention="inclusive") == D(2026, 12, 1)
    assert add_working_days(D(2026, 11, 28), 2) == D(2026, 12, 1)


def test_the_inclusive_convention_needs_at_least_one_day(db):
    with pytest.raises(ValueError):
        add_working_days(D(2026, 11, 24), 0, convention="inclusive")


def test_an_unknown_convention_is_refused(db):
    with pytest.raises(ValueError):
        add_working_days(D(2026, 11, 24), 1, convention="calendar")


def test_zero_working_days_is_the_start_day_and_negative_counts_back(db):
    assert add_working_days(D(2026, 11, 28), 0) == D(2026, 11, 28)
    assert add_working_days(D(2026, 12, 29), -1) == D(2026, 12, 24)
    assert add_working_days(D(2026, 4, 7), -2) == D(2026, 4, 1)


def test_working_days_between_counts_after_a_up_to_b(db):
    assert working_days_between(D(2026, 11, 24), D(2026, 11, 24)) == 0
    assert working_days_between(D(2026, 11, 27), D(2026, 11, 29)) == 0  # Fri to Sun
    assert working_days_between(D(2026, 11, 27), D(2026, 11, 30)) == 1
    assert working_days_between(D(2026, 12, 31), D(2026, 12, 24)) == -3
    assert working_days_between(D(2026, 1, 1), D(2027, 1, 1)) == 253  # 261 weekdays - 8


def test_working_days_between_agrees_with_day_by_day_counting(db):
    calendar = working_calendar()
    start = D(2025, 12, 1)
    for offset in range(0, 500, 7):
        end = start + dt.timedelta(days=offset)
        expected = sum(
            calendar.is_working_day(start + dt.timedelta(days=i)) for i in range(1, offset + 1)
        )
        assert calendar.working_days_between(start, end) == expected


def test_a_datetime_is_refused_where_a_london_date_is_meant(db):
    with pytest.raises(TypeError):
        add_working_days(utc(2026, 11, 24, 23, 30), 1)


# Administrator's overrides ----------------------------------------------------------------------


def test_an_added_one_off_bank_holiday_moves_the_deadline(db):
    assert add_working_days(D(2026, 8, 28), 1) == D(2026, 9, 1)
    BankHolidayOverride.objects.create(date=D(2026, 9, 1), is_holiday=True, name="State funeral")
    assert not is_working_day(D(2026, 9, 1))
    assert add_working_days(D(2026, 8, 28), 1) == D(2026, 9, 2)
    assert bank_holidays(2026)[D(2026, 9, 1)] == "State funeral"


def test_a_removed_bank_holiday_becomes_a_working_day(db):
    BankHolidayOverride.objects.create(date=D(2026, 8, 31), is_holiday=False, name="Moved")
    assert is_working_day(D(2026, 8, 31))
    assert add_working_days(D(2026, 8, 28), 1) == D(2026, 8, 31)
    assert D(2026, 8, 31) not in bank_holidays(2026)


def test_an_override_can_undo_a_package_one_off_holiday(db):
    BankHolidayOverride.objects.create(date=D(2022, 9, 19), is_holiday=False)
    assert is_working_day(D(2022, 9, 19))


def test_a_changed_or_deleted_override_is_seen_without_a_reset(db):
    override = BankHolidayOverride.objects.create(date=D(2026, 9, 1), is_holiday=True)
    assert not is_working_day(D(2026, 9, 1))
    override.is_holiday = False
    override.save()
    assert is_working_day(D(2026, 9, 1))
    override.is_holiday = True
    override.save()
    assert not is_working_day(D(2026, 9, 1))
    override.delete()
    assert is_working_day(D(2026, 9, 1))


def test_a_calendar_built_in_code_needs_no_database():
    calendar = WorkingCalendar({D(2026, 9, 1): True})
    assert calendar.add_working_days(D(2026, 8, 28), 1) == D(2026, 9, 2)
    assert WorkingCalendar().add_working_days(D(2026, 12, 24), 1) == D(2026, 12, 29)


# Calendar months (T5, T6) -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "due"),
    [
        (D(2026, 3, 10), 3, D(2026, 6, 10)),
        (D(2026, 11, 30), 3, D(2027, 2, 28)),
        (D(2027, 11, 30), 3, D(2028, 2, 29)),
        (D(2026, 8, 31), 6, D(2027, 2, 28)),
        (D(2026, 10, 31), 1, D(2026, 11, 30)),
        (D(2026, 12, 15), 1, D(2027, 1, 15)),
        (D(2027, 1, 31), -2, D(2026, 11, 30)),
    ],
)
def test_calendar_months_keep_the_day_or_clamp_to_the_month_end(start, months, due):
    assert add_calendar_months(start, months) == due


# Ends of days and working-day deadlines ----------------------------------------------------------


def test_end_of_working_day_is_one_second_before_london_midnight():
    assert end_of_working_day(D(2026, 11, 24)) == utc(2026, 11, 24, 23, 59, 59)
    assert end_of_working_day(D(2026, 6, 5)) == utc(2026, 6, 5, 22, 59, 59)
    assert end_of_working_day(D(2026, 10, 25)) == utc(2026, 10, 25, 23, 59, 59)  # clocks go back
    assert end_of_working_day(D(2026, 3, 29)) == utc(2026, 3, 29, 22, 59, 59)  # clocks go forward


def test_the_london_date_of_a_summer_night_is_the_next_day():
    assert london_date(utc(2026, 6, 4, 23, 30)) == D(2026, 6, 5)
    assert london_date(utc(2026, 12, 4, 23, 30)) == D(2026, 12, 4)


def test_working_days_due_counts_from_the_london_date(db):
    assert working_days_due(utc(2026, 6, 4, 23, 30), 1) == london(2026, 6, 8, 23, 59, 59)
    assert working_days_due(D(2026, 12, 18), 15) == london(2027, 1, 13, 23, 59, 59)


def test_a_naive_datetime_is_refused(db):
    with pytest.raises(ValueError):
        working_days_due(dt.datetime(2026, 11, 24, 9, 0), 1)
    with pytest.raises(ValueError):
        screening_due(dt.datetime(2026, 11, 24, 9, 0), "red")


# Screening by RAG rating ------------------------------------------------------------------------


def test_red_is_due_four_hours_after_receipt_across_midnight(db):
    assert screening_due(london(2026, 11, 24, 22, 0), "red") == utc(2026, 11, 25, 2, 0)


def test_red_counts_real_hours_when_the_clocks_go_forward(db):
    # 00:30 GMT on 29 Mar 2026; the clocks jump 01:00 → 02:00, so four hours later is 05:30 BST.
    assert screening_due(london(2026, 3, 29, 0, 30), "red") == london(2026, 3, 29, 5, 30)


def test_red_counts_real_hours_when_the_clocks_go_back(db):
    # 23:30 BST on 24 Oct 2026 = 22:30Z; the clocks repeat 01:00-02:00, so it is 01:30 GMT.
    assert screening_due(london(2026, 10, 24, 23, 30), "red") == utc(2026, 10, 25, 2, 30)


def test_amber_received_on_friday_is_due_end_of_monday(db):
    due = screening_due(london(2026, 11, 20, 17, 0), "amber")
    assert due == london(2026, 11, 23, 23, 59, 59)


def test_amber_received_on_a_bank_holiday_monday_is_due_end_of_tuesday(db):
    due = screening_due(london(2026, 8, 31, 10, 0), "amber")
    assert due == london(2026, 9, 1, 23, 59, 59)


def test_green_received_on_christmas_eve_is_due_end_of_new_years_eve(db):
    due = screening_due(london(2026, 12, 24, 11, 0), "green")
    assert due == london(2026, 12, 31, 23, 59, 59)


def test_amber_across_the_october_clock_change_is_midnight_gmt(db):
    # Received Fri 23 Oct 2026 17:00 BST; due Mon 26 Oct 23:59:59 GMT, which is 23:59:59Z.
    due = screening_due(london(2026, 10, 23, 17, 0), "amber")
    assert due == utc(2026, 10, 26, 23, 59, 59)


def test_amber_received_after_midnight_bst_counts_from_the_london_day(db):
    # 23:30Z on Thu 22 Oct is 00:30 BST on Friday: due end of Monday, not end of Friday.
    due = screening_due(utc(2026, 10, 22, 23, 30), "amber")
    assert due == utc(2026, 10, 26, 23, 59, 59)


def test_rag_ratings_are_read_case_blind_and_unknown_ones_refused(db):
    assert screening_due(london(2026, 11, 20, 17, 0), "Amber") == london(2026, 11, 23, 23, 59, 59)
    with pytest.raises(ValueError):
        screening_due(london(2026, 11, 20, 17, 0), "blue")


def test_due_times_are_returned_in_utc(db):
    assert screening_due(london(2026, 6, 5, 9, 0), "amber").tzinfo is UTC
    assert screening_due(london(2026, 6, 5, 9, 0), "red").tzinfo is UTC


# Operation Encompass: before the start of the next school day ------------------------------------


def test_encompass_recorded_friday_night_is_due_monday_0830(school):
    assert encompass_due(london(2026, 11, 20, 22, 0), school) == london(2026, 11, 23, 8, 30)


def test_encompass_recorded_on_saturday_is_due_monday_0830(school):
    assert encompass_due(london(2026, 11, 21, 14, 0), school) == london(2026, 11, 23, 8, 30)


def test_encompass_recorded_on_sunday_is_due_monday_0830(school):
    assert encompass_due(london(2026, 11, 22, 23, 59), school) == london(2026, 11, 23, 8, 30)


def test_encompass_recorded_on_a_bank_holiday_monday_is_due_tuesday_0830(school):
    assert encompass_due(london(2026, 5, 4, 7, 0), school) == london(2026, 5, 5, 8, 30)


def test_encompass_recorded_before_easter_is_due_after_easter_monday(school):
    # Good Friday 3 Apr and Easter Monday 6 Apr 2026.
    assert encompass_due(london(2026, 4, 2, 18, 0), school) == london(2026, 4, 7, 8, 30)
    assert encompass_due(london(2026, 4, 3, 7, 0), school) == london(2026, 4, 7, 8, 30)


def test_encompass_recorded_before_the_school_day_starts_is_due_that_morning(school):
    assert encompass_due(london(2026, 11, 24, 8, 0), school) == london(2026, 11, 24, 8, 30)


def test_encompass_recorded_at_the_start_of_the_day_is_due_the_next_school_day(school):
    assert encompass_due(london(2026, 11, 24, 8, 30), school) == london(2026, 11, 25, 8, 30)


def test_encompass_recorded_after_the_start_of_the_day_is_due_the_next_school_day(school):
    assert encompass_due(london(2026, 11, 24, 8, 31), school) == london(2026, 11, 25, 8, 30)
    assert encompass_due(london(2026, 11, 27, 8, 31), school) == london(2026, 11, 30, 8, 30)


def test_encompass_skips_the_schools_own_half_term(school, other_school):
    SchoolClosure.objects.create(
        school=school, first_day=D(2026, 10, 26), last_day=D(2026, 10, 30), reason="Half term"
    )
    recorded_at = london(2026, 10, 23, 16, 0)
    assert encompass_due(recorded_at, school) == london(2026, 11, 2, 8, 30)
    assert encompass_due(recorded_at, other_school) == london(2026, 10, 26, 8, 30)
    assert encompass_due(recorded_at, None) == london(2026, 10, 26, 8, 30)


def test_encompass_skips_an_inset_day_that_follows_a_weekend(school):
    SchoolClosure.objects.create(school=school, first_day=D(2027, 1, 4), last_day=D(2027, 1, 4))
    assert encompass_due(london(2027, 1, 2, 12, 0), school) == london(2027, 1, 5, 8, 30)


def test_encompass_uses_the_schools_own_start_time(school, other_school):
    SchoolDayStart.objects.create(school=school, starts_at=dt.time(8, 45))
    assert encompass_due(london(2026, 11, 24, 8, 40), school) == london(2026, 11, 24, 8, 45)
    assert encompass_due(london(2026, 11, 24, 8, 40), other_school) == london(2026, 11, 25, 8, 30)
    assert encompass_due(london(2026, 11, 20, 22, 0), school) == london(2026, 11, 23, 8, 45)


def test_encompass_over_christmas_skips_christmas_boxing_day_and_new_year(school):
    assert encompass_due(london(2026, 12, 24, 9, 0), school) == london(2026, 12, 29, 8, 30)
    assert encompass_due(london(2026, 12, 25, 12, 0), school) == london(2026, 12, 29, 8, 30)
    assert encompass_due(london(2026, 12, 31, 9, 0), school) == london(2027, 1, 4, 8, 30)


def test_encompass_times_in_utc_are_read_as_london_summer_time(school):
    # 07:00Z is 08:00 BST, before the 08:30 BST start, which is 07:30Z.
    assert encompass_due(utc(2026, 6, 5, 7, 0), school) == utc(2026, 6, 5, 7, 30)
    # 07:45Z is 08:45 BST, after the start: due Monday.
    assert encompass_due(utc(2026, 6, 5, 7, 45), school) == utc(2026, 6, 8, 7, 30)


def test_encompass_over_the_october_clock_change_is_0830_gmt(school):
    assert encompass_due(london(2026, 10, 24, 12, 0), school) == utc(2026, 10, 26, 8, 30)


def test_encompass_respects_an_added_one_off_bank_holiday(school):
    BankHolidayOverride.objects.create(date=D(2026, 11, 25), is_holiday=True, name="One-off")
    assert encompass_due(london(2026, 11, 24, 9, 0), school) == london(2026, 11, 26, 8, 30)


def test_encompass_with_no_school_uses_working_days_and_the_default_start(db):
    assert encompass_due(london(2026, 11, 20, 22, 0), None) == london(2026, 11, 23, 8, 30)


def test_encompass_refuses_an_agency_that_is_not_a_school(db):
    council = Agency(kind=AgencyKind.CHILDREN_SERVICES, code="LA344", name="Wirral", la_code="344")
    with pytest.raises(ValueError):
        encompass_due(london(2026, 11, 24, 9, 0), council)


def test_encompass_gives_up_on_a_school_closed_for_more_than_a_year(school):
    SchoolClosure.objects.create(school=school, first_day=D(2026, 1, 1), last_day=D(2028, 1, 1))
    with pytest.raises(ValueError):
        encompass_due(london(2026, 11, 24, 9, 0), school)


def test_a_school_day_is_a_working_day_the_school_is_open(school):
    SchoolClosure.objects.create(school=school, first_day=D(2026, 10, 26), last_day=D(2026, 10, 30))
    assert is_school_day(D(2026, 10, 23), school)
    assert not is_school_day(D(2026, 10, 26), school)
    assert not is_school_day(D(2026, 10, 30), school)
    assert is_school_day(D(2026, 11, 2), school)
    assert not is_school_day(D(2026, 10, 31), school)  # Saturday
    assert not is_school_day(D(2026, 12, 28), school)  # Boxing Day (observed)
    assert is_school_day(D(2026, 10, 26), None)
