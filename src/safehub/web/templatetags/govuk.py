"""Template helpers that bind Django form fields to GOV.UK Design System markup.

The markup itself lives in `templates/components/`; this module only works out what a template
cannot: which GOV.UK component a widget maps to, the element ids (GOV.UK's `<id>-hint` and
`<id>-error`), the `aria-describedby` chain, and the classes a widget needs.

    {% load govuk %}
    {% govuk_field form.email size="l" is_page_heading=True %}

is shorthand for `{% include "components/field.html" with field=form.email size="l" ... %}`.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django import forms, template
from django.forms.boundfield import BoundField
from django.utils.safestring import SafeString

register = template.Library()

SIZES = {"s", "m", "l", "xl"}


@dataclass(frozen=True)
class Choice:
    id: str
    value: str
    label: str
    checked: bool


@dataclass(frozen=True)
class FieldInfo:
    """What `components/field.html` needs to know about one bound field."""

    kind: str  # "hidden", "input", "textarea", "select", "radios", "checkboxes", "checkbox"
    id: str
    name: str
    label: str
    optional: bool  # GOV.UK marks optional questions "(optional)", never required ones
    hint: str
    hint_id: str
    error: str
    error_id: str
    described_by: str
    disabled: bool
    choices: list[Choice] = field(default_factory=list)


def _kind(widget: forms.Widget) -> str:
    # Order matters: CheckboxSelectMultiple subclasses RadioSelect, which subclasses Select.
    if widget.is_hidden:
        return "hidden"
    if isinstance(widget, forms.CheckboxSelectMultiple):
        return "checkboxes"
    if isinstance(widget, forms.RadioSelect):
        return "radios"
    if isinstance(widget, forms.CheckboxInput):
        return "checkbox"
    if isinstance(widget, forms.Select):  # SelectMultiple and NullBooleanSelect too
        return "select"
    if isinstance(widget, forms.Textarea):
        return "textarea"
    return "input"


def _error_texts(bound: BoundField) -> list[str]:
    """The field's errors, with Django's generic "This field is required." replaced by GOV.UK's
    pattern ("Enter date of birth", "Select decision"). A message the form sets itself is kept:
    write specific ones ("Enter the child's date of birth") where the label is not enough."""
    generic = str(forms.Field.default_error_messages["required"])
    kind = _kind(bound.field.widget)
    label = str(bound.label or bound.name)
    if len(label) > 1 and not label[1].isupper():  # keep "DASH score", lower "Date of birth"
        label = label[0].lower() + label[1:]
    texts = []
    for error in bound.errors:
        text = str(error)
        if text == generic and kind in {"input", "textarea"}:
            text = f"Enter {label}"
        elif text == generic and kind in {"select", "radios", "checkboxes"}:
            text = f"Select {label}"
        texts.append(text)
    return texts


def _field_id(bound: BoundField) -> str:
    return str(bound.field.widget.attrs.get("id") or bound.auto_id or bound.html_name)


def _choices(bound: BoundField, base_id: str) -> list[Choice]:
    """One item per option, ids as GOV.UK makes them: the first is the field's own id (so the
    error summary can link to it), the next `<id>-2`, `<id>-3`, …"""
    items: list[Choice] = []
    for subwidget in bound.subwidgets:
        value = "" if subwidget.data["value"] is None else str(subwidget.data["value"])
        if value == "" and _kind(bound.field.widget) == "radios":
            # The "---------" blank choice of a select makes no sense as a radio.
            continue
        index = len(items) + 1
        items.append(
            Choice(
                id=base_id if index == 1 else f"{base_id}-{index}",
                value=value,
                label=str(subwidget.data["label"]),
                checked=bool(subwidget.data["selected"]),
            )
        )
    return items


@register.simple_tag
def govuk_field_info(bound: BoundField, hint: str | None = None) -> FieldInfo:
    """Everything `components/field.html` renders, worked out once."""
    widget = bound.field.widget
    kind = _kind(widget)
    base_id = _field_id(bound)
    # An unset template variable arrives as "": fall back to the form's help_text then too.
    hint_text = str(hint or bound.help_text or "")
    error_text = " ".join(_error_texts(bound))
    hint_id = f"{base_id}-hint" if hint_text else ""
    error_id = f"{base_id}-error" if error_text else ""
    return FieldInfo(
        kind=kind,
        id=base_id,
        name=bound.html_name,
        label=str(bound.label or ""),
        # Unticked is a real answer for a lone checkbox: "(optional)" would only confuse. A form
        # of filters (`mark_optional = False`) asks no questions: nothing in it is "optional".
        optional=not bound.field.required
        and kind != "checkbox"
        and not bound.field.disabled
        and getattr(bound.form, "mark_optional", True),
        hint=hint_text,
        hint_id=hint_id,
        error=error_text,
        error_id=error_id,
        described_by=" ".join(i for i in (hint_id, error_id) if i),
        disabled=bool(bound.field.disabled),
        choices=_choices(bound, base_id) if kind in {"radios", "checkboxes"} else [],
    )


@register.simple_tag
def govuk_widget(bound: BoundField, info: FieldInfo, classes: str = "") -> SafeString:
    """Render an input, textarea, select or single checkbox with GOV.UK's classes, pointing
    `aria-describedby` at the hint and error message that `components/field.html` renders.

    `classes` adds to them: `govuk-input--width-10`, `govuk-!-width-one-half`, …
    """
    widget = bound.field.widget
    base = {
        "input": "govuk-input",
        "textarea": "govuk-textarea",
        "select": "govuk-select",
        "checkbox": "govuk-checkboxes__input",
    }.get(info.kind, "")
    class_list = [base]
    if info.error and info.kind in {"input", "textarea", "select"}:
        class_list.append(f"{base}--error")
    if info.kind == "input" and isinstance(widget, forms.DateInput) and not classes:
        class_list.append("govuk-input--width-10")
    class_list.extend(str(widget.attrs.get("class", "")).split())
    class_list.extend(classes.split())
    attrs: dict[str, Any] = {
        "class": " ".join(dict.fromkeys(c for c in class_list if c)),
        "id": info.id,
    }
    if info.kind == "textarea" and "rows" not in widget.attrs:
        attrs["rows"] = 5  # GOV.UK's default height; Django's is 10.
    input_type = getattr(widget, "input_type", "")
    if input_type in {"email", "password"} and "spellcheck" not in widget.attrs:
        attrs["spellcheck"] = "false"
    # As BoundField.as_widget, except for aria-describedby: Django would point it at
    # `<id>_helptext`/`<id>_error`, elements GOV.UK markup does not have.
    if bound.field.localize:
        widget.is_localized = True
    attrs = bound.build_widget_attrs(attrs, widget)
    if info.described_by:
        attrs["aria-describedby"] = info.described_by
    else:
        attrs.pop("aria-describedby", None)
    return SafeString(
        widget.render(
            name=bound.html_name, value=bound.value(), attrs=attrs, renderer=bound.form.renderer
        )
    )


@register.simple_tag
def govuk_size_class(prefix: str, size: str | None) -> str:
    """`govuk-label--m`, `govuk-fieldset__legend--l`, … or "" for the default size."""
    if not size:
        return ""
    size = str(size)
    if size not in SIZES:
        raise template.TemplateSyntaxError(f"size must be one of {sorted(SIZES)}, not {size!r}")
    return f"{prefix}--{size}"


@register.inclusion_tag("components/field.html")
def govuk_field(bound: BoundField, **options: Any) -> dict[str, Any]:
    """`{% govuk_field form.x size="m" is_page_heading=True hint="…" input_classes="…" %}`"""
    return {"field": bound, **options}


@register.filter
def govuk_any_actions(rows: Iterable[Mapping[str, Any]] | None) -> bool:
    """True when any summary-list row has an action (GOV.UK then marks the rows without)."""
    return any(row and (row.get("actions") or row.get("action_href")) for row in rows or ())


@register.filter
def govuk_error_items(form: forms.BaseForm | None) -> list[dict[str, str]]:
    """The error summary's list: non-field errors first (no link), then each field's errors in
    form order, linked to the field's id (for radios and checkboxes, the first option's id)."""
    if not isinstance(form, forms.BaseForm) or not form.errors:
        return []
    items = [{"text": str(e), "href": ""} for e in form.non_field_errors()]
    for bound in form:
        for error in _error_texts(bound):
            if bound.is_hidden:
                # Nothing on the page to move focus to.
                items.append({"text": f"{bound.label}: {error}", "href": ""})
            else:
                items.append({"text": str(error), "href": f"#{_field_id(bound)}"})
    return items


@register.filter
def can(user: Any, permission: str) -> bool:
    """`{% if user|can:"contact.view" %}`: the permission table, not role names, in templates."""
    from safehub.accounts.permissions import user_can

    return user_can(user, permission)
