from django import forms

from safehub.risk.models import MaracStatus

CONFIRM = "confirm"
DECLINE = "decline"


class MaracFilterForm(forms.Form):
    """The list's filter (GET). An unknown status shows every referral."""

    status = forms.ChoiceField(
        label="Status",
        choices=[("", "All"), *MaracStatus.choices],
        required=False,
    )


class MaracDecisionForm(forms.Form):
    # Whether a note is needed ("Do not refer") is the service's rule; the page shows its refusal
    # on the note field.
    decision = forms.ChoiceField(
        label="Refer the victim to MARAC?",
        choices=[(CONFIRM, "Refer to MARAC"), (DECLINE, "Do not refer")],
        widget=forms.RadioSelect,
        error_messages={"required": "Select whether to refer the victim to MARAC"},
    )
    note = forms.CharField(
        label="Note",
        widget=forms.Textarea,
        max_length=5000,
        required=False,
        help_text="Needed if you do not refer: say why.",
    )
