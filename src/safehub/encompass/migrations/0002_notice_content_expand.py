# EncompassNotice.content encrypted at rest, step 1 of 3 (expand): a text column for the token
# beside the JSON one, which may now be empty (what writes the new column no longer writes it,
# and the contract's reversal can add it back before the backfill's reversal fills it).

from django.db import migrations, models

import safehub.core.fields


class Migration(migrations.Migration):

    dependencies = [
        ('encompass', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='encompassnotice',
            name='content',
            field=models.JSONField(help_text='The Encompass subset, frozen when the notice was made.', null=True),
        ),
        migrations.AddField(
            model_name='encompassnotice',
            name='content_encrypted',
            field=safehub.core.fields.EncryptedJSONField(null=True),
        ),
    ]
