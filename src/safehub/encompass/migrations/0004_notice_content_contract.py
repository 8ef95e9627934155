# EncompassNotice.content encrypted at rest, step 3 of 3 (contract): the JSON column goes and the
# encrypted one takes its name.

from django.db import migrations

import safehub.core.fields


class Migration(migrations.Migration):

    dependencies = [
        ('encompass', '0003_notice_content_backfill'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='encompassnotice',
            name='content',
        ),
        migrations.RenameField(
            model_name='encompassnotice',
            old_name='content_encrypted',
            new_name='content',
        ),
        migrations.AlterField(
            model_name='encompassnotice',
            name='content',
            field=safehub.core.fields.EncryptedJSONField(help_text='The Encompass subset, frozen when the notice was made.'),
        ),
    ]
