# The contact's council on each clock, so that a council's clock figures read one index range
# (safehub.reports.figures, docs/dashboard.md "Scale"). Backfilled from the contact; the index
# is made after the backfill (one build, not one insertion per updated row).

import django.db.models.deletion
from django.db import migrations, models

# UPDATE … FROM: PostgreSQL, and SQLite since 3.33.
BACKFILL = """
UPDATE timescales_clock
SET local_authority_id = referrals_contact.local_authority_id
FROM referrals_contact
WHERE referrals_contact.id = timescales_clock.contact_id
  AND referrals_contact.local_authority_id IS NOT NULL
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_alter_agency_kind"),
        ("referrals", "0010_dashboard_indexes"),
        ("timescales", "0004_dashboard_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="clock",
            name="local_authority",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.agency",
            ),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop, elidable=True),
        migrations.AddIndex(
            model_name="clock",
            index=models.Index(
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
        ),
    ]
