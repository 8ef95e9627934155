# The outbox's message text encrypted at rest, step 1 of 3 (expand). The body stays a text column
# (the token is text): it changes class here and is encrypted in place by the backfill. The
# attachments change from JSON to text: a new column beside the old one, which may now be empty
# (what writes the new column no longer writes it, and the contract's reversal can add it back
# before the backfill's reversal fills it).

from django.db import migrations, models

import safehub.core.fields


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='outboxmessage',
            name='body',
            field=safehub.core.fields.EncryptedTextField(),
        ),
        migrations.AlterField(
            model_name='outboxmessage',
            name='attachments',
            field=models.JSONField(blank=True, default=list, help_text='[{filename, content_type, content_base64}]', null=True),
        ),
        migrations.AddField(
            model_name='outboxmessage',
            name='attachments_encrypted',
            field=safehub.core.fields.EncryptedJSONField(blank=True, null=True),
        ),
    ]
