import uuid

from django.conf import settings
from django.db import models

from safehub.core import clock


class TriagePolicy(models.Model):
    """One version of the local triage policy: DASH bands, RAG rules, MARAC thresholds and
    screening deadlines (see policy.py for the shape of `rules`).

    A version is never edited once published: an administrator publishes a new one
    (`services.policy_publish`), which becomes the one active version. Each rating records the
    version it was made under, so old contacts keep their rating and can say why."""

    version = models.PositiveIntegerField(unique=True, editable=False)
    created_at = models.DateTimeField(default=clock.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for the version shipped with safehub.",
    )
    note = models.TextField(blank=True, help_text="What changed and why.")
    is_active = models.BooleanField(default=False, editable=False)
    rules = models.JSONField()

    class Meta:
        verbose_name = "triage policy version"
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="one_active_triage_policy",
            ),
            models.CheckConstraint(
                condition=models.Q(version__gte=1), name="triage_policy_version_from_one"
            ),
        ]

    def __str__(self) -> str:
        return f"Triage policy v{self.version}" + (" (active)" if self.is_active else "")


class MaracStatus(models.TextChoices):
    TO_CONFIRM = "to_confirm", "To confirm"
    CONFIRMED = "confirmed", "Referred to MARAC"
    DECLINED = "declined", "Not referred"


class MaracReferral(models.Model):
    """A proposed referral of a notification's adult victim to MARAC, made when the criteria are
    met (statutory.md §2.3), for a person to confirm or decline with a reason. Each criterion met
    is kept with its evidence as it stood when the notification arrived."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    notification = models.ForeignKey(
        "intake.Notification", on_delete=models.PROTECT, related_name="marac_referrals"
    )
    victim_ref = models.CharField(max_length=20)
    victim_name = models.CharField(max_length=400)
    victim_date_of_birth = models.DateField(null=True, blank=True)
    victim_key = models.CharField(
        max_length=32, blank=True, db_index=True, help_text="Empty without a date of birth."
    )
    suspect_keys = models.JSONField(default=list, blank=True)
    criteria = models.JSONField(help_text='[{"code": ..., "evidence": ...}], in CRITERIA order.')
    policy_version = models.PositiveIntegerField()
    status = models.CharField(
        max_length=12, choices=MaracStatus.choices, default=MaracStatus.TO_CONFIRM
    )
    created_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    erased_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the victim's details were removed under the retention policy.",
    )

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "victim_ref"], name="one_marac_referral_per_victim"
            )
        ]
        indexes = [
            models.Index(fields=["status", "created_at"]),
            # The retention job's candidates: decided referrals not yet anonymised.
            models.Index(
                fields=["status", "decided_at"],
                condition=models.Q(erased_at__isnull=True),
                name="marac_referral_not_erased",
            ),
        ]

    def __str__(self) -> str:
        return f"MARAC referral for {self.victim_name} ({self.status})"

    @property
    def criteria_codes(self) -> list[str]:
        return [c["code"] for c in self.criteria]
