"""The calendar's data: closures that make sense, for schools only."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from safehub.accounts.models import Agency, AgencyKind
from safehub.timescales.models import BankHolidayOverride, SchoolClosure, SchoolDayStart


@pytest.fixture
def school(db):
    return Agency.objects.create(
        kind=AgencyKind.SCHOOL, code="URN100001", name="Birkenhead Primary", urn="100001"
    )


def test_a_closure_cannot_end_before_it_starts(school):
    with pytest.raises(IntegrityError), transaction.atomic():
        SchoolClosure.objects.create(
            school=school, first_day=dt.date(2026, 10, 30), last_day=dt.date(2026, 10, 26)
        )
    assert not SchoolClosure.objects.exists()


def test_a_one_day_closure_is_allowed(school):
    SchoolClosure.objects.create(
        school=school, first_day=dt.date(2026, 10, 26), last_day=dt.date(2026, 10, 26)
    )
    assert SchoolClosure.objects.count() == 1


def test_a_closure_form_explains_a_backwards_range(school):
    closure = SchoolClosure(
        school=school, first_day=dt.date(2026, 10, 30), last_day=dt.date(2026, 10, 26)
    )
    with pytest.raises(ValidationError) as error:
        closure.full_clean()
    assert "last_day" in error.value.message_dict


def test_only_a_school_can_have_closures_or_a_start_time(db):
    council = Agency.objects.create(
        kind=AgencyKind.CHILDREN_SERVICES, code="LA344", name="Wirral", la_code="344"
    )
    closure = SchoolClosure(
        school=council, first_day=dt.date(2026, 10, 26), last_day=dt.date(2026, 10, 30)
    )
    with pytest.raises(ValidationError):
        closure.full_clean()
    with pytest.raises(ValidationError):
        SchoolDayStart(school=council, starts_at=dt.time(8, 45)).full_clean()


def test_a_date_has_at_most_one_override(db):
    BankHolidayOverride.objects.create(date=dt.date(2026, 9, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        BankHolidayOverride.objects.create(date=dt.date(2026, 9, 1), is_holiday=False)
