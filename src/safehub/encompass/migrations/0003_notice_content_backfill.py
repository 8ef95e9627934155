# EncompassNotice.content encrypted at rest, step 2 of 3 (backfill): every notice's subset
# encrypted into the new column, a thousand rows a batch; backwards, decrypted again.

from django.db import migrations

import safehub.core.fields


class Migration(migrations.Migration):

    dependencies = [
        ('encompass', '0002_notice_content_expand'),
    ]

    operations = [
        safehub.core.fields.encrypt_existing(
            table='encompass_encompassnotice',
            kind='json',
            source='content',
            target='content_encrypted',
        ),
    ]
