# Retention (safehub.core.retention): when a record was anonymised, and the index the job
# finds its candidates by.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0004_outbox_encrypt_contract'),
    ]

    operations = [
        migrations.AddField(
            model_name='outboxmessage',
            name='erased_at',
            field=models.DateTimeField(blank=True, help_text='When the body and attachments were removed under the retention policy.', null=True),
        ),
        migrations.AddIndex(
            model_name='outboxmessage',
            index=models.Index(condition=models.Q(('erased_at__isnull', True)), fields=['status', 'sent_at'], name='outbox_not_erased'),
        ),
    ]
