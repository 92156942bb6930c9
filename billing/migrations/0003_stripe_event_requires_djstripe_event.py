"""Every StripeEvent now points at dj-stripe's stored event (0002 filled it in), and the copy of the payload goes:
dj-stripe's `Event.stripe_data` is the one stored copy. In a migration of its own, so that PostgreSQL applies the
rows 0002 updated before the column changes."""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0002_djstripe_events_plan_schedules_web_invoice_urls'),
    ]

    operations = [
        migrations.AlterField(
            model_name='stripeevent',
            name='event',
            field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='billing_processing', to='djstripe.event', to_field='id'),
        ),
        migrations.RemoveField(
            model_name='stripeevent',
            name='payload',
        ),
    ]
