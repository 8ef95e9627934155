"""The dashboard's period: a preset (the last 7, 30, 90 or 365 days) or two GOV.UK date inputs."""

import datetime as dt
from typing import Any

from django import forms

from safehub.core import clock
from safehub.reports.scope import DEFAULT_DAYS, MAX_DAYS, PRESETS, Period

CUSTOM = "custom"
PERIOD_CHOICES = [
    ("7", "The last 7 days"),
    ("30", "The last 30 days"),
    ("90", "The last 90 days"),
    ("365", "The last 12 months (365 days)"),
    (CUSTOM, "Choose the dates"),
]
PARTS = ("day", "month", "year")


class PeriodForm(forms.Form):
    period = forms.ChoiceField(
        label="Period", choices=PERIOD_CHOICES, required=False, widget=forms.RadioSelect
    )
    start_day = forms.CharField(required=False)
    start_month = forms.CharField(required=False)
    start_year = forms.CharField(required=False)
    end_day = forms.CharField(required=False)
    end_month = forms.CharField(required=False)
    end_year = forms.CharField(required=False)

    def _date(self, which: str, label: str) -> dt.date | None:
        raw = [str(self.cleaned_data.get(f"{which}_{part}") or "").strip() for part in PARTS]
        if not any(raw):
            self.add_error(f"{which}_day", f"Enter the {label} date")
            return None
        if not all(raw):
            missing = [part for part, value in zip(PARTS, raw, strict=True) if not value]
            self.add_error(
                f"{which}_{missing[0]}", f"The {label} date must include a {' and '.join(missing)}"
            )
            return None
        try:
            day, month, year = (int(value) for value in raw)
            if year < 1000:
                raise ValueError
            return dt.date(year, month, day)
        except ValueError:
            self.add_error(f"{which}_day", f"The {label} date must be a real date")
            return None

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if data.get("period") != CUSTOM:
            return data
        start = self._date("start", "start")
        end = self._date("end", "end")
        today = clock.now().astimezone(clock.LONDON).date()
        if start and end:
            if end < start:
                self.add_error(
                    "end_day", "The end date must be the same as or after the start date"
                )
            elif end > today:
                self.add_error("end_day", "The end date must be today or in the past")
            elif (end - start).days + 1 > MAX_DAYS:
                self.add_error("end_day", f"Choose a period of {MAX_DAYS} days or fewer")
        data["start"], data["end"] = start, end
        return data

    def chosen(self) -> Period:
        """The period asked for; the last 30 days when nothing (or nothing valid) was asked."""
        if not self.is_bound or not self.is_valid():
            return Period.last(DEFAULT_DAYS)
        choice = self.cleaned_data.get("period") or str(DEFAULT_DAYS)
        if choice == CUSTOM:
            return Period(self.cleaned_data["start"], self.cleaned_data["end"])
        return Period.last(PRESETS[choice])

    def error_list(self) -> list[tuple[str, str]]:
        """(field id, message) for the error summary, in the page's order."""
        order = ["start_day", "start_month", "start_year", "end_day", "end_month", "end_year"]
        found = []
        for name in order:
            for message in self.errors.get(name, []):
                found.append((name.replace("_", "-"), str(message)))
        return found

    def date_error(self, which: str) -> str:
        for part in PARTS:
            errors = self.errors.get(f"{which}_{part}")
            if errors:
                return str(errors[0])
        return ""


def period_form(data: Any) -> PeriodForm:
    """A bound form only when the page was asked with a period."""
    wanted = {"period", *(f"{w}_{p}" for w in ("start", "end") for p in PARTS)}
    if not any(key in data for key in wanted):
        return PeriodForm()
    return PeriodForm(data)
