"""Sharing decisions: the record that information-sharing golden rule 7 asks for (statutory.md
§7.1, §7.2). Every disclosure to a partner (an information request, an invitation, the minutes,
an Operation Encompass notice, a partner's answer) and every refusal to share is one row: who
decided, when, what was (or was not) shared with whom, why, on what lawful basis, and where
consent stood."""

from django.conf import settings
from django.db import models


class Shared(models.TextChoices):
    SHARED = "shared", "Shared"
    NOT_SHARED = "not_shared", "Not shared"


class SharingKind(models.TextChoices):
    INVITATION = "invitation", "Strategy discussion invitation"
    INFORMATION_REQUEST = "information_request", "Information request"
    ANSWER = "answer", "Answer to an information request"
    MINUTES = "minutes", "Strategy discussion minutes"
    ENCOMPASS = "encompass", "Operation Encompass notice"


class LawfulBasis(models.TextChoices):
    """statutory.md §7.3. Public task is the default for councils and health; the police share
    under Part 3 of the Data Protection Act 2018."""

    PUBLIC_TASK_SAFEGUARDING = (
        "public_task_safeguarding",
        "UK GDPR art. 6(1)(e) public task; DPA 2018 Sch. 1 para 18, safeguarding of children and "
        "individuals at risk",
    )
    LAW_ENFORCEMENT = (
        "law_enforcement",
        "DPA 2018 Part 3, law enforcement; Sch. 8, safeguarding of children and individuals at "
        "risk",
    )
    ENCOMPASS = (
        "encompass",
        "Domestic Abuse Act 2021 s.49A / Children Act 2004 s.11, public task; DPA 2018 Sch. 1 "
        "para 18",
    )
    CONSENT = "consent", "Consent of the person (UK GDPR art. 6(1)(a))"
    VITAL_INTERESTS = "vital_interests", "Vital interests (UK GDPR art. 6(1)(d))"
    NONE = "none", "None: not shared"


class Consent(models.TextChoices):
    GIVEN = "given", "Given"
    REFUSED = "refused", "Refused: shared without it, the child being at risk"
    NOT_SOUGHT_UNSAFE = "not_sought_unsafe", "Not sought: asking would put someone at risk"
    NOT_REQUIRED = "not_required", "Not required: a child at risk of significant harm"
    NOT_KNOWN = "not_known", "Not known"


class SharingDecision(models.Model):
    """One decision to share, or not to share, information with a partner. Append-only: a
    decision made is history; a later one is another row."""

    at = models.DateTimeField(db_index=True)
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    made_by_name = models.CharField(
        max_length=200, help_text="Who decided, as a name (or the part of safehub that did)."
    )
    from_agency = models.ForeignKey(
        "accounts.Agency",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The agency whose information it is.",
    )
    shared = models.CharField(max_length=12, choices=Shared.choices)
    kind = models.CharField(max_length=24, choices=SharingKind.choices)
    recipient_agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recipient = models.CharField(
        max_length=300, help_text="The person or inbox, e.g. an e-mail address."
    )
    fields = models.JSONField(default=list, help_text="What was shared (or withheld), by name.")
    purpose = models.CharField(max_length=300)
    lawful_basis = models.CharField(max_length=32, choices=LawfulBasis.choices)
    consent = models.CharField(max_length=20, choices=Consent.choices)
    reason = models.TextField()
    contact = models.ForeignKey(
        "referrals.Contact",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sharing_decisions",
        help_text="The child's contact, when it is about one child.",
    )
    discussion = models.ForeignKey(
        "meetings.StrategyDiscussion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sharing_decisions",
    )
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["contact", "at"]),
            models.Index(fields=["discussion", "at"]),
            models.Index(fields=["from_agency", "at"]),
            models.Index(fields=["recipient_agency", "at"]),
        ]
        constraints = [
            # A disclosure names its lawful basis; a refusal shares nothing and needs none.
            models.CheckConstraint(
                condition=(
                    models.Q(shared="shared") & ~models.Q(lawful_basis="none")
                    | models.Q(shared="not_shared", lawful_basis="none")
                ),
                name="sharing_basis_fits_decision",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_shared_display()}: {self.get_kind_display()} to {self.recipient}"
