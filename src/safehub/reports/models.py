"""The daily summary the national dashboard reads (safehub.reports.rollup)."""

from django.db import models


class DailyCount(models.Model):
    """One closed London day's national counts of one figure's source (`figures.SOURCES`): its
    rows (council, force, kind of agency) with their counts, and for the times from the incident
    to the hub how many took each tenth of an hour. As of `computed_at`: a figure counts what
    started on the day, and what became of it (met, late, overdue) as it stood then."""

    day = models.DateField()
    source = models.CharField(max_length=32)
    rows = models.JSONField(default=list, help_text="[[row key, {count: n, ...}], ...]")
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "source"], name="one_count_per_day_and_source")
        ]
        indexes = [models.Index(fields=["computed_at"])]

    def __str__(self) -> str:
        return f"{self.source} {self.day} (as of {self.computed_at:%Y-%m-%d %H:%M})"
