import datetime as dt
from typing import Any

from django import forms

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MAX_DAYS = 366


class ExportForm(forms.Form):
    start = forms.DateField(label="From", widget=DATE_INPUT, input_formats=["%Y-%m-%d"])
    end = forms.DateField(label="To (included)", widget=DATE_INPUT, input_formats=["%Y-%m-%d"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if isinstance(start, dt.date) and isinstance(end, dt.date):
            if end < start:
                self.add_error("end", "The period must end on or after the day it starts")
            elif (end - start).days >= MAX_DAYS:
                self.add_error("end", f"A period is at most {MAX_DAYS} days")
        return data
