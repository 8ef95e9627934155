# The outbox's message text encrypted at rest, step 2 of 3 (backfill): every body encrypted in
# place and every attachment list into the new column, a thousand rows a batch; backwards,
# decrypted again.

from django.db import migrations

import safehub.core.fields


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0002_outbox_encrypt_expand'),
    ]

    operations = [
        safehub.core.fields.encrypt_existing(
            table='core_outboxmessage', kind='text', source='body'
        ),
        safehub.core.fields.encrypt_existing(
            table='core_outboxmessage',
            kind='json',
            source='attachments',
            target='attachments_encrypted',
        ),
    ]
