from django.conf import settings
from django.db import models


class Action(models.TextChoices):
    VIEW = "view"
    SEARCH = "search"
    CREATE = "create"
    UPDATE = "update"
    EXPORT = "export"
    DISCLOSE = "disclose"


class AuditEvent(models.Model):
    """One act on personal data: append-only, written in the same transaction as the act."""

    at = models.DateTimeField(db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    api_client = models.ForeignKey(
        "accounts.ApiClient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.CharField(
        max_length=200, help_text="Who, as a name, kept even if the user goes."
    )
    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    role = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    purpose = models.CharField(max_length=200, blank=True)
    request_id = models.CharField(max_length=64)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object_type}"


class AuditSeal(models.Model):
    """One link of the hash chain over the audit log: the event it seals, in chain order.

    The sealer (`safehub.audit.chain.audit_seal`) appends seals after the fact, in batches, so
    that the writers of events are never serialised and an audit row is never updated. `seq` is
    the chain order, which is the order events were sealed in, not their ids: an event whose
    transaction committed late is sealed when it appears. `event_hash` is the SHA-256 of the
    event's canonical form; `hash` chains it to the seal before (`prev_hash`)."""

    seq = models.BigIntegerField(primary_key=True)
    event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, related_name="seal")
    sealed_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    event_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        # The sealer's starting point: the latest seal made before a given time.
        indexes = [models.Index(fields=["sealed_at", "event"], name="audit_seal_sealed_at_idx")]

    def __str__(self) -> str:
        return f"seal {self.seq} of event {self.event_id}"
