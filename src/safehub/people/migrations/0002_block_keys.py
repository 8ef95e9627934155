"""Two blocking keys of the narrow rules: the first name's initial, and the day and month of
birth; filled for the records already in the index from the keys they hold."""

from django.db import migrations, models
from django.db.models.functions import ExtractDay, ExtractMonth, Substr


def fill(apps, schema_editor):
    SourceRecord = apps.get_model("people", "SourceRecord")
    SourceRecord.objects.exclude(given_name="").update(given_initial=Substr("given_name", 1, 1))
    SourceRecord.objects.filter(dob__isnull=False).update(
        dob_md=ExtractMonth("dob") * 100 + ExtractDay("dob")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="sourcerecord",
            name="dob_md",
            field=models.PositiveSmallIntegerField(
                blank=True, help_text="The month * 100 + the day of the date of birth.", null=True
            ),
        ),
        migrations.AddField(
            model_name="sourcerecord",
            name="given_initial",
            field=models.CharField(blank=True, max_length=1),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
