"""The person index: the people the hub has heard of, each with the records of them that each
source sent (kept as sent), how each record was linked and on what evidence, their relationships,
the clerical review of uncertain links, and merges that can be undone.

A record is never rewritten to fit a person: linking moves the record's `person`, and every move
is evidence-backed (`match_probability`, `match_evidence`) or a person's decision, audited."""

import uuid

from django.conf import settings
from django.db import models

from safehub.core.fields import EncryptedJSONField


class LinkageModel(models.Model):
    """One trained version of the linkage model (Splink's settings with its estimated m and u),
    and what it was trained on. The newest `active` one scores."""

    version = models.PositiveIntegerField(unique=True)
    document = models.JSONField(help_text="The Splink model as `safehub linkage train` wrote it.")
    trained_at = models.DateTimeField()
    trained_on = models.JSONField(
        default=dict, help_text="Records, sources, SHA-256 of the input, the command."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"Linkage model v{self.version}"


class Person(models.Model):
    """One person, as far as the index can tell: the records linked to them say who they are."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField()
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Set while this person is merged into another (undone by an unmerge).",
    )

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Person {self.reference}"

    @property
    def reference(self) -> str:
        return "P-" + self.id.hex[:8].upper()


class SourceKind(models.TextChoices):
    NOTIFICATION = "notification", "Police notification"
    CONTACT = "contact", "Manual contact"
    PARTNER_FILE = "partner_file", "Partner file"


class LinkMethod(models.TextChoices):
    NEW = "new", "New person: no candidate close enough"
    AUTO = "auto", "Linked automatically: match probability above the auto-link band"
    REVIEW = "review", "Linked by a person after clerical review"
    MERGE = "merge", "Moved by a merge"
    IDENTIFIER = "identifier", "Linked on a shared identifier"


class SourceRecord(models.Model):
    """What one source said about one person, once: a person named in a notification (child,
    victim, suspect...), a manual contact's child, a row of a partner's file. The values are kept
    as received (encrypted); the plain columns are the normalised keys the blocking rules look up
    (people/model.py BLOCKING_KEYS)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="records")
    source_kind = models.CharField(max_length=16, choices=SourceKind.choices)
    source = models.CharField(max_length=100, help_text="The agency code or the file's name.")
    source_ref = models.CharField(
        max_length=200, help_text="The record's own id in its source (unique within it)."
    )
    notification = models.ForeignKey(
        "intake.Notification",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="person_records",
    )
    contact = models.ForeignKey(
        "referrals.Contact",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="person_records",
    )
    role = models.CharField(max_length=16, blank=True, help_text="child, victim, suspect...")
    values = EncryptedJSONField(default=dict, help_text="The record as the source sent it.")
    features = EncryptedJSONField(
        default=dict,
        blank=True,
        help_text="What the model compares (features.model_row of the values), kept so that "
        "matching and `linkage run` need not work it out again; empty until computed.",
    )
    seen_at = models.DateTimeField(help_text="When the source said it (the incident, the file).")

    # Blocking keys (normalised; see people/features.py model_row).
    given_name = models.CharField(max_length=100, blank=True)
    given_initial = models.CharField(max_length=1, blank=True)
    family_name = models.CharField(max_length=100, blank=True)
    family_sx = models.CharField(max_length=8, blank=True)
    name_pair = models.CharField(max_length=201, blank=True)
    dob = models.DateField(null=True, blank=True)
    dob_y = models.PositiveSmallIntegerField(null=True, blank=True)
    dob_md = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The month * 100 + the day of the date of birth."
    )
    postcode = models.CharField(max_length=8, blank=True)
    address_key = models.CharField(
        max_length=64, blank=True, help_text="A keyed hash of the address line: no address here."
    )
    nhs_key = models.CharField(max_length=64, blank=True, help_text="A keyed hash.")
    upn_key = models.CharField(max_length=64, blank=True, help_text="A keyed hash.")

    # How the record came to its person.
    link_method = models.CharField(max_length=12, choices=LinkMethod.choices)
    match_probability = models.FloatField(null=True, blank=True)
    match_evidence = models.JSONField(
        default=dict, blank=True, help_text="Per comparison: the level and its match weight."
    )
    model_version = models.PositiveIntegerField(null=True, blank=True)
    linked_at = models.DateTimeField()
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    erased_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the retention job emptied the values, features and keys (the record "
        "stays, for its person, relationships and merges, and is never matched again).",
    )

    class Meta:
        ordering = ["seen_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source_kind", "source", "source_ref"], name="one_record_per_source_ref"
            )
        ]
        indexes = [
            models.Index(fields=["person", "seen_at"]),
            models.Index(fields=["dob"]),
            models.Index(fields=["family_sx", "dob_y"]),
            models.Index(fields=["postcode"]),
            models.Index(fields=["name_pair"]),
            models.Index(fields=["given_name", "dob_y"]),
            models.Index(fields=["given_name", "family_sx"]),
            models.Index(fields=["address_key"]),
            models.Index(fields=["nhs_key"]),
            models.Index(fields=["upn_key"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_kind_display()} {self.source}:{self.source_ref}"


class RelationshipKind(models.TextChoices):
    PARENT = "parent", "Parent"
    STEP_PARENT = "step_parent", "Step-parent"
    PARTNER = "partner", "Partner"
    EX_PARTNER = "ex_partner", "Former partner"
    SIBLING = "sibling", "Sibling"
    OTHER = "other", "Other household member"


class Relationship(models.Model):
    """`from_person` is the `kind` of `to_person` (a parent of the child), as a source said."""

    from_person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    to_person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="relationships")
    kind = models.CharField(max_length=16, choices=RelationshipKind.choices)
    record = models.ForeignKey(
        SourceRecord,
        on_delete=models.CASCADE,
        related_name="relationships",
        help_text="The record that said so.",
    )
    seen_at = models.DateTimeField()

    class Meta:
        ordering = ["-seen_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["from_person", "to_person", "kind", "record"], name="one_relationship_each"
            )
        ]
        indexes = [models.Index(fields=["from_person", "kind"])]

    def __str__(self) -> str:
        return f"{self.from_person} {self.kind} of {self.to_person}"


class ReviewStatus(models.TextChoices):
    OPEN = "open", "Waiting for a person"
    LINKED = "linked", "Linked"
    KEPT_APART = "kept_apart", "Kept apart"
    SUPERSEDED = "superseded", "No longer applies"


class LinkReview(models.Model):
    """An uncertain pair for a person to decide: a record and a person it may be, with the
    evidence. Nothing below the review band is linked without this decision."""

    record = models.ForeignKey(SourceRecord, on_delete=models.CASCADE, related_name="reviews")
    candidate = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="reviews")
    match_probability = models.FloatField()
    match_evidence = models.JSONField(default=dict)
    model_version = models.PositiveIntegerField(null=True, blank=True)
    origin = models.CharField(max_length=16, help_text="intake, load or run.")
    status = models.CharField(
        max_length=12, choices=ReviewStatus.choices, default=ReviewStatus.OPEN
    )
    created_at = models.DateTimeField(db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-match_probability", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["record", "candidate"],
                condition=models.Q(status="open"),
                name="one_open_review_per_pair",
            )
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.record} ~ {self.candidate} ({self.match_probability:.2f})"


class Merge(models.Model):
    """Two people found to be one: `merged`'s records moved to `kept`. Undone by an unmerge, which
    moves exactly those records back."""

    kept = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    merged = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    records = models.JSONField(help_text="The ids of the records moved.")
    relationships = models.JSONField(
        default=list, blank=True, help_text="The relationships re-pointed, to restore them."
    )
    reason = models.TextField()
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    undo_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.merged} into {self.kept}"


class RerateDue(models.Model):
    """A notification whose people the index linked but whose contacts could not then be triaged
    again with what the index showed (the re-rate failed and was rolled back; the links were
    kept). The sweep tries again, the longest-waiting first, until it succeeds, so that a rating
    the index shows to be too low does not stay low unnoticed; meanwhile the contact page says
    the rating may be too low."""

    notification = models.OneToOneField(
        "intake.Notification", on_delete=models.CASCADE, related_name="rerate_due"
    )
    since = models.DateTimeField(help_text="When the first re-rate failed.")
    attempts = models.PositiveIntegerField(default=1)
    last_tried_at = models.DateTimeField(db_index=True)
    last_error = models.CharField(
        max_length=200, blank=True, help_text="The error's kind only: no values from the record."
    )

    class Meta:
        ordering = ["last_tried_at", "id"]

    def __str__(self) -> str:
        return f"Re-rate due for notification {self.notification_id} ({self.attempts} tries)"
