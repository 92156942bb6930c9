"""Issue 12, item 15: appointment notes and the patient's external id are encrypted at rest (clinics/crypto.py);
the rows already stored are encrypted in place, and decrypted again when the migration is reversed."""
import clinics.crypto
from django.db import migrations


COLUMNS = [('scheduling_appointment', 'notes'), ('scheduling_patient', 'external_id')]


def encrypt_existing(apps, schema_editor):
    for table, column in COLUMNS:
        clinics.crypto.encrypt_column(schema_editor, table, column)


def decrypt_existing(apps, schema_editor):
    for table, column in COLUMNS:
        clinics.crypto.decrypt_column(schema_editor, table, column)


class Migration(migrations.Migration):

    dependencies = [
        ('scheduling', '0004_patient_identity_and_name_prefixes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='appointment',
            name='notes',
            field=clinics.crypto.EncryptedTextField(blank=True, default=''),
        ),
        migrations.AlterField(
            model_name='patient',
            name='external_id',
            field=clinics.crypto.EncryptedTextField(blank=True, default=''),
        ),
        # After the column changes (a 200-character title becomes text that fits its ciphertext); reversed first.
        migrations.RunPython(encrypt_existing, decrypt_existing),
    ]
