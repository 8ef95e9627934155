# Contact.address encrypted at rest, step 1 of 3 (expand): a text column for the token beside
# the JSON one, which may now be empty (what writes the new column no longer writes it, and the
# contract's reversal can add it back before the backfill's reversal fills it).

from django.db import migrations, models

import safehub.core.fields


class Migration(migrations.Migration):

    dependencies = [
        ('referrals', '0004_contact_rating'),
    ]

    operations = [
        migrations.AlterField(
            model_name='contact',
            name='address',
            field=models.JSONField(blank=True, default=dict, null=True),
        ),
        migrations.AddField(
            model_name='contact',
            name='address_encrypted',
            field=safehub.core.fields.EncryptedJSONField(blank=True, null=True),
        ),
    ]
