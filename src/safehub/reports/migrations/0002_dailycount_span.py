# Months in the daily summary (safehub.reports.rollup): a row may add up a calendar month's days.
# Existing rows are days (the default); the sweep adds the months.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_daily_count")]

    operations = [
        migrations.AddField(
            model_name="dailycount",
            name="span",
            field=models.CharField(
                choices=[("day", "A day"), ("month", "A calendar month: its days' counts added up")],
                default="day",
                max_length=5,
            ),
        ),
        migrations.RemoveConstraint(model_name="dailycount", name="one_count_per_day_and_source"),
        migrations.AddConstraint(
            model_name="dailycount",
            constraint=models.UniqueConstraint(
                fields=["day", "source", "span"], name="one_count_per_span_and_source"
            ),
        ),
    ]
