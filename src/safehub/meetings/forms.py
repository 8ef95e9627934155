import datetime as dt
from typing import Any

from django import forms

from safehub.accounts.models import Agency, AgencyKind
from safehub.meetings.models import (
    Attendance,
    DiscussionFormat,
    DiscussionMode,
    Enquiry,
    Participant,
    ParticipantRole,
    Response,
)
from safehub.meetings.services import DEFAULT_QUESTIONS, GENERIC_QUESTION
from safehub.sharing.models import Consent, SharingKind

WHEN_FORMATS = ["%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M"]
YES_NO = [("yes", "Yes"), ("no", "No")]


def _when_field(label: str, help_text: str = "", required: bool = True) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        input_formats=WHEN_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=help_text or "London time.",
    )


def _agencies(*kinds: str) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=Agency.objects.filter(kind__in=kinds, active=True).order_by("name"),
        empty_label="Choose an agency",
    )


class CallForm(forms.Form):
    """Call a strategy discussion: who about, why, when and where, and whom to invite."""

    children = forms.MultipleChoiceField(
        label="Which children is it about?",
        widget=forms.CheckboxSelectMultiple,
        help_text="The children of this household in your council.",
    )
    reason = forms.CharField(
        label="Why is there cause to suspect significant harm?",
        widget=forms.Textarea,
        max_length=20000,
    )
    format = forms.ChoiceField(
        label="How is it held?", choices=DiscussionFormat.choices, widget=forms.RadioSelect
    )
    mode = forms.ChoiceField(
        label="In person or remote?", choices=DiscussionMode.choices, widget=forms.RadioSelect
    )
    starts_at = _when_field("When does it start?")
    duration_minutes = forms.IntegerField(
        label="How long, in minutes?", min_value=10, max_value=480, initial=60
    )
    location = forms.CharField(
        label="Where, or how to join",
        max_length=300,
        help_text="A room, or the dial-in or video link. Invitations show this.",
    )
    police = _agencies(AgencyKind.POLICE_FORCE)
    police.label = "Police"
    police_name = forms.CharField(
        label="Police officer to invite",
        max_length=200,
        required=False,
        help_text="Leave empty to invite the force's duty inbox.",
    )
    police_email = forms.EmailField(label="Their e-mail", required=False)
    police_question = forms.CharField(
        label="What to ask the police", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )
    health = _agencies(AgencyKind.HEALTH)
    health.label = "Health"
    health_name = forms.CharField(
        label="Health practitioner to invite",
        max_length=200,
        required=False,
        help_text="Leave empty to invite the trust's safeguarding inbox.",
    )
    health_email = forms.EmailField(label="Their e-mail", required=False)
    health_question = forms.CharField(
        label="What to ask health", widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )
    invite_school = forms.BooleanField(
        label="Invite the children's school or nursery", required=False, initial=True
    )
    school_question = forms.CharField(
        label="What to ask the school",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        required=False,
    )
    domestic_abuse = forms.ModelChoiceField(
        label="Domestic abuse service",
        queryset=Agency.objects.filter(kind=AgencyKind.DOMESTIC_ABUSE_SERVICE, active=True),
        required=False,
        empty_label="None",
    )
    other_role = forms.ChoiceField(
        label="Another agency's part",
        choices=[
            ("", "None"),
            *[
                (value, label)
                for value, label in ParticipantRole.choices
                if value
                not in (
                    ParticipantRole.CHILDREN_SOCIAL_CARE,
                    ParticipantRole.POLICE,
                    ParticipantRole.HEALTH,
                    ParticipantRole.SCHOOL,
                    ParticipantRole.DOMESTIC_ABUSE,
                )
            ],
        ],
        required=False,
    )
    other_agency = forms.ModelChoiceField(
        label="That agency",
        queryset=Agency.objects.filter(active=True).exclude(kind=AgencyKind.CHILDREN_SERVICES),
        required=False,
        empty_label="None",
    )
    consent = forms.ChoiceField(
        label="Where does consent to share stand?",
        choices=Consent.choices,
        widget=forms.RadioSelect,
        initial=Consent.NOT_REQUIRED,
        help_text="Consent is not needed to share when a child is at risk of significant harm.",
    )

    def __init__(self, *args: Any, children: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["children"].choices = children  # type: ignore[attr-defined]
        self.fields["police_question"].initial = DEFAULT_QUESTIONS[ParticipantRole.POLICE]
        self.fields["health_question"].initial = DEFAULT_QUESTIONS[ParticipantRole.HEALTH]
        self.fields["school_question"].initial = DEFAULT_QUESTIONS[ParticipantRole.SCHOOL]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("other_role") and not data.get("other_agency"):
            self.add_error("other_agency", "Choose the agency, or no part")
        for who in ("police", "health"):
            if data.get(f"{who}_name") and not data.get(f"{who}_email"):
                self.add_error(f"{who}_email", "Give the e-mail of the person named")
        return data


class InviteForm(forms.Form):
    """Its ids start "invite_": the chair's page also holds the action form, whose agency field
    would otherwise have the same id (and the action form's label would name this select)."""

    role = forms.ChoiceField(
        label="Its part",
        choices=[(v, label) for v, label in ParticipantRole.choices if v != "children_social_care"],
    )
    agency = forms.ModelChoiceField(
        label="Agency",
        queryset=Agency.objects.filter(active=True).exclude(kind=AgencyKind.CHILDREN_SERVICES),
        empty_label="Choose an agency",
    )
    name = forms.CharField(
        label="Person to invite",
        max_length=200,
        required=False,
        help_text="Leave empty to invite the agency's duty inbox.",
    )
    email = forms.EmailField(label="Their e-mail", required=False)
    question = forms.CharField(
        label="What to ask them",
        widget=forms.Textarea(attrs={"rows": 3}),
        initial=GENERIC_QUESTION,
        max_length=5000,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "invite_%s")
        super().__init__(*args, **kwargs)


class RescheduleForm(forms.Form):
    starts_at = _when_field("New start")
    duration_minutes = forms.IntegerField(
        label="How long, in minutes?", min_value=10, max_value=480, initial=60
    )
    mode = forms.ChoiceField(label="In person or remote?", choices=DiscussionMode.choices)
    location = forms.CharField(label="Where, or how to join", max_length=300)
    reason = forms.CharField(label="Why it changes", widget=forms.Textarea(attrs={"rows": 2}))


class CancelForm(forms.Form):
    reason = forms.CharField(label="Why it is cancelled", widget=forms.Textarea(attrs={"rows": 2}))
    still_needed = forms.ChoiceField(
        label="Is a strategy discussion still needed?",
        choices=YES_NO,
        widget=forms.RadioSelect,
        help_text="No: the children's strategy discussion deadline stops, with the reason.",
    )


class AttendanceForm(forms.Form):
    """One row per invited agency: how it took part, and who attended for it."""

    def __init__(self, *args: Any, participants: list[Participant], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows: list[tuple[int, str]] = []
        for p in participants:
            choice = forms.ChoiceField(
                label=f"How {p.agency.name} took part",
                choices=Attendance.choices,
                initial=p.attendance,
                required=False,
            )
            name = forms.CharField(
                label=f"Who attended for {p.agency.name}",
                max_length=200,
                required=False,
                initial=p.attended_name,
            )
            role = forms.CharField(
                label=f"Their role at {p.agency.name}",
                max_length=200,
                required=False,
                initial=p.attended_role,
            )
            self.fields[f"attendance_{p.pk}"] = choice
            self.fields[f"name_{p.pk}"] = name
            self.fields[f"role_{p.pk}"] = role
            self.rows.append((p.pk, f"{p.get_role_display()}: {p.agency.name}"))

    def bound_rows(
        self,
    ) -> list[tuple[str, forms.BoundField, forms.BoundField, forms.BoundField]]:
        """Each agency's row: its legend, and how it took part, who came, in what role."""
        return [
            (legend, self[f"attendance_{pk}"], self[f"name_{pk}"], self[f"role_{pk}"])
            for pk, legend in self.rows
        ]


class OutcomeForm(forms.Form):
    held_at = _when_field("When was it held?")
    enquiry = forms.ChoiceField(
        label="Section 47 enquiry", choices=Enquiry.choices, widget=forms.RadioSelect
    )
    immediate_protection = forms.ChoiceField(
        label="Is immediate protection needed?", choices=YES_NO, widget=forms.RadioSelect
    )
    rationale = forms.CharField(
        label="Reasons for the decision", widget=forms.Textarea, max_length=20000
    )
    icpc_date = forms.DateField(
        label="Initial child protection conference date",
        required=False,
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Due within 15 working days of this discussion.",
    )
    icpc_arranged_by = forms.CharField(
        label="Who arranges the conference", max_length=200, required=False
    )
    missing_reason = forms.CharField(
        label="If a statutory agency neither attended nor sent information: why record the "
        "outcome without them?",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    reconvene = forms.ChoiceField(
        label="If so: will the discussion meet again?",
        choices=[("", "Not applicable"), *YES_NO],
        required=False,
    )

    def __init__(self, *args: Any, children: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.risk_fields = []
        for contact_id, name in children:
            key = f"risks_{contact_id}"
            self.fields[key] = forms.CharField(
                label=f"Risks identified for {name}",
                widget=forms.Textarea(attrs={"rows": 3}),
                max_length=20000,
            )
            self.risk_fields.append(key)

    def bound_risks(self) -> list[forms.BoundField]:
        return [self[key] for key in self.risk_fields]


class ActionForm(forms.Form):
    description = forms.CharField(
        label="What is to be done", widget=forms.Textarea(attrs={"rows": 2})
    )
    owner_name = forms.CharField(label="Who does it", max_length=200)
    agency = forms.ModelChoiceField(
        label="Their agency", queryset=Agency.objects.filter(active=True), empty_label="Choose"
    )
    due_on = forms.DateField(
        label="By when",
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean_due_on(self) -> dt.date:
        return self.cleaned_data["due_on"]


class RefusalForm(forms.Form):
    """A decision not to share: golden rule 7 asks for it to be recorded as a disclosure is."""

    recipient_agency = forms.ModelChoiceField(
        label="Not shared with",
        queryset=Agency.objects.filter(active=True).order_by("name"),
        empty_label="Choose an agency",
    )
    kind = forms.ChoiceField(label="What would have been shared", choices=SharingKind.choices)
    withheld = forms.CharField(
        label="What was withheld",
        max_length=500,
        help_text="For example: the minutes, the adults' details, the victim's new address.",
    )
    reason = forms.CharField(label="Why it is not shared", widget=forms.Textarea(attrs={"rows": 2}))


class DoneForm(forms.Form):
    note = forms.CharField(label="What was done", required=False, max_length=2000)


class RespondForm(forms.Form):
    response = forms.ChoiceField(
        label="Your reply to the invitation",
        choices=[(v, label) for v, label in Response.choices if v != Response.PENDING],
        widget=forms.RadioSelect,
    )
    delegate_name = forms.CharField(label="Colleague attending instead", required=False)
    delegate_email = forms.EmailField(label="Their e-mail", required=False)
    note = forms.CharField(label="Note for the chair", required=False, max_length=2000)


class AnswerForm(forms.Form):
    share = forms.ChoiceField(
        label="Does your agency share what it knows?",
        choices=[("yes", "Yes, share it"), ("no", "No, do not share it")],
        widget=forms.RadioSelect,
    )
    answer = forms.CharField(
        label="What your agency knows", widget=forms.Textarea, required=False, max_length=20000
    )
    reason = forms.CharField(
        label="Why (required when not sharing)",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )
    consent = forms.ChoiceField(
        label="Where does consent stand?",
        choices=Consent.choices,
        initial=Consent.NOT_REQUIRED,
    )
