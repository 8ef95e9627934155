# The request body, encrypted at rest. The column stays binary (it holds the token's bytes), so
# no expand/contract: the field changes class and the existing bodies are encrypted in place.

from django.db import migrations

import safehub.core.fields


class Migration(migrations.Migration):

    dependencies = [
        ('intake', '0002_personkey'),
    ]

    operations = [
        migrations.AlterField(
            model_name='notificationversion',
            name='body',
            field=safehub.core.fields.EncryptedBinaryField(help_text='The request body exactly as received.'),
        ),
        safehub.core.fields.encrypt_existing(
            table='intake_notificationversion', kind='binary', source='body'
        ),
    ]
