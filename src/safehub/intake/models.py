import uuid

from django.db import models

from safehub.core.fields import EncryptedBinaryField


class Channel(models.TextChoices):
    API = "api", "API"
    IMPORT = "import", "Bulk import"


class Notification(models.Model):
    """A police domestic-abuse notification (PPN): one incident, every version the force sent."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    force = models.ForeignKey(
        "accounts.Agency",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
        help_text="Empty when the force code is not registered.",
    )
    force_code = models.CharField(max_length=16)
    incident_reference = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    received_at = models.DateTimeField(db_index=True)
    current_version = models.PositiveIntegerField(default=1)
    officer_grade = models.CharField(max_length=16)
    child_count = models.PositiveSmallIntegerField(default=0)
    flags = models.JSONField(
        default=list,
        blank=True,
        help_text="unknown_force, unrouted, unknown_school: what a person must look at.",
    )
    erased_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When every version's body was removed under the retention policy.",
    )

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["force_code", "incident_reference"], name="unique_force_incident"
            )
        ]
        indexes = [
            # The retention job's candidates: notifications not yet anonymised, oldest first.
            models.Index(
                fields=["received_at"],
                condition=models.Q(erased_at__isnull=True),
                name="notification_not_erased",
            )
        ]

    def __str__(self) -> str:
        return f"{self.force_code} {self.incident_reference}"


class NotificationVersion(models.Model):
    """One body the force sent, kept byte for byte and never changed, until the retention policy
    removes it (`erased_at`): the body is then the marker `{}`."""

    notification = models.ForeignKey(
        Notification, on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField()
    # Encrypted at rest: the body names the victim's address, safe phone and NHS numbers.
    body = EncryptedBinaryField(help_text="The request body exactly as received.")
    body_sha256 = models.CharField(
        max_length=64, help_text="Hash of the canonical JSON: the same content, whatever spacing."
    )
    received_at = models.DateTimeField()
    channel = models.CharField(max_length=8, choices=Channel.choices)
    api_client = models.ForeignKey(
        "accounts.ApiClient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    erased_at = models.DateTimeField(
        null=True, blank=True, help_text="When the body was removed under the retention policy."
    )

    class Meta:
        ordering = ["notification", "number"]
        constraints = [
            models.UniqueConstraint(fields=["notification", "number"], name="unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.notification} v{self.number}"


class IdempotencyKey(models.Model):
    """An `Idempotency-Key` a force has used, and what it created."""

    force_code = models.CharField(max_length=16)
    key = models.CharField(max_length=255)
    body_sha256 = models.CharField(max_length=64)
    notification = models.ForeignKey(Notification, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["force_code", "key"], name="unique_idempotency_key")
        ]

    def __str__(self) -> str:
        return f"{self.force_code} {self.key}"


class PersonKey(models.Model):
    """Who a notification names, as exact-match keys: a hash of a person's normalised given
    names, family name and date of birth, with their role and the incident's time. Triage counts
    earlier notifications about the same child or the same victim, and MARAC finds the same
    victim and suspect, through the index on (key, occurred_at), without reading bodies.

    Until the person index links records that are spelled differently, "the same person" is this
    exact match (issue 3 item 7); a person without a date of birth has no key. The current
    version's people only: an amendment replaces the notification's keys."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="person_keys"
    )
    role = models.CharField(max_length=8)  # child, victim or suspect
    person_ref = models.CharField(max_length=20)
    key = models.CharField(max_length=32)
    occurred_at = models.DateTimeField(help_text="The incident's time.")

    class Meta:
        indexes = [models.Index(fields=["key", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.role} {self.person_ref} of {self.notification_id}"
