# Break-glass: a hub worker's time-limited leave to read one contact of another council
# (safehub.referrals.break_glass). A new table only: nothing to backfill.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('referrals', '0008_retention'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AccessGrant',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reference', models.CharField(help_text='The reference the user entered.', max_length=100)),
                ('purpose', models.CharField(choices=[('moved_in', 'Child moved into our area'), ('immediate_risk', 'Emergency: risk of immediate harm'), ('strategy_discussion', 'Strategy discussion about this child'), ('other', 'Other')], max_length=32)),
                ('reason', models.TextField()),
                ('granted_at', models.DateTimeField(db_index=True)),
                ('expires_at', models.DateTimeField()),
                ('managers_told', models.JSONField(blank=True, default=list, help_text='The usernames of the managers e-mailed.')),
                ('owner_told', models.EmailField(blank=True, help_text="The owning council's inbox e-mailed.", max_length=254)),
                ('agency', models.ForeignKey(help_text="The user's.", on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.agency')),
                ('contact', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='access_grants', to='referrals.contact')),
                ('owner', models.ForeignKey(help_text='The council that held the contact.', on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.agency')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='access_grants', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-granted_at', '-id'],
                'indexes': [models.Index(fields=['user', 'contact', 'expires_at'], name='referrals_a_user_id_3dbbd9_idx'), models.Index(fields=['agency', 'granted_at'], name='referrals_a_agency__619a74_idx')],
            },
        ),
    ]
