"""The clerical review's forms: a decision on a review, a merge (by the other person's reference),
the undo of a merge. Each asks for a reason: the decision is the record's, and is audited with it.
The rules are the services' (`safehub.people.review`), whose refusals the pages show on the field
they name."""

import re

from django import forms

REASON_MAX = 2000
REFERENCE_RE = re.compile(r"^P-?[0-9A-F]{8}$")


def _reason(label: str, hint: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=hint,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "Enter the reason",
            "max_length": f"The reason must be {REASON_MAX} characters or fewer",
        },
    )


class ReviewDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label="Is the record the same person as the candidate?",
        choices=[
            ("link", "Yes, the same person: link the record to them"),
            ("keep_apart", "No, different people: keep them apart"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Select whether the record is the same person"},
    )
    reason = _reason(
        "Why",
        "What you compared and what decided it. It is kept with the decision.",
    )


class MergeForm(forms.Form):
    reference = forms.CharField(
        label="Reference of the person to merge into this one",
        help_text="P- and 8 letters or numbers, for example P-1A2B3C4D. It is on their page.",
        max_length=12,
        error_messages={"required": "Enter the reference of the person to merge"},
    )
    reason = _reason(
        "Why they are the same person",
        "What shows they are one person. It is kept with the merge.",
    )

    def clean_reference(self) -> str:
        text = "".join(self.cleaned_data["reference"].split()).upper()
        if not REFERENCE_RE.match(text):
            raise forms.ValidationError(
                "Enter a reference in the form P-1A2B3C4D (P- and 8 letters or numbers)"
            )
        return "P-" + text.removeprefix("P").removeprefix("-")


class UndoForm(forms.Form):
    reason = _reason("Why the merge is undone", "What shows they are two people.")
