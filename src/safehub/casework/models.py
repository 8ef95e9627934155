"""What children's social care records after the front door, as far as the statutory returns need
it: the referral (a children in need episode), its assessment, the section 47 enquiry and its
initial child protection conference, the child protection plan and the children in need plan.

The front door opens an episode when a decision that makes a referral is signed off, and a section
47 record when a strategy discussion starts an enquiry; workers record the rest with short forms.
The CIN census (statutory.md §4) and Ofsted's Annex A (§5) are read from these rows and nothing
else, so what the council reports is what its staff recorded."""

import uuid
from typing import Any

from django.conf import settings
from django.db import models

from safehub.casework.codes import (
    AbuseCategory,
    AssessmentFactor,
    ClosureReason,
    Ethnicity,
    PrimaryNeed,
    UPNUnknown,
)
from safehub.referrals.models import ReferralSource


def child_id_new() -> str:
    """A council's identifier for a child in its returns (the census's LAchildID: at most 20
    letters and digits). Until the person index gives one identifier per person, each episode's
    child has its own."""
    return "C" + uuid.uuid4().hex[:11].upper()


class CaseEpisode(models.Model):
    """A referral to children's social care and what followed it, to its closure: the census's
    CINdetails for one child."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    contact = models.OneToOneField(
        "referrals.Contact", on_delete=models.PROTECT, related_name="episode"
    )
    local_authority = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, related_name="episodes"
    )
    child_id = models.CharField(
        max_length=20, default=child_id_new, help_text="LAchildID: letters and digits only."
    )
    referral_date = models.DateField(db_index=True, help_text="CINreferralDate.")
    referral_source = models.CharField(max_length=2, choices=ReferralSource.choices)
    referral_nfa = models.BooleanField(
        default=False, help_text="ReferralNFA: closed at referral with no further action."
    )
    primary_need = models.CharField(
        max_length=2, choices=PrimaryNeed.choices, default=PrimaryNeed.N1
    )
    # The child's details the returns need and a notification rarely gives.
    upn = models.CharField(max_length=13, blank=True, help_text="Unique pupil number.")
    upn_unknown = models.CharField(max_length=3, choices=UPNUnknown.choices, blank=True)
    ethnicity = models.CharField(max_length=4, choices=Ethnicity.choices, default=Ethnicity.NOBT)
    disabilities = models.JSONField(
        default=list, blank=True, help_text="Disability codes; empty: not recorded."
    )
    closed_on = models.DateField(null=True, blank=True, help_text="CINclosureDate.")
    closure_reason = models.CharField(max_length=3, choices=ClosureReason.choices, blank=True)
    opened_at = models.DateTimeField()
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-referral_date", "id"]
        indexes = [
            models.Index(fields=["local_authority", "referral_date"]),
            models.Index(fields=["local_authority", "closed_on"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closed_on__isnull=True, closure_reason="")
                | models.Q(closed_on__isnull=False) & ~models.Q(closure_reason=""),
                name="episode_closure_has_date_and_reason",
            )
        ]

    def __str__(self) -> str:
        return f"Referral {self.child_id} of {self.referral_date}"

    @property
    def is_open(self) -> bool:
        return self.closed_on is None


class Assessment(models.Model):
    """A child and family assessment: started, the child seen, authorised with the factors found.
    Its authorisation meets the 45-working-day clock."""

    episode = models.ForeignKey(CaseEpisode, on_delete=models.PROTECT, related_name="assessments")
    local_authority = models.ForeignKey(
        "accounts.Agency",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The episode's council, kept here for the dashboard's index (set on save).",
    )
    started_on = models.DateField(help_text="AssessmentActualStartDate.")
    child_seen_on = models.DateField(null=True, blank=True)
    authorised_on = models.DateField(
        null=True, blank=True, help_text="AssessmentAuthorisationDate: empty while open."
    )
    factors = models.JSONField(
        default=list, blank=True, help_text="AssessmentFactors, on authorisation."
    )
    needs_support = models.BooleanField(
        null=True, help_text="Assessed as needing children's social care support."
    )
    late_reason = models.TextField(
        blank=True, help_text="Why it took longer than 45 working days from the referral."
    )
    authorised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["started_on", "id"]
        indexes = [
            models.Index(fields=["episode", "authorised_on"]),
            # The dashboard's DfE clock: assessments started in a period, the nation's and a
            # council's.
            models.Index(fields=["started_on"], name="assessment_started"),
            models.Index(
                fields=["local_authority", "started_on"], name="assessment_council_started"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(authorised_on__isnull=True)
                | models.Q(authorised_on__gte=models.F("started_on")),
                name="assessment_authorised_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"Assessment from {self.started_on}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.local_authority_id is None:
            self.local_authority_id = self.episode.local_authority_id
        super().save(*args, **kwargs)

    @property
    def factor_labels(self) -> list[tuple[str, str]]:
        """The factors found, as (code, what it means)."""
        labels = dict(AssessmentFactor.choices)
        return [(code, labels.get(code, code)) for code in self.factors]


class Section47(models.Model):
    """A section 47 enquiry, started at the strategy discussion that initiated it, and its
    initial child protection conference (or the decision that none is needed)."""

    episode = models.ForeignKey(CaseEpisode, on_delete=models.PROTECT, related_name="enquiries")
    local_authority = models.ForeignKey(
        "accounts.Agency",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The episode's council, kept here for the dashboard's index (set on save).",
    )
    discussion = models.ForeignKey(
        "meetings.StrategyDiscussion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="enquiries",
        help_text="The strategy discussion that initiated it.",
    )
    started_on = models.DateField(help_text="S47ActualStartDate.")
    icpc_target = models.DateField(help_text="InitialCPCtarget: 15 working days on.")
    icpc_not_required = models.BooleanField(default=False, help_text="ICPCnotRequired.")
    icpc_on = models.DateField(null=True, blank=True, help_text="DateOfInitialCPC.")
    icpc_led_to_plan = models.BooleanField(
        null=True, help_text="Did the conference result in a child protection plan."
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["started_on", "id"]
        verbose_name = "section 47 enquiry"
        verbose_name_plural = "section 47 enquiries"
        # The dashboard's ICPC figure: enquiries started in a period, the nation's and a
        # council's.
        indexes = [
            models.Index(fields=["started_on"], name="enquiry_started"),
            models.Index(fields=["local_authority", "started_on"], name="enquiry_council_started"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["episode", "discussion"], name="one_enquiry_per_discussion"
            ),
            models.CheckConstraint(
                condition=~models.Q(icpc_not_required=True, icpc_on__isnull=False),
                name="enquiry_conference_or_not_required",
            ),
        ]

    def __str__(self) -> str:
        return f"Section 47 enquiry from {self.started_on}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.local_authority_id is None:
            self.local_authority_id = self.episode.local_authority_id
        super().save(*args, **kwargs)


class ChildProtectionPlan(models.Model):
    """A child protection plan: it starts at the conference that made it (rule 2885)."""

    episode = models.ForeignKey(CaseEpisode, on_delete=models.PROTECT, related_name="plans")
    enquiry = models.ForeignKey(
        Section47, on_delete=models.PROTECT, null=True, blank=True, related_name="plans"
    )
    started_on = models.DateField(help_text="CPPstartDate.")
    initial_category = models.CharField(max_length=3, choices=AbuseCategory.choices)
    latest_category = models.CharField(max_length=3, choices=AbuseCategory.choices)
    previous_plans = models.PositiveSmallIntegerField(default=0, help_text="NumberOfPreviousCPP.")
    ended_on = models.DateField(null=True, blank=True, help_text="CPPendDate.")
    review_dates = models.JSONField(
        default=list, blank=True, help_text="CPPreviewDate: ISO dates of review conferences."
    )

    class Meta:
        ordering = ["started_on", "id"]
        verbose_name = "child protection plan"

    def __str__(self) -> str:
        return f"Child protection plan from {self.started_on}"


class CINPlan(models.Model):
    """A children in need plan."""

    episode = models.ForeignKey(CaseEpisode, on_delete=models.PROTECT, related_name="cin_plans")
    started_on = models.DateField(help_text="CINPlanStartDate.")
    ended_on = models.DateField(null=True, blank=True, help_text="CINPlanEndDate.")

    class Meta:
        ordering = ["started_on", "id"]
        verbose_name = "children in need plan"

    def __str__(self) -> str:
        return f"Children in need plan from {self.started_on}"
