"""Each record's model row, kept (encrypted) beside its values. Records stored before this have
none: matching works theirs out from their values, and the next `safehub linkage run` stores
them (its sample of the index finds them missing and rehashes every record)."""

import safehub.core.fields
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('people', '0002_block_keys'),
    ]

    operations = [
        migrations.AddField(
            model_name='sourcerecord',
            name='features',
            field=safehub.core.fields.EncryptedJSONField(blank=True, default=dict, help_text='What the model compares (features.model_row of the values), kept so that matching and `linkage run` need not work it out again; empty until computed.'),
        ),
    ]
