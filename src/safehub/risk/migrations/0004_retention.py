# Retention (safehub.core.retention): when a record was anonymised, and the index the job
# finds its candidates by.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('risk', '0003_maracreferral'),
    ]

    operations = [
        migrations.AddField(
            model_name='maracreferral',
            name='erased_at',
            field=models.DateTimeField(blank=True, help_text="When the victim's details were removed under the retention policy.", null=True),
        ),
        migrations.AddIndex(
            model_name='maracreferral',
            index=models.Index(condition=models.Q(('erased_at__isnull', True)), fields=['status', 'decided_at'], name='marac_referral_not_erased'),
        ),
    ]
