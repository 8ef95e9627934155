"""Operation Encompass notices: what a school's safeguarding lead is told about a child after a
domestic abuse incident, before the next school day starts (statutory.md §3).

A notice carries the Encompass subset only, frozen when it is made: the child's name and date of
birth, the police reference, when and where, whether the child was present, and the child's voice.
Never the summary, the offences, the risk answers or any adult's details (statutory.md §7.2).
"""

import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.db import models

from safehub.core.clock import LONDON
from safehub.core.fields import EncryptedJSONField


class NoticeStatus(models.TextChoices):
    UNROUTED = "unrouted", "Waiting for a recipient"
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"


# The one table of allowed moves: a status may be reached from these previous ones only. A lead
# may acknowledge a notice they read in safehub before its e-mail is recorded as delivered.
ALLOWED_PREVIOUS: dict[str, frozenset[str]] = {
    NoticeStatus.QUEUED: frozenset({NoticeStatus.UNROUTED}),
    NoticeStatus.SENT: frozenset({NoticeStatus.QUEUED}),
    NoticeStatus.ACKNOWLEDGED: frozenset({NoticeStatus.QUEUED, NoticeStatus.SENT}),
}


class RecipientReason(models.TextChoices):
    SCHOOL_DSL = "school_dsl", "School's designated safeguarding lead"
    NO_KNOWN_SCHOOL = "no_known_school", "No known school: council education safeguarding"
    UNROUTED = "unrouted", "No known school and no council yet"


class EncompassNotice(models.Model):
    """One child's Operation Encompass notice: to the school's designated safeguarding lead, or to
    the council's education safeguarding inbox when the school is not known."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    contact = models.OneToOneField(
        "referrals.Contact", on_delete=models.PROTECT, related_name="encompass_notice"
    )
    recipient = models.ForeignKey(
        "accounts.Agency",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="encompass_notices",
        help_text="The school, or the council's education safeguarding team. Empty until known.",
    )
    recipient_email = models.EmailField(blank=True)
    reason_for_recipient = models.CharField(max_length=20, choices=RecipientReason.choices)
    recorded_at = models.DateTimeField(help_text="When the police recorded the notification.")
    due_at = models.DateTimeField(help_text="The start of the next school day after recorded_at.")
    status = models.CharField(
        max_length=16, choices=NoticeStatus.choices, default=NoticeStatus.QUEUED
    )
    # Encrypted at rest: the subset holds the incident address and the child's voice.
    content = EncryptedJSONField(help_text="The Encompass subset, frozen when the notice was made.")
    consent_to_share = models.CharField(
        max_length=16, blank=True, help_text="As the police sent it: given, refused, not_sought."
    )
    outbox_message = models.OneToOneField(
        "core.OutboxMessage",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The e-mail; whether it was delivered is the message's status.",
    )
    created_at = models.DateTimeField()
    queued_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When the e-mail reached the recipient's mail server."
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    erased_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the content was removed under the retention policy (the police "
        "reference stays).",
    )

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            # "Overdue": not yet delivered or acknowledged, due before now.
            models.Index(fields=["status", "due_at"]),
            # A recipient's inbox, most urgent first.
            models.Index(fields=["recipient", "status", "due_at"]),
            # The retention job's candidates: notices not yet anonymised.
            models.Index(
                fields=["due_at"],
                condition=models.Q(erased_at__isnull=True),
                name="encompass_notice_not_erased",
            ),
        ]

    def __str__(self) -> str:
        return f"Encompass notice {self.police_reference} ({self.status})"

    # The subset, as a person reads it. The e-mail and the page both use these rows, so they
    # cannot show different things.

    @property
    def child_name(self) -> str:
        if self.erased_at is not None:
            return "Removed"
        child = self.content.get("child", {})
        return f"{child.get('given_names', '')} {child.get('family_name', '')}".strip()

    @property
    def police_reference(self) -> str:
        return str(self.content.get("police_reference", ""))

    def subset_rows(self) -> list[tuple[str, str]]:
        return subset_rows(self.content)

    @property
    def delivered_at(self) -> dt.datetime | None:
        """When the e-mail was delivered, read from the outbox message (the truth), whether or not
        the notice's own status has caught up yet."""
        if self.sent_at is not None:
            return self.sent_at
        message = self.outbox_message
        return message.sent_at if message is not None else None

    def is_overdue(self, now: dt.datetime) -> bool:
        """Due, and neither delivered nor acknowledged: the rule `overdue_q` states for queries."""
        return (
            self.status in (NoticeStatus.UNROUTED, NoticeStatus.QUEUED)
            and self.delivered_at is None
            and self.due_at < now
        )

    @property
    def state_text(self) -> str:
        """The status as the pages show it: "Sent" as soon as the outbox has delivered the
        e-mail, even before `encompass_sweep` has recorded it on the notice."""
        if self.status == NoticeStatus.QUEUED and self.delivered_at is not None:
            return NoticeStatus.SENT.label
        return NoticeStatus(self.status).label

    @property
    def state_colour(self) -> str:
        return {
            NoticeStatus.ACKNOWLEDGED.label: "green",
            NoticeStatus.SENT.label: "blue",
            NoticeStatus.QUEUED.label: "grey",
        }.get(self.state_text, "orange")

    @property
    def sent_late(self) -> bool:
        delivered = self.delivered_at
        return delivered is not None and delivered > self.due_at


def overdue_q(now: dt.datetime) -> models.Q:
    """Notices due before `now` whose e-mail has not been delivered and that nobody has
    acknowledged. The outbox message is the truth about delivery."""
    return models.Q(due_at__lt=now, status__in=[NoticeStatus.UNROUTED, NoticeStatus.QUEUED]) & (
        models.Q(outbox_message__isnull=True) | models.Q(outbox_message__sent_at__isnull=True)
    )


class NoticeStatusChange(models.Model):
    """The notice's history: every move of its status, by whom and why."""

    notice = models.ForeignKey(EncompassNotice, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField()
    from_status = models.CharField(max_length=16, choices=NoticeStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=NoticeStatus.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.from_status or '-'} → {self.to_status}"


def _date(value: str | None) -> str:
    if not value:
        return ""
    day = dt.date.fromisoformat(value)
    return f"{day.day} {day:%B %Y}"


def _yes_no(value: Any) -> str:
    return {True: "Yes", False: "No"}.get(value, "Not known")


def subset_rows(content: dict[str, Any]) -> list[tuple[str, str]]:
    """The Encompass subset as (label, value) rows, in the order a lead reads them."""
    child = content.get("child", {})
    born = _date(child.get("date_of_birth"))
    if not born:
        estimate = child.get("age_estimate")
        born = f"Not known (about {estimate})" if estimate is not None else "Not known"
    occurred = content.get("occurred_at")
    when = ""
    if occurred:
        at = dt.datetime.fromisoformat(occurred).astimezone(LONDON)
        when = f"{at:%A} {at.day} {at:%B %Y} at {at:%H:%M}"
    where = content.get("incident_address", {})
    return [
        ("Child", f"{child.get('given_names', '')} {child.get('family_name', '')}".strip()),
        ("Date of birth", born),
        ("Police reference", str(content.get("police_reference", ""))),
        ("When", when),
        (
            "Where",
            ", ".join(str(where[k]) for k in ("line1", "town", "postcode") if where.get(k)),
        ),
        ("Was the child present", _yes_no(content.get("present_at_incident"))),
        ("The child's voice", content.get("voice_of_child") or "Not recorded"),
    ]
