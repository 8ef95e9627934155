# Each contact's child's exact-match key (safehub.referrals.models.contact_child_key), for the
# dashboard's re-referrals: one index probe a referral (docs/dashboard.md "Scale"). Filled from
# the names and dates of birth, five thousand contacts a batch; erased contacts keep none.

from django.db import migrations, models

from safehub.referrals.models import contact_child_key

BATCH = 5000


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    Contact = apps.get_model("referrals", "Contact")
    rows = (
        Contact.objects.filter(date_of_birth__isnull=False, erased_at__isnull=True)
        .order_by("pk")
        .values_list("pk", "given_names", "family_name", "date_of_birth")
    )
    postgres = schema_editor.connection.vendor == "postgresql"
    batch: list[tuple[object, str]] = []

    def write() -> None:
        if postgres:
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE referrals_contact AS c SET child_key = v.k "
                    "FROM unnest(%s::uuid[], %s::text[]) AS v(id, k) WHERE c.id = v.id",
                    ([pk for pk, _ in batch], [k for _, k in batch]),
                )
        else:
            Contact.objects.bulk_update(
                [Contact(pk=pk, child_key=k) for pk, k in batch], ["child_key"], batch_size=500
            )
        batch.clear()

    for pk, given, family, born in rows.iterator(chunk_size=BATCH):
        batch.append((pk, contact_child_key(given, family, born)))
        if len(batch) >= BATCH:
            write()
    if batch:
        write()


class Migration(migrations.Migration):
    dependencies = [("referrals", "0010_dashboard_indexes")]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="child_key",
            field=models.CharField(
                blank=True,
                default="",
                editable=False,
                help_text="The child's exact-match key (normalised names and date of birth, "
                "hashed as the notifications' person keys are); empty without a date of birth. "
                "Set on save.",
                max_length=32,
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(
                condition=models.Q(("child_key", ""), _negated=True),
                fields=["local_authority", "child_key", "received_at"],
                name="contact_council_child",
            ),
        ),
    ]
