"""Strategy discussions (statutory.md §1.1 T2, §1.2, §1.3): called when there is reasonable cause
to suspect that a child is suffering, or is likely to suffer, significant harm; held with children's
social care, the police and health as a minimum, and the other agencies the case needs; each
invited agency asked for what it knows before it starts; attendance recorded per agency; the
outcome (a section 47 enquiry or not, the initial child protection conference) and the actions
that follow."""

import uuid

from django.conf import settings
from django.db import models

from safehub.core.fields import EncryptedTextField


class DiscussionFormat(models.TextChoices):
    MEETING = "meeting", "A meeting"
    CALLS = "calls", "A series of calls"


class DiscussionMode(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    REMOTE = "remote", "Remote (video or telephone)"
    HYBRID = "hybrid", "In person and remote"


class DiscussionStatus(models.TextChoices):
    CALLED = "called", "Called"
    HELD = "held", "Held"
    CANCELLED = "cancelled", "Cancelled"


class Enquiry(models.TextChoices):
    """The decision on section 47 (statutory.md §1.3)."""

    NONE = "none", "No section 47 enquiry"
    SINGLE = "single", "Section 47 enquiry by children's social care (single agency)"
    JOINT = "joint", "Section 47 enquiry joint with the police"


class ParticipantRole(models.TextChoices):
    """The part an agency plays in a discussion. Which roles are required is a setting
    (`SAFEHUB_STRATEGY_REQUIRED_ROLES`), not code: the multi-agency child protection teams
    expected in 2027 add education."""

    CHILDREN_SOCIAL_CARE = "children_social_care", "Children's social care"
    POLICE = "police", "Police"
    HEALTH = "health", "Health"
    SCHOOL = "school", "School or nursery"
    REFERRER = "referrer", "Referring agency"
    DOMESTIC_ABUSE = "domestic_abuse", "Domestic abuse service"
    ADULT_MENTAL_HEALTH = "adult_mental_health", "Adult mental health"
    SUBSTANCE_MISUSE = "substance_misuse", "Substance misuse"
    PROBATION = "probation", "Probation"
    HOUSING = "housing", "Housing"
    YOUTH_JUSTICE = "youth_justice", "Youth justice"
    OTHER = "other", "Other"


class Response(models.TextChoices):
    PENDING = "pending", "Not answered yet"
    ACCEPTED = "accepted", "Accepted"
    DELEGATED = "delegated", "Declined: a colleague attends instead"
    INFORMATION_INSTEAD = "information_instead", "Declined: sends information instead"


class Attendance(models.TextChoices):
    NOT_RECORDED = "", "Not recorded"
    ATTENDED = "attended", "Attended"
    APOLOGIES_WITH_INFORMATION = "apologies_with_information", "Apologies, information sent"
    APOLOGIES_WITHOUT_INFORMATION = "apologies_without_information", "Apologies, no information"
    DID_NOT_ATTEND = "did_not_attend", "Did not attend"


class RequestStatus(models.TextChoices):
    OPEN = "open", "Waiting for an answer"
    ANSWERED = "answered", "Answered"
    NOT_SHARED = "not_shared", "Answered: not shared"
    WITHDRAWN = "withdrawn", "Withdrawn"


class StrategyDiscussion(models.Model):
    """One strategy discussion about one or several children of a household."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    local_authority = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, related_name="strategy_discussions"
    )
    contact = models.ForeignKey(
        "referrals.Contact",
        on_delete=models.PROTECT,
        related_name="strategy_discussions_called",
        help_text="The contact it was called from.",
    )
    decision = models.ForeignKey(
        "referrals.Decision",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="strategy_discussions",
        help_text="The decision that called it; empty when a manager called it from a contact.",
    )
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    called_at = models.DateTimeField(db_index=True)
    chair = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(help_text="Why: the cause to suspect significant harm.")
    due_at = models.DateTimeField(help_text="When it must be held by.")
    due_rule = models.CharField(max_length=200, blank=True)
    format = models.CharField(max_length=12, choices=DiscussionFormat.choices)
    mode = models.CharField(max_length=12, choices=DiscussionMode.choices)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    location = models.CharField(
        max_length=300, help_text="The room, or how to join (a dial-in or a video link)."
    )
    consent = models.CharField(
        max_length=20,
        help_text="Where consent to share stands (safehub.sharing.models.Consent).",
    )
    status = models.CharField(
        max_length=12, choices=DiscussionStatus.choices, default=DiscussionStatus.CALLED
    )
    sequence = models.PositiveIntegerField(
        default=0, help_text="The iCalendar SEQUENCE: one more at each update or cancellation."
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(blank=True)

    # The outcome, recorded by the chair.
    held_at = models.DateTimeField(null=True, blank=True, help_text="When it was held.")
    outcome_recorded_at = models.DateTimeField(null=True, blank=True)
    outcome_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    enquiry = models.CharField(max_length=8, choices=Enquiry.choices, blank=True)
    immediate_protection = models.BooleanField(null=True)
    outcome_rationale = models.TextField(blank=True)
    icpc_target = models.DateField(
        null=True, blank=True, help_text="15 working days after the discussion (statutory T4)."
    )
    icpc_date = models.DateField(null=True, blank=True, help_text="The conference as arranged.")
    icpc_arranged_by = models.CharField(max_length=200, blank=True)
    # Held without a statutory agency that neither attended nor sent information: why, and
    # whether to meet again. Counted in the figures.
    missing_agencies = models.JSONField(default=list, blank=True)
    missing_reason = models.TextField(blank=True)
    reconvene = models.BooleanField(null=True)
    minutes_sent_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the people's details were removed under the retention policy.",
    )

    class Meta:
        ordering = ["-called_at"]
        indexes = [
            models.Index(fields=["local_authority", "called_at"]),
            models.Index(fields=["local_authority", "status", "starts_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(starts_at__lt=models.F("ends_at")),
                name="discussion_starts_before_it_ends",
            )
        ]

    def __str__(self) -> str:
        return f"Strategy discussion {self.reference}"

    @property
    def reference(self) -> str:
        """A short reference people can read out on a call."""
        return "SD-" + self.id.hex[:8].upper()

    @property
    def is_open(self) -> bool:
        return self.status == DiscussionStatus.CALLED


class DiscussionChild(models.Model):
    """A child the discussion is about, by their contact, and the risks found for them."""

    discussion = models.ForeignKey(
        StrategyDiscussion, on_delete=models.CASCADE, related_name="children"
    )
    contact = models.ForeignKey(
        "referrals.Contact", on_delete=models.PROTECT, related_name="strategy_discussions"
    )
    risks = EncryptedTextField(blank=True, help_text="The risks identified for this child.")

    class Meta:
        ordering = ["contact__given_names", "id"]
        constraints = [
            models.UniqueConstraint(fields=["discussion", "contact"], name="one_row_per_child")
        ]

    def __str__(self) -> str:
        return f"{self.discussion} about {self.contact}"


class Participant(models.Model):
    """One agency invited to a discussion: who was invited, their answer, their attendance."""

    discussion = models.ForeignKey(
        StrategyDiscussion, on_delete=models.CASCADE, related_name="participants"
    )
    role = models.CharField(max_length=24, choices=ParticipantRole.choices)
    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    invitee_name = models.CharField(
        max_length=200, blank=True, help_text="A named person; empty: the agency's duty inbox."
    )
    invitee_email = models.EmailField()
    statutory = models.BooleanField(help_text="A role the discussion cannot be held without.")
    invited_at = models.DateTimeField()
    response = models.CharField(max_length=24, choices=Response.choices, default=Response.PENDING)
    delegate_name = models.CharField(max_length=200, blank=True)
    delegate_email = models.EmailField(blank=True)
    response_note = models.TextField(blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    attendance = models.CharField(
        max_length=32, choices=Attendance.choices, blank=True, default=Attendance.NOT_RECORDED
    )
    attended_name = models.CharField(max_length=200, blank=True)
    attended_role = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["discussion", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["discussion", "role", "agency"], name="one_invitation_per_agency_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.agency}"

    @property
    def sent_information(self) -> bool:
        """Attended, sent apologies with information, or answered the information request."""
        if self.attendance in (Attendance.ATTENDED, Attendance.APOLOGIES_WITH_INFORMATION):
            return True
        request = getattr(self, "request", None)
        return request is not None and request.status == RequestStatus.ANSWERED


class InformationRequest(models.Model):
    """What the discussion asks one invited agency, about which people (with only what that
    agency needs to find them), by when; and the agency's answer, recorded by its practitioner."""

    participant = models.OneToOneField(
        Participant, on_delete=models.CASCADE, related_name="request"
    )
    question = EncryptedTextField()
    subjects = models.JSONField(
        default=list,
        help_text="The people asked about, with only the details this agency is given.",
    )
    deadline = models.DateTimeField()
    sent_at = models.DateTimeField()
    status = models.CharField(
        max_length=12, choices=RequestStatus.choices, default=RequestStatus.OPEN
    )
    answer = EncryptedTextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    chased_at = models.DateTimeField(null=True, blank=True)
    chase_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["participant__discussion", "participant_id"]
        indexes = [models.Index(fields=["status", "deadline"])]

    def __str__(self) -> str:
        return f"Request to {self.participant.agency}"

    @property
    def answered_on_time(self) -> bool | None:
        if self.answered_at is None:
            return None
        return self.answered_at <= self.deadline


class DiscussionAction(models.Model):
    """An action agreed at the discussion: what, who (a person and an agency), by when; followed
    up until done."""

    discussion = models.ForeignKey(
        StrategyDiscussion, on_delete=models.CASCADE, related_name="actions"
    )
    description = models.TextField()
    owner_name = models.CharField(max_length=200)
    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    due_on = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    done_note = models.TextField(blank=True)
    chased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["done_at", "due_on"])]

    def __str__(self) -> str:
        return f"{self.owner_name} ({self.agency}) by {self.due_on}"
