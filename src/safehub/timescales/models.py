"""The data behind the working-day calendar: the administrator's corrections to the bank-holiday
list, each school's own closures and the time its day starts."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import models

from safehub.accounts.models import Agency, AgencyKind
from safehub.core import clock

# Used for any school without a SchoolDayStart row. Operation Encompass asks for the notification
# "before the start of the next school day"; 08:30 is the usual start in England.
DEFAULT_SCHOOL_DAY_START = dt.time(8, 30)


class BankHolidayOverride(models.Model):
    """A correction to the England and Wales list from the `holidays` package: a one-off bank
    holiday the package does not know yet (a state funeral, a coronation), or a package date that
    is not a holiday after all. It wins over the package for its date."""

    date = models.DateField(unique=True)
    is_holiday = models.BooleanField(
        default=True,
        help_text="Ticked: a bank holiday. Unticked: a working day, whatever the package says.",
    )
    name = models.CharField(max_length=200, blank=True, help_text="e.g. State funeral.")
    created_at = models.DateTimeField(default=clock.now, editable=False)
    # Wall-clock time of the last change; with the row count it tells every process that its
    # cached calendar is stale (see calendar.working_calendar).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date"]

    def __str__(self) -> str:
        what = "bank holiday" if self.is_holiday else "not a bank holiday"
        return f"{self.date:%a %d %b %Y}: {what}" + (f" ({self.name})" if self.name else "")


def _require_school(agency: Agency) -> None:
    if agency.kind != AgencyKind.SCHOOL:
        raise ValidationError({"school": f"{agency} is not a school."})


class SchoolClosure(models.Model):
    """Days a school is shut on top of weekends and bank holidays: holidays, half terms, INSET
    days. Both ends are included."""

    school = models.ForeignKey(
        Agency,
        on_delete=models.CASCADE,
        related_name="school_closures",
        limit_choices_to={"kind": AgencyKind.SCHOOL},
    )
    first_day = models.DateField()
    last_day = models.DateField()
    reason = models.CharField(max_length=200, blank=True, help_text="e.g. October half term.")

    class Meta:
        ordering = ["school", "first_day"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(first_day__lte=models.F("last_day")),
                name="school_closure_first_day_not_after_last_day",
            )
        ]
        indexes = [models.Index(fields=["school", "last_day"])]

    def __str__(self) -> str:
        return f"{self.school}: {self.first_day} to {self.last_day}"

    def clean(self) -> None:
        if self.school_id is not None:
            _require_school(self.school)
        if self.first_day and self.last_day and self.first_day > self.last_day:
            raise ValidationError({"last_day": "The last day cannot be before the first day."})


class SchoolDayStart(models.Model):
    """When a school's day starts, where it is not DEFAULT_SCHOOL_DAY_START. An Encompass
    notification is due by then (London time)."""

    school = models.OneToOneField(
        Agency,
        on_delete=models.CASCADE,
        related_name="school_day_start",
        limit_choices_to={"kind": AgencyKind.SCHOOL},
    )
    starts_at = models.TimeField(help_text="London time, e.g. 08:45.")

    class Meta:
        ordering = ["school"]

    def __str__(self) -> str:
        return f"{self.school}: {self.starts_at:%H:%M}"

    def clean(self) -> None:
        if self.school_id is not None:
            _require_school(self.school)


class ClockKind(models.TextChoices):
    """The statutory clocks that run on a child's contact (statutory.md §1, §3)."""

    SCREENING = "screening", "Screening decision"
    REFERRAL_DECISION = "referral_decision", "Referral decision"
    STRATEGY_DISCUSSION = "strategy_discussion", "Strategy discussion"
    ICPC = "icpc", "Initial child protection conference"
    CP_REVIEW = "cp_review", "Child protection review conference"
    ASSESSMENT = "assessment", "Child and family assessment"
    ENCOMPASS = "encompass", "Operation Encompass notice"


class ClockState(models.TextChoices):
    RUNNING = "running", "Running"
    MET = "met", "Met"
    BREACHED = "breached", "Breached"
    STOPPED = "stopped", "Stopped"


class Clock(models.Model):
    """One deadline on a child's contact: when it started, when it is due, when it was met, and
    where it stands. A clock is met on time (met), or its due time passes first (breached: it
    keeps the time it was met late, if it ever is), or it no longer applies (stopped, with the
    reason). At most one clock of each kind runs on a contact at a time."""

    contact = models.ForeignKey(
        "referrals.Contact", on_delete=models.CASCADE, related_name="clocks"
    )
    # The contact's council, copied onto the clock so that a council's clock figures read the
    # clock index alone (safehub.reports.figures); kept equal to contact.local_authority wherever
    # that is set (clock_build, and the services that route a contact). Null while unrouted.
    local_authority = models.ForeignKey(
        Agency,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    kind = models.CharField(max_length=24, choices=ClockKind.choices)
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    met_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=12, choices=ClockState.choices, default=ClockState.RUNNING)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=300, blank=True)
    rule = models.CharField(
        max_length=200, blank=True, help_text="How the due time was set, in words."
    )

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "kind"],
                condition=models.Q(state="running"),
                name="one_running_clock_per_kind",
            )
        ]
        indexes = [
            # The breach sweep and escalation: running clocks by due time.
            models.Index(fields=["state", "due_at"]),
            models.Index(fields=["contact", "kind"]),
            # The dashboard's clock figures: the clocks of a kind started in a period, read from
            # the index alone (safehub.reports.figures).
            # (SQLite has no INCLUDE: the covered columns are trailing keys.)
            models.Index(
                fields=["kind", "started_at", "contact", "due_at", "met_at", "state"],
                name="clock_kind_started",
            ),
            # The same for one council's clocks (a council's or a force's dashboard).
            models.Index(
                fields=[
                    "local_authority",
                    "kind",
                    "started_at",
                    "contact",
                    "due_at",
                    "met_at",
                    "state",
                ],
                name="clock_council_kind_started",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} due {self.due_at:%Y-%m-%d %H:%M} ({self.state})"

    @property
    def is_open(self) -> bool:
        """Not yet met and still applying: what the queue orders by."""
        return self.met_at is None and self.state in (ClockState.RUNNING, ClockState.BREACHED)

    def state_at(self, now: dt.datetime) -> str:
        """The state as of `now`: a running clock past its due time is breached, whether or not
        the sweep has recorded it yet."""
        if self.state == ClockState.RUNNING and self.due_at < now:
            return ClockState.BREACHED
        return self.state

    def state_text(self, now: dt.datetime) -> str:
        state = self.state_at(now)
        if state == ClockState.BREACHED:
            return "Met late" if self.met_at is not None else "Overdue"
        return ClockState(state).label


class EscalationLevel(models.TextChoices):
    """Who is warned, in order, as a clock runs down (thresholds: the policy's `clocks`)."""

    WORKER = "worker", "The allocated worker: the deadline is near"
    MANAGER = "manager", "The team manager: the deadline is nearer"
    HEAD_OF_SERVICE = "head_of_service", "The head of service: the deadline has passed"


class Escalation(models.Model):
    """One step of a clock's escalation, made once: who was told, when, and the e-mail."""

    clock = models.ForeignKey(Clock, on_delete=models.CASCADE, related_name="escalations")
    level = models.CharField(max_length=16, choices=EscalationLevel.choices)
    at = models.DateTimeField()
    recipients = models.JSONField(default=list, help_text="The usernames told.")
    outbox_message = models.OneToOneField(
        "core.OutboxMessage", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["clock", "level"], name="one_escalation_per_step")
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()}: {self.clock}"


class Alert(models.Model):
    """An escalation as one person's alert, for their "my alerts" page."""

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="alerts")
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="alerts")

    class Meta:
        ordering = ["-escalation__at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["escalation", "user"], name="one_alert_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.user} ← {self.escalation}"
