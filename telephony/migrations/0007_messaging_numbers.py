"""A clinic's messaging numbers with their verification state (issue 12, item 3): inbound messages route by a
verified number only, unique among verified numbers. Existing clinics' free-text phones are not copied as verified:
nothing proves them; each clinic verifies its number (provider account or a code sent to it)."""

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('clinics', '0004_user_support_clinics'),
        ('telephony', '0006_agent_provider_agent_id_unique'),
    ]

    operations = [
        migrations.CreateModel(
            name='MessagingNumber',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('phone', models.CharField(max_length=20)),
                ('status', models.CharField(choices=[('pending', 'Pending verification'), ('verified', 'Verified')], default='pending', max_length=10)),
                ('verified_by', models.CharField(blank=True, choices=[('provider', 'Held by the messaging provider account'), ('code', 'Code sent to the number'), ('seed', 'Demo data')], default='', max_length=10)),
                ('verified_at', models.DateTimeField(blank=True, null=True)),
                ('code_digest', models.CharField(blank=True, default='', max_length=64)),
                ('code_sent_at', models.DateTimeField(blank=True, null=True)),
                ('code_attempts', models.PositiveSmallIntegerField(default=0)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('clinic', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='messaging_numbers', to='clinics.clinic')),
            ],
            options={
                'ordering': ['created_at'],
                'constraints': [models.UniqueConstraint(fields=('clinic', 'phone'), name='telephony_messagingnumber_clinic_phone_unique'), models.UniqueConstraint(condition=models.Q(('status', 'verified')), fields=('phone',), name='telephony_messagingnumber_verified_phone_unique'), models.CheckConstraint(condition=models.Q(models.Q(('status', 'verified'), _negated=True), models.Q(('verified_by', ''), _negated=True), _connector='OR'), name='telephony_messagingnumber_verified_has_method')],
            },
        ),
    ]
