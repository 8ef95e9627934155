# Indexes for the performance dashboard at national scale (safehub.reports.figures,
# docs/dashboard.md "Scale"). Indexes only: nothing to backfill.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("casework", "0001_initial"),
        ("meetings", "0002_strategydiscussion_erased_at"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="assessment",
            index=models.Index(fields=["started_on"], name="assessment_started"),
        ),
        migrations.AddIndex(
            model_name="section47",
            index=models.Index(fields=["started_on"], name="enquiry_started"),
        ),
    ]
