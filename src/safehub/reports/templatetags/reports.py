"""What the dashboard's GOV.UK date inputs need from the period form."""

from typing import Any

from django import template

from safehub.reports.forms import PeriodForm

register = template.Library()

_PARTS = [("day", "Day", 2), ("month", "Month", 2), ("year", "Year", 4)]


@register.simple_tag
def date_error(form: PeriodForm, which: str) -> str:
    return form.date_error(which) if form.is_bound else ""


@register.simple_tag
def date_parts(form: PeriodForm, which: str, period: Any = None) -> list[dict[str, Any]]:
    """The day, month and year inputs of `which` ("start" or "end"): what was typed when the
    dates were chosen, else the dates of the period shown."""
    shown = period or None
    parts = []
    for name, label, width in _PARTS:
        if form.is_bound and form.data.get("period") == "custom":
            value = form.data.get(f"{which}_{name}", "")
        elif shown is not None:
            value = getattr(getattr(shown, which), name)
        else:
            value = ""
        parts.append({"name": name, "label": label, "width": width, "value": value})
    return parts
