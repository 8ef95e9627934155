"""The daily summary the national dashboard reads (safehub.reports.rollup)."""

from django.db import models


class Span(models.TextChoices):
    DAY = "day", "A day"
    MONTH = "month", "A calendar month: its days' counts added up"


class DailyCount(models.Model):
    """One closed London day's national counts of one figure's source (`figures.SOURCES`): its
    rows (council, force, kind of agency) with their counts, and for the times from the incident
    to the hub how many took each tenth of an hour. As of `computed_at`: a figure counts what
    started on the day, and what became of it (met, late, overdue) as it stood then.

    A month's row (`span` month, `day` its first) is its days' rows added up when they were all
    counted, so that a year's page adds up twelve rows a source rather than 365; it stands only
    while no day of the month has been counted again since (`computed_at` is when it was added
    up)."""

    day = models.DateField()
    span = models.CharField(max_length=5, choices=Span.choices, default=Span.DAY)
    source = models.CharField(max_length=32)
    rows = models.JSONField(default=list, help_text="[[row key, {count: n, ...}], ...]")
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "source", "span"], name="one_count_per_span_and_source"
            )
        ]
        indexes = [models.Index(fields=["computed_at"])]

    def __str__(self) -> str:
        of = self.day if self.span == Span.DAY else f"{self.day:%B %Y}"
        return f"{self.source} {of} (as of {self.computed_at:%Y-%m-%d %H:%M})"
