# Indexes for the performance dashboard at national scale (safehub.reports.figures,
# docs/dashboard.md "Scale"). Indexes only: nothing to backfill.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_alter_agency_kind"),
        ("intake", "0004_retention"),
        ("referrals", "0009_access_grant"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(
                fields=["local_authority", "received_at", "rag", "id"],
                name="contact_council_received",
            ),
        ),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(
                fields=["local_authority", "date_of_birth", "received_at"],
                name="contact_council_dob",
            ),
        ),
        migrations.AddIndex(
            model_name="decision",
            index=models.Index(
                condition=models.Q(("sign_off", "signed_off")),
                fields=["contact", "became_referral"],
                name="decision_signed_off_contact",
            ),
        ),
    ]
