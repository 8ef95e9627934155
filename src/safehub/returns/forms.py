import datetime as dt
from typing import Any

from django import forms

from safehub.timescales.calendar import add_calendar_months

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MAX_DAYS = 366  # Annex A looks back six months; a year at most
CENSUS_YEARS = 3  # the census years offered: this one and the two before


def annex_a_default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """The six months to today, as an inspection's first day asks for them."""
    return add_calendar_months(today, -6), today


class AnnexAForm(forms.Form):
    start = forms.DateField(label="From", widget=DATE_INPUT, input_formats=["%Y-%m-%d"])
    end = forms.DateField(label="To (included)", widget=DATE_INPUT, input_formats=["%Y-%m-%d"])

    def __init__(self, *args: Any, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if isinstance(start, dt.date) and isinstance(end, dt.date):
            if end < start:
                self.add_error("end", "The period must end on or after the day it starts")
            elif (end - start).days >= MAX_DAYS:
                self.add_error("end", f"A period is at most {MAX_DAYS} days")
            elif start > self.today:
                self.add_error("start", "The period cannot start in the future")
        return data


def census_year_of(today: dt.date) -> int:
    """The census year `today` falls in, named by the year it ends (1 April to 31 March)."""
    return today.year + 1 if today >= dt.date(today.year, 4, 1) else today.year


def census_year_label(year: int) -> str:
    return f"1 April {year - 1} to 31 March {year}"


class CensusForm(forms.Form):
    year = forms.TypedChoiceField(
        label="Census year",
        coerce=int,
        widget=forms.RadioSelect,
        help_text="The census is built as the records stood on the year's last day, 31 March.",
    )

    def __init__(self, *args: Any, today: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = census_year_of(today)
        years = range(current, current - CENSUS_YEARS, -1)
        self.fields["year"].choices = [  # type: ignore[attr-defined]
            (str(year), census_year_label(year) + (" (so far)" if year == current else ""))
            for year in years
        ]
