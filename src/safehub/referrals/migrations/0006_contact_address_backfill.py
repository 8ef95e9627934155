# Contact.address encrypted at rest, step 2 of 3 (backfill): every address encrypted into the new
# column, a thousand rows a batch; backwards, decrypted into the JSON column again.

from django.db import migrations

import safehub.core.fields


class Migration(migrations.Migration):

    dependencies = [
        ('referrals', '0005_contact_address_expand'),
    ]

    operations = [
        safehub.core.fields.encrypt_existing(
            table='referrals_contact', kind='json', source='address', target='address_encrypted'
        ),
    ]
