"""Issue 12, item 15: a task's title and description are encrypted at rest (clinics/crypto.py); the rows already
stored are encrypted in place, and decrypted again when the migration is reversed."""
import clinics.crypto
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0002_bulk_campaigns'),
    ]

    operations = [
        migrations.AlterField(
            model_name='task',
            name='description',
            field=clinics.crypto.EncryptedTextField(blank=True, default=''),
        ),
        migrations.AlterField(
            model_name='task',
            name='title',
            field=clinics.crypto.EncryptedTextField(),
        ),
        clinics.crypto.encrypt_columns_in_place(('campaigns_task', 'title'), ('campaigns_task', 'description')),
    ]
