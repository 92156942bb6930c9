"""Issue 12, item 15: a task's title and description are encrypted at rest (clinics/crypto.py); the rows already
stored are encrypted in place, and decrypted again when the migration is reversed."""
import clinics.crypto
from django.db import migrations


COLUMNS = [('campaigns_task', 'title'), ('campaigns_task', 'description')]


def encrypt_existing(apps, schema_editor):
    for table, column in COLUMNS:
        clinics.crypto.encrypt_column(schema_editor, table, column)


def decrypt_existing(apps, schema_editor):
    for table, column in COLUMNS:
        clinics.crypto.decrypt_column(schema_editor, table, column)


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
        # After the column changes (a 200-character title becomes text that fits its ciphertext); reversed first.
        migrations.RunPython(encrypt_existing, decrypt_existing),
    ]
