# Contact.address encrypted at rest, step 3 of 3 (contract): the JSON column goes and the
# encrypted one takes its name.

from django.db import migrations

import safehub.core.fields


class Migration(migrations.Migration):

    dependencies = [
        ('referrals', '0006_contact_address_backfill'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='contact',
            name='address',
        ),
        migrations.RenameField(
            model_name='contact',
            old_name='address_encrypted',
            new_name='address',
        ),
        migrations.AlterField(
            model_name='contact',
            name='address',
            field=safehub.core.fields.EncryptedJSONField(blank=True, default=dict),
        ),
    ]
