import datetime as dt

from django import forms

from safehub.accounts.models import Agency, AgencyKind
from safehub.core.postcodes import postcode_normalise
from safehub.referrals.models import BreakGlassPurpose, Outcome
from safehub.referrals.services import MANUAL_SOURCES

SEX_CHOICES = [("", "Not known"), ("F", "Female"), ("M", "Male"), ("U", "Unknown or other")]


class ManualContactForm(forms.Form):
    referral_source = forms.ChoiceField(
        label="Who is making the contact?",
        choices=[("", "Choose a source"), *MANUAL_SOURCES],
        help_text="The referral source recorded in the children in need census.",
    )
    referrer_name = forms.CharField(
        label="Referrer's name",
        max_length=200,
        required=False,
        help_text="Leave empty for an anonymous contact.",
    )
    referrer_organisation = forms.CharField(label="Organisation", max_length=200, required=False)
    referrer_contact = forms.CharField(
        label="How to reach the referrer",
        max_length=200,
        required=False,
        help_text="Phone number or e-mail address.",
    )
    given_names = forms.CharField(label="Child's first names", max_length=200)
    family_name = forms.CharField(label="Child's last name", max_length=200)
    date_of_birth = forms.DateField(
        label="Date of birth",
        required=False,
        input_formats=["%d/%m/%Y", "%Y-%m-%d"],
        help_text="For example, 27/03/2017. Leave empty if not known.",
    )
    age_estimate = forms.IntegerField(
        label="Age in years, if the date of birth is not known",
        required=False,
        min_value=0,
        max_value=17,
    )
    sex = forms.ChoiceField(label="Sex", choices=SEX_CHOICES, required=False)
    address_line1 = forms.CharField(label="Address line 1", max_length=200, required=False)
    town = forms.CharField(label="Town or city", max_length=100, required=False)
    postcode = forms.CharField(label="Postcode", max_length=10, required=False)
    school_urn = forms.CharField(
        label="School URN",
        max_length=6,
        required=False,
        help_text="The six-digit unique reference number, if known.",
    )
    reason = forms.CharField(
        label="What are you worried about?", widget=forms.Textarea, max_length=20000
    )

    def clean_postcode(self) -> str:
        value = self.cleaned_data["postcode"]
        if not value:
            return ""
        normalised = postcode_normalise(value)
        if normalised is None:
            raise forms.ValidationError("Enter a real postcode, like CH41 6AB")
        return normalised

    def clean_school_urn(self) -> str:
        value = self.cleaned_data["school_urn"].strip()
        if value and not (len(value) == 6 and value.isdigit()):
            raise forms.ValidationError("The school URN must be six digits")
        return value

    def clean_date_of_birth(self) -> dt.date | None:
        value = self.cleaned_data["date_of_birth"]
        if value and value > dt.date.today():
            raise forms.ValidationError("Date of birth must be in the past")
        return value


class RouteForm(forms.Form):
    council = forms.ModelChoiceField(
        label="Council",
        queryset=Agency.objects.filter(kind=AgencyKind.CHILDREN_SERVICES),
        empty_label="Choose a council",
        to_field_name="la_code",
    )
    reason = forms.CharField(label="Why this council?", widget=forms.Textarea, max_length=2000)


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        label="What happens next?", choices=Outcome.choices, widget=forms.RadioSelect
    )
    rationale = forms.CharField(
        label="Why?",
        widget=forms.Textarea,
        max_length=20000,
        help_text="The reasons for the decision: what you weighed and what you found.",
        error_messages={"required": "Give the reasons for the decision"},
    )


class ReviewForm(forms.Form):
    note = forms.CharField(
        label="Note for the worker",
        widget=forms.Textarea,
        max_length=5000,
        required=False,
        help_text="Needed if you return the decision: say what to look at again.",
    )


RAG_FILTER_CHOICES = [
    ("", "Any rating"),
    ("red", "Red"),
    ("amber", "Amber"),
    ("green", "Green"),
    ("none", "Not rated"),
]
STATUS_FILTER_CHOICES = [
    ("open", "Open (not closed)"),
    ("received", "Received"),
    ("screening", "Screening"),
    ("decided", "Decided"),
    ("closed", "Closed"),
    ("all", "All"),
]


class QueueFilterForm(forms.Form):
    """The queue's filters, read from the query string. Every field is optional; a value that is
    not one of the choices is an error on that field, and the queue then shows no filter."""

    mark_optional = False

    rag = forms.ChoiceField(label="Rating", choices=RAG_FILTER_CHOICES, required=False)
    status = forms.ChoiceField(label="Status", choices=STATUS_FILTER_CHOICES, required=False)
    worker = forms.ChoiceField(label="Held by", required=False)
    overdue = forms.BooleanField(label="Only contacts with a deadline passed", required=False)

    def __init__(self, *args: object, workers: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        worker = self.fields["worker"]
        assert isinstance(worker, forms.ChoiceField)
        worker.choices = [
            ("", "Anyone or nobody"),
            ("me", "Me"),
            ("nobody", "Nobody yet"),
            *workers,
        ]


class ReassignForm(forms.Form):
    worker = forms.ChoiceField(label="Who should hold this contact?")
    reason = forms.CharField(
        label="Why does it change hands?",
        widget=forms.Textarea,
        max_length=2000,
        error_messages={"required": "Say why the contact changes hands"},
    )

    def __init__(self, *args: object, workers: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        worker = self.fields["worker"]
        assert isinstance(worker, forms.ChoiceField)
        worker.choices = [("", "Choose a worker"), *workers]
        self.fields["worker"].error_messages["required"] = "Choose who should hold the contact"


def _police_forces() -> list[tuple[str, str]]:
    forces = Agency.objects.filter(kind=AgencyKind.POLICE_FORCE).order_by("name")
    return [("", "Choose a force"), *((f.code, f"{f.name} ({f.code})") for f in forces)]


class BreakGlassForm(forms.Form):
    """Open another council's record by its exact reference, with a purpose and a reason. The
    reference fields are one question with two ways to answer it (the service checks that one
    is given, and that it names a record): none of them is marked "optional"."""

    mark_optional = False

    contact_reference = forms.CharField(
        label="Contact reference",
        max_length=64,
        required=False,
        help_text="As the other council gave it, like 0b9c6f2e-4d1a-4c53-9a57-2f1f0d3c8e41.",
    )
    force_code = forms.ChoiceField(label="Police force", required=False)
    incident_reference = forms.CharField(
        label="Police incident reference",
        max_length=64,
        required=False,
        help_text="As the force wrote it, like MSP-26-004830.",
    )
    purpose = forms.ChoiceField(
        label="Why do you need this record?",
        choices=BreakGlassPurpose.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose why you need this record"},
    )
    reason = forms.CharField(
        label="Say why, in your own words",
        widget=forms.Textarea,
        max_length=2000,
        help_text="Your manager and the council that holds the record will read this.",
        error_messages={"required": "Say why you need this record"},
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        force = self.fields["force_code"]
        assert isinstance(force, forms.ChoiceField)
        force.choices = _police_forces()


class AccessLookupForm(forms.Form):
    """A child of one's own council, by an exact reference: there is no search by name."""

    reference = forms.CharField(
        label="Contact reference or police incident reference",
        max_length=100,
        help_text="For example 0b9c6f2e-4d1a-4c53-9a57-2f1f0d3c8e41, or MSP-26-000123.",
    )
