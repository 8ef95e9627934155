# Retention (safehub.core.retention): when a record was anonymised, and the index the job
# finds its candidates by.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('encompass', '0004_notice_content_contract'),
    ]

    operations = [
        migrations.AddField(
            model_name='encompassnotice',
            name='erased_at',
            field=models.DateTimeField(blank=True, help_text='When the content was removed under the retention policy (the police reference stays).', null=True),
        ),
        migrations.AddIndex(
            model_name='encompassnotice',
            index=models.Index(condition=models.Q(('erased_at__isnull', True)), fields=['due_at'], name='encompass_notice_not_erased'),
        ),
    ]
