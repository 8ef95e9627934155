# Indexes for the performance dashboard at national scale (safehub.reports.figures,
# docs/dashboard.md "Scale"). Indexes only: nothing to backfill.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0010_dashboard_indexes"),
        ("timescales", "0003_escalations"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="clock",
            index=models.Index(
                fields=["kind", "started_at", "contact", "due_at", "met_at", "state"],
                name="clock_kind_started",
            ),
        ),
    ]
