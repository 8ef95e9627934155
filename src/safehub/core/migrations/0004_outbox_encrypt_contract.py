# The outbox's message text encrypted at rest, step 3 of 3 (contract): the JSON attachments column
# goes and the encrypted one takes its name.

from django.db import migrations

import safehub.core.fields


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0003_outbox_encrypt_backfill'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='outboxmessage',
            name='attachments',
        ),
        migrations.RenameField(
            model_name='outboxmessage',
            old_name='attachments_encrypted',
            new_name='attachments',
        ),
        migrations.AlterField(
            model_name='outboxmessage',
            name='attachments',
            field=safehub.core.fields.EncryptedJSONField(blank=True, default=list, help_text='[{filename, content_type, content_base64}]'),
        ),
    ]
