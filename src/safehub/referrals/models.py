import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.db import models

from safehub.core import clock
from safehub.core.fields import EncryptedJSONField
from safehub.intake.keys import person_key


class ReferralSource(models.TextChoices):
    """DfE CIN census ReferralSource codes (statutory.md §4.2)."""

    FAMILY = "1A", "Family member, relative or carer"
    ACQUAINTANCE = "1B", "Acquaintance (including neighbours and childminders)"
    SELF = "1C", "Self"
    OTHER_INDIVIDUAL = "1D", "Other individual"
    SCHOOLS = "2A", "School"
    EDUCATION_SERVICES = "2B", "Education services"
    GP = "3A", "GP"
    HEALTH_VISITOR = "3B", "Health visitor"
    SCHOOL_NURSE = "3C", "School nurse"
    OTHER_PRIMARY_HEALTH = "3D", "Other primary health services"
    A_AND_E = "3E", "A&E"
    OTHER_HEALTH = "3F", "Other health services"
    HOUSING = "4", "Housing"
    LA_SOCIAL_CARE = "5A", "Local authority social care (e.g. adults)"
    LA_OTHER_INTERNAL = "5B", "Other internal local authority service (e.g. youth offending)"
    LA_EXTERNAL = "5C", "External local authority"
    LA_EARLY_HELP = "5D", "Early help"
    POLICE = "6", "Police"
    OTHER_LEGAL = "7", "Other legal agency (courts, probation, Cafcass, prison)"
    OTHER = "8", "Other (children's centres, independent or voluntary)"
    ANONYMOUS = "9", "Anonymous"
    UNKNOWN = "10", "Unknown"


class Routing(models.TextChoices):
    ROUTED = "routed", "Routed by postcode"
    ROUTED_BY_PERSON = "routed_by_person", "Routed by a person"
    UNKNOWN_POSTCODE = "unknown_postcode", "Postcode not served by the hub"
    SPLIT_DISTRICT = "split_district", "Postcode district split between councils"
    NO_ADDRESS = "no_address", "No address for the child"


class ContactStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    SCREENING = "screening", "Screening"
    DECIDED = "decided", "Decided"
    CLOSED = "closed", "Closed"


def contact_child_key(given_names: str, family_name: str, date_of_birth: dt.date | None) -> str:
    """The exact-match key of a contact's child (`safehub.intake.keys.person_key`), or "" with
    no date of birth. Contacts built for `bulk_create` take it from here; `save` sets it."""
    if date_of_birth is None:
        return ""
    return person_key(given_names=given_names, family_name=family_name, date_of_birth=date_of_birth)


class Contact(models.Model):
    """One child's contact with a council's front door: from a police notification (one per
    child) or from a manual contact (a school, a GP, a neighbour...)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    notification = models.ForeignKey(
        "intake.Notification",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contacts",
    )
    notification_version = models.PositiveIntegerField(null=True, blank=True)
    child_ref = models.CharField(max_length=20, blank=True)
    local_authority = models.ForeignKey(
        "accounts.Agency",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contacts",
        help_text="Empty until routed.",
    )
    routing = models.CharField(max_length=20, choices=Routing.choices)
    status = models.CharField(
        max_length=20, choices=ContactStatus.choices, default=ContactStatus.RECEIVED
    )
    received_at = models.DateTimeField(db_index=True)
    incident_at = models.DateTimeField(null=True, blank=True)
    referral_source = models.CharField(max_length=2, choices=ReferralSource.choices)
    referrer_name = models.CharField(max_length=200, blank=True)
    referrer_organisation = models.CharField(max_length=200, blank=True)
    referrer_contact = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True, help_text="Manual contacts: what the referrer told us.")

    given_names = models.CharField(max_length=200)
    family_name = models.CharField(max_length=200)
    date_of_birth = models.DateField(null=True, blank=True)
    child_key = models.CharField(
        max_length=32,
        blank=True,
        default="",
        editable=False,
        help_text="The child's exact-match key (normalised names and date of birth, hashed as "
        "the notifications' person keys are); empty without a date of birth. Set on save.",
    )
    age_estimate = models.PositiveSmallIntegerField(null=True, blank=True)
    unborn = models.BooleanField(default=False)
    expected_date_of_birth = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=1, blank=True)
    # Encrypted at rest: usually the family home, which is the victim's address. The postcode
    # stays in its own plaintext column: routing reads it.
    address = EncryptedJSONField(default=dict, blank=True)
    postcode = models.CharField(max_length=8, blank=True)
    school = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    school_urn = models.CharField(max_length=6, blank=True, help_text="The URN as sent.")
    present_at_incident = models.BooleanField(null=True)
    witnessed = models.BooleanField(null=True)
    injured = models.BooleanField(null=True)

    withdrawn_in_version = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="The notification's version that no longer names the child.",
    )
    reroute_to = models.ForeignKey(
        "accounts.Agency",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="An amendment puts the child in this council: for a person to decide.",
    )
    police_grade = models.CharField(max_length=16, blank=True)
    rag = models.CharField(max_length=5, blank=True, help_text="Empty: not rated (manual).")
    rag_reasons = models.JSONField(default=list, blank=True)
    policy_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The triage policy version that rated the contact."
    )
    due_at = models.DateTimeField(null=True, blank=True, help_text="Screening deadline.")
    next_due_at = models.DateTimeField(
        null=True, blank=True, help_text="The soonest due time of the contact's open clocks."
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_contacts",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    erased_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the child's details were removed under the retention policy.",
    )

    class Meta:
        ordering = ["received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "child_ref"],
                condition=models.Q(notification__isnull=False),
                name="one_contact_per_child_per_notification",
            )
        ]
        indexes = [
            models.Index(fields=["local_authority", "status", "received_at"]),
            models.Index(fields=["local_authority", "status", "next_due_at"]),
            # The retention job's candidates: contacts not yet anonymised, oldest first.
            models.Index(
                fields=["received_at"],
                condition=models.Q(erased_at__isnull=True),
                name="contact_not_erased",
            ),
            # The dashboard (safehub.reports.figures): a council's contacts of a period, and
            # its earlier contacts of the same child for re-referrals.
            models.Index(
                fields=["local_authority", "received_at", "rag", "id"],
                name="contact_council_received",
            ),
            models.Index(
                fields=["local_authority", "date_of_birth", "received_at"],
                name="contact_council_dob",
            ),
            # Re-referrals: the same child's earlier contacts in the same council.
            models.Index(
                fields=["local_authority", "child_key", "received_at"],
                condition=~models.Q(child_key=""),
                name="contact_council_child",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.given_names} {self.family_name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.erased_at is None:
            self.child_key = contact_child_key(
                self.given_names, self.family_name, self.date_of_birth
            )
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"given_names", "family_name", "date_of_birth"} & set(
            update_fields
        ):
            kwargs["update_fields"] = {*update_fields, "child_key"}
        super().save(*args, **kwargs)

    @property
    def age_display(self) -> str:
        """The child's age as a worker reads it: "7", "about 14", "unborn", "under 1"."""
        if self.unborn:
            return "Unborn"
        if self.date_of_birth is None:
            return f"About {self.age_estimate}" if self.age_estimate is not None else "Not known"
        today = clock.now().astimezone(clock.LONDON).date()
        born = self.date_of_birth
        years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        return "Under 1" if years < 1 else str(years)

    @property
    def flag_labels(self) -> list[str]:
        """What a person must look at, in words."""
        labels = []
        if self.local_authority_id is None:
            labels.append(f"To be routed: {self.get_routing_display().lower()}")
        if self.unknown_school:
            labels.append(f"School URN {self.school_urn} not known")
        if self.withdrawn_in_version:
            labels.append(f"No longer named in version {self.withdrawn_in_version}")
        if self.reroute_to_id is not None:
            labels.append("The amended address is in another council: re-route when ready")
        if self.notification_version and self.notification_version > 1:
            labels.append(f"Amended (version {self.notification_version})")
        return labels

    @property
    def unknown_school(self) -> bool:
        return bool(self.school_urn) and self.school_id is None


class ContactStatusChange(models.Model):
    """One move of a contact's status: who, when and why. The log explains itself."""

    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=20, choices=ContactStatus.choices)
    to_status = models.CharField(max_length=20, choices=ContactStatus.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(db_index=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status}"


class Outcome(models.TextChoices):
    """What the front door decided about a contact."""

    NO_FURTHER_ACTION = "no_further_action", "No further action"
    INFORMATION_AND_ADVICE = "information_and_advice", "Information and advice"
    EARLY_HELP = "early_help", "Early help"
    ASSESSMENT_S17 = "assessment_s17", "Child and family assessment (section 17)"
    STRATEGY_DISCUSSION_S47 = "strategy_discussion_s47", "Strategy discussion (section 47)"
    ALREADY_OPEN = "already_open", "Already open: passed to the allocated worker"


# The outcomes after which the contact counts as a referral to children's social care (CIN).
REFERRAL_OUTCOMES = frozenset(
    {Outcome.ASSESSMENT_S17, Outcome.STRATEGY_DISCUSSION_S47, Outcome.ALREADY_OPEN}
)


class SignOff(models.TextChoices):
    AWAITING_SIGN_OFF = "awaiting_sign_off", "Awaiting sign-off"
    SIGNED_OFF = "signed_off", "Signed off"
    RETURNED = "returned", "Returned to the worker"


class Decision(models.Model):
    """A worker's decision on a contact, and the manager's sign-off (or return) of it."""

    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="decisions")
    outcome = models.CharField(max_length=32, choices=Outcome.choices)
    rationale = models.TextField()
    referral_source = models.CharField(max_length=2, choices=ReferralSource.choices)
    became_referral = models.BooleanField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(db_index=True)
    sign_off = models.CharField(
        max_length=20, choices=SignOff.choices, default=SignOff.AWAITING_SIGN_OFF
    )
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)
    sign_off_note = models.TextField(blank=True)

    class Meta:
        ordering = ["decided_at", "id"]
        indexes = [
            models.Index(fields=["sign_off", "decided_at"]),
            # The dashboard: whether a contact's signed-off decision made a referral, from the
            # index alone (safehub.reports.figures).
            models.Index(
                fields=["contact", "became_referral"],
                condition=models.Q(sign_off="signed_off"),
                name="decision_signed_off_contact",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} ({self.get_sign_off_display()})"


class BreakGlassPurpose(models.TextChoices):
    """Why a hub worker opens another council's contact (break-glass). A fixed list, so that the
    openings can be counted and reviewed; the reason says the rest."""

    MOVED_IN = "moved_in", "Child moved into our area"
    IMMEDIATE_RISK = "immediate_risk", "Emergency: risk of immediate harm"
    STRATEGY_DISCUSSION = "strategy_discussion", "Strategy discussion about this child"
    OTHER = "other", "Other"


class AccessGrant(models.Model):
    """A hub worker's time-limited leave to *read* one contact held by another council, opened
    by its exact reference with a purpose and a reason (break-glass). It widens what the contact
    page shows them until `expires_at`, nothing else: deciding, routing and reassigning keep the
    council's scope. The worker's managers and the owning council's duty inbox are told once, when
    the grant is made."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="access_grants"
    )
    # Both agencies as they stood at the opening: a worker who moves on stays in their old
    # team's review, and the owner is the council told, whatever the contact does next.
    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, related_name="+", help_text="The user's."
    )
    owner = models.ForeignKey(
        "accounts.Agency",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The council that held the contact.",
    )
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="access_grants")
    reference = models.CharField(max_length=100, help_text="The reference the user entered.")
    purpose = models.CharField(max_length=32, choices=BreakGlassPurpose.choices)
    reason = models.TextField()
    granted_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField()
    managers_told = models.JSONField(
        default=list, blank=True, help_text="The usernames of the managers e-mailed."
    )
    owner_told = models.EmailField(blank=True, help_text="The owning council's inbox e-mailed.")

    class Meta:
        ordering = ["-granted_at", "-id"]
        indexes = [
            models.Index(fields=["user", "contact", "expires_at"]),
            models.Index(fields=["agency", "granted_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.contact_id} until {self.expires_at:%Y-%m-%d %H:%M}"
