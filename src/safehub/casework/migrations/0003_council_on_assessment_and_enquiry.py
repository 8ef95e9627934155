# The episode's council kept on each assessment and section 47 enquiry, so that the dashboard
# counts a council's from one index range (safehub.reports.figures, docs/dashboard.md "Scale"):
# added empty, filled from the episodes, then required.

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    episodes = apps.get_model("casework", "CaseEpisode").objects
    council = Subquery(episodes.filter(pk=OuterRef("episode_id")).values("local_authority_id")[:1])
    for name in ("Assessment", "Section47"):
        apps.get_model("casework", name).objects.update(local_authority_id=council)


def field(null: bool) -> models.ForeignKey:  # type: ignore[type-arg]
    return models.ForeignKey(
        help_text="The episode's council, kept here for the dashboard's index (set on save).",
        null=null,
        on_delete=django.db.models.deletion.PROTECT,
        related_name="+",
        to="accounts.agency",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_alter_agency_kind"),
        ("casework", "0002_dashboard_indexes"),
    ]

    operations = [
        migrations.AddField("assessment", "local_authority", field(null=True)),
        migrations.AddField("section47", "local_authority", field(null=True)),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField("assessment", "local_authority", field(null=False)),
        migrations.AlterField("section47", "local_authority", field(null=False)),
        migrations.AddIndex(
            model_name="assessment",
            index=models.Index(
                fields=["local_authority", "started_on"], name="assessment_council_started"
            ),
        ),
        migrations.AddIndex(
            model_name="section47",
            index=models.Index(
                fields=["local_authority", "started_on"], name="enquiry_council_started"
            ),
        ),
    ]
