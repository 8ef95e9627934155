# The national dashboard's daily summary (safehub.reports.rollup). A new table only: filled by
# `safehub reports refresh` and the worker's sweep.

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="DailyCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("source", models.CharField(max_length=32)),
                (
                    "rows",
                    models.JSONField(default=list, help_text="[[row key, {count: n, ...}], ...]"),
                ),
                ("computed_at", models.DateTimeField()),
            ],
            options={
                "indexes": [
                    models.Index(fields=["computed_at"], name="reports_dai_compute_d59973_idx")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("day", "source"), name="one_count_per_day_and_source"
                    )
                ],
            },
        ),
    ]
