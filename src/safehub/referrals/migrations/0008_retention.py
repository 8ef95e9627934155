# Retention (safehub.core.retention): when a contact's child was anonymised, and the index the
# job finds its candidates by.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('referrals', '0007_contact_address_contract'),
    ]

    operations = [
        migrations.AddField(
            model_name='contact',
            name='erased_at',
            field=models.DateTimeField(blank=True, help_text="When the child's details were removed under the retention policy.", null=True),
        ),
        migrations.AddIndex(
            model_name='contact',
            index=models.Index(condition=models.Q(('erased_at__isnull', True)), fields=['received_at'], name='contact_not_erased'),
        ),
    ]
