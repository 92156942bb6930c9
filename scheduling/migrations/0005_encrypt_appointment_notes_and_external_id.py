"""Issue 12, item 15: appointment notes and the patient's external id are encrypted at rest (clinics/crypto.py);
the rows already stored are encrypted in place, and decrypted again when the migration is reversed."""
import clinics.crypto
from django.db import migrations


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
        clinics.crypto.encrypt_columns_in_place(('scheduling_appointment', 'notes'),
                                                ('scheduling_patient', 'external_id')),
    ]
