"""The short forms that record what the statutory returns need after the front door. They check
the shape of what is typed; the rules (dates against the referral, census rules) are the
services', whose refusals the pages show on the field they name."""

from typing import Any

from django import forms

from safehub.casework.codes import (
    NO_FACTORS,
    AbuseCategory,
    AssessmentFactor,
    ClosureReason,
    Disability,
    Ethnicity,
    PrimaryNeed,
    UPNUnknown,
)

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
YES_NO = [("yes", "Yes"), ("no", "No")]

# The assessment factors in the groups a worker looks for them (statutory.md §4.2), "No factors
# identified" apart: it stands alone (census rule 8869).
FACTOR_GROUPS: list[tuple[str, list[str]]] = [
    ("Domestic abuse", ["3A", "3B", "3C"]),
    ("Alcohol misuse", ["1A", "1B", "1C"]),
    ("Drug misuse", ["2A", "2B", "2C"]),
    ("Mental health", ["4A", "4B", "4C"]),
    ("Learning disability", ["5A", "5B", "5C"]),
    ("Physical disability or illness", ["6A", "6B", "6C"]),
    ("Abuse and neglect", ["16A", "17A", "18B", "18C", "19B", "19C", "22A", "23A"]),
    ("Harm outside the home", ["10A", "11A", "12A", "13A", "24A", "14A", "15A"]),
    ("The child's circumstances", ["7A", "8B", "8C", "8D", "8E", "8F", "9A"]),
    ("Other", ["20"]),
]
assert sorted(c for _, codes in FACTOR_GROUPS for c in codes) == sorted(
    c for c in AssessmentFactor.values if c != NO_FACTORS
), "every factor but 21 in exactly one group"


def checkbox_items(
    bound: forms.BoundField, codes: list[str], labels: dict[str, str], *, start: int = 1
) -> list[dict[str, Any]]:
    """GOV.UK checkbox items for `codes`: ids `<id>`, `<id>-2`, … as the project's field
    component makes them, numbered from `start`, ticked as the form holds them."""
    chosen = {str(v) for v in (bound.value() or [])}
    base = bound.auto_id
    return [
        {
            "id": base if n == 1 else f"{base}-{n}",
            "value": code,
            "label": labels[code],
            "checked": code in chosen,
        }
        for n, code in enumerate(codes, start=start)
    ]


def exclusive_item(bound: forms.BoundField, code: str, labels: dict[str, str]) -> dict[str, Any]:
    """The 'none' checkbox after the divider: ticking it unticks the others (GOV.UK's
    `data-behaviour="exclusive"`), and the form refuses it with another."""
    chosen = {str(v) for v in (bound.value() or [])}
    return {
        "id": f"{bound.auto_id}-none",
        "value": code,
        "label": labels[code],
        "checked": code in chosen,
    }


# The census's primary need codes with what each means, the code after the words.
PRIMARY_NEED_CHOICES = [(code, f"{label} ({code})") for code, label in PrimaryNeed.choices]


def _primary_need() -> forms.ChoiceField:
    return forms.ChoiceField(
        label="What is the child's primary need?",
        choices=PRIMARY_NEED_CHOICES,
        widget=forms.RadioSelect,
        help_text="The main reason the child needs children's social care, for the children in "
        "need census. For a child living with domestic abuse it is usually abuse or neglect.",
        error_messages={"required": "Select the child's primary need"},
    )


def _date(
    label: str, *, required: bool = True, help_text: str = "", required_message: str = ""
) -> forms.DateField:
    messages = {"invalid": f"Enter {label[0].lower() + label[1:]} as a real date"}
    if required_message:
        messages["required"] = required_message
    return forms.DateField(
        label=label,
        required=required,
        input_formats=DATE_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=help_text,
        error_messages=messages,
    )


class ChildDetailsForm(forms.Form):
    upn = forms.CharField(
        label="Unique pupil number (UPN)",
        max_length=13,
        required=False,
        help_text="13 characters: a letter, 11 digits, then a digit or a letter.",
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocomplete": "off"}),
    )
    upn_unknown = forms.ChoiceField(
        label="If there is no UPN, why not",
        choices=[("", "Not applicable: the UPN is given"), *UPNUnknown.choices],
        required=False,
    )
    ethnicity = forms.ChoiceField(label="Ethnicity", choices=Ethnicity.choices)
    disabilities = forms.MultipleChoiceField(
        label="Disability",
        choices=Disability.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Choose every one that applies, or 'No disability'. Leave them all empty if "
        "it is not yet known.",
    )
    primary_need = _primary_need()

    def clean_disabilities(self) -> list[str]:
        chosen = list(self.cleaned_data.get("disabilities") or [])
        if Disability.NONE in chosen and len(chosen) > 1:
            raise forms.ValidationError("Choose the disabilities, or 'No disability', not both")
        return chosen

    def disability_groups(self) -> list[tuple[str, list[dict[str, Any]]]]:
        codes = [c for c in Disability.values if c != Disability.NONE]
        return [("", checkbox_items(self["disabilities"], codes, dict(Disability.choices)))]

    def no_disability_item(self) -> dict[str, Any]:
        return exclusive_item(self["disabilities"], Disability.NONE, dict(Disability.choices))

    def clean_upn(self) -> str:
        return str(self.cleaned_data.get("upn") or "").strip().upper().replace(" ", "")


class AuthoriseForm(forms.Form):
    authorised_on = _date("Date the assessment was authorised")
    child_seen_on = _date(
        "Date the child was seen during the assessment",
        required=False,
        help_text="Leave empty if the child was not seen.",
    )
    factors = forms.MultipleChoiceField(
        label="Factors identified at the end of the assessment",
        choices=AssessmentFactor.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Choose every factor the assessment found.",
        error_messages={"required": "Choose the factors found, or 'No factors identified'"},
    )
    needs_support = forms.ChoiceField(
        label="Was the child assessed as needing children's social care support?",
        choices=YES_NO,
        widget=forms.RadioSelect,
    )
    primary_need = _primary_need()
    late_reason = forms.CharField(
        label="Why did the assessment take longer than 45 working days?",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=5000,
    )

    def __init__(self, *args: Any, late: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not late:
            # An assessment still within its 45 working days cannot be authorised late (the
            # date cannot be in the future): the question is not asked.
            del self.fields["late_reason"]

    def clean_factors(self) -> list[str]:
        factors = list(self.cleaned_data.get("factors") or [])
        if NO_FACTORS in factors and len(factors) > 1:
            raise forms.ValidationError(
                "Choose the factors found, or 'No factors identified', not both"
            )
        return factors

    def groups(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """The factor checkboxes by group (ids run on across the groups: the first is the
        field's own, so the error summary's link lands on it)."""
        labels = dict(AssessmentFactor.choices)
        out: list[tuple[str, list[dict[str, Any]]]] = []
        start = 1
        for title, codes in FACTOR_GROUPS:
            out.append((title, checkbox_items(self["factors"], codes, labels, start=start)))
            start += len(codes)
        return out

    def none_item(self) -> dict[str, Any]:
        return exclusive_item(self["factors"], NO_FACTORS, dict(AssessmentFactor.choices))


class AssessmentStartForm(forms.Form):
    started_on = _date(
        "Date the assessment started",
        help_text="A new assessment, for example after a change in the child's circumstances.",
    )


class ConferenceForm(forms.Form):
    held = forms.ChoiceField(
        label="Was an initial child protection conference held?",
        choices=[
            ("yes", "Yes"),
            ("not_required", "No: the enquiry found that no conference is needed"),
        ],
        widget=forms.RadioSelect,
    )
    icpc_on = _date(
        "Date of the conference",
        required=False,
        help_text="If one was held. A working day: the census refuses a conference on a weekend.",
    )
    led_to_plan = forms.ChoiceField(
        label="Did the conference make a child protection plan?",
        choices=YES_NO,
        widget=forms.RadioSelect,
        required=False,
        help_text="If one was held.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Asked only when a conference was held: not "(optional)", which would mislead.
        self.mark_optional = False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("held") == "yes":
            if not data.get("icpc_on") and "icpc_on" not in self.errors:
                self.add_error("icpc_on", "Enter the date of the conference")
            if not data.get("led_to_plan"):
                self.add_error(
                    "led_to_plan", "Select whether the conference made a child protection plan"
                )
        return data


class PlanForm(forms.Form):
    category = forms.ChoiceField(
        label="Initial category of abuse",
        choices=AbuseCategory.choices,
        widget=forms.RadioSelect,
    )
    previous_plans = forms.IntegerField(
        label="Number of previous child protection plans",
        min_value=0,
        max_value=50,
        initial=0,
        help_text="Plans the child has had before, in any council.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )


class CINPlanForm(forms.Form):
    started_on = _date("Date the children in need plan started")


class CloseForm(forms.Form):
    closed_on = _date("Date the referral closed")
    reason = forms.ChoiceField(
        label="Reason for closure",
        choices=ClosureReason.choices,
        widget=forms.RadioSelect,
    )


class PlanReviewForm(forms.Form):
    reviewed_on = _date(
        "Date of the review conference",
        help_text="A working day after the plan started, not in the future.",
        required_message="Enter the date of the review conference",
    )
    latest_category = forms.ChoiceField(
        label="Category of abuse decided at the review",
        choices=AbuseCategory.choices,
        widget=forms.RadioSelect,
        help_text="It becomes the plan's latest category of abuse.",
        error_messages={"required": "Select the category of abuse decided at the review"},
    )


class PlanEndForm(forms.Form):
    ended_on = _date(
        "Date the plan ended",
        help_text="Usually the day of the review conference that ended it. Not before the plan "
        "started or its last review.",
        required_message="Enter the date the plan ended",
    )


class CINPlanEndForm(forms.Form):
    ended_on = _date(
        "Date the plan ended",
        help_text="Not before the plan started.",
        required_message="Enter the date the plan ended",
    )
