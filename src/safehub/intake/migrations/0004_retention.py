# Retention (safehub.core.retention): when a record was anonymised, and the index the job
# finds its candidates by.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('intake', '0003_notificationversion_body_encrypted'),
    ]

    operations = [
        migrations.AddField(
            model_name='notification',
            name='erased_at',
            field=models.DateTimeField(blank=True, help_text="When every version's body was removed under the retention policy.", null=True),
        ),
        migrations.AddField(
            model_name='notificationversion',
            name='erased_at',
            field=models.DateTimeField(blank=True, help_text='When the body was removed under the retention policy.', null=True),
        ),
        migrations.AlterField(
            model_name='idempotencykey',
            name='created_at',
            field=models.DateTimeField(db_index=True),
        ),
        migrations.AddIndex(
            model_name='notification',
            index=models.Index(condition=models.Q(('erased_at__isnull', True)), fields=['received_at'], name='notification_not_erased'),
        ),
    ]
