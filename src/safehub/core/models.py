from django.db import models

from safehub.core.fields import EncryptedJSONField, EncryptedTextField


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENT = "sent", "Sent"
    DEAD = "dead", "Given up: needs a person"


class OutboxMessage(models.Model):
    """A message that leaves safehub, written in the same transaction as the act that causes it
    and delivered at least once by the worker, with retries and a dead-letter state."""

    kind = models.CharField(max_length=16, choices=[("email", "E-mail")], default="email")
    recipients = models.JSONField(help_text="E-mail addresses.")
    subject = models.CharField(max_length=300)
    # Encrypted at rest: an Encompass e-mail names the child and the incident address.
    body = EncryptedTextField()
    attachments = EncryptedJSONField(
        default=list, blank=True, help_text="[{filename, content_type, content_base64}]"
    )
    reason = models.CharField(max_length=64, help_text="What caused it, e.g. notification_amended.")
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(
        max_length=8, choices=OutboxStatus.choices, default=OutboxStatus.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the body and attachments were removed under the retention policy.",
    )

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            # The retention job's candidates: messages whose body is still kept.
            models.Index(
                fields=["status", "sent_at"],
                condition=models.Q(erased_at__isnull=True),
                name="outbox_not_erased",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reason} to {', '.join(self.recipients)} ({self.status})"
