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
