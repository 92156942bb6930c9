"""Issue 12, item 15: a video participant's external id (the integrator's id of the person) is encrypted at rest, the
rows already stored in place; and every outbound message names its clinic, as inbound replies to the shared number
are routed by who wrote to the sender."""
import clinics.crypto
from django.db import migrations, models


COLUMNS = [('telephony_videoparticipant', 'custom_participant_id')]


def encrypt_existing(apps, schema_editor):
    for table, column in COLUMNS:
        clinics.crypto.encrypt_column(schema_editor, table, column)


def decrypt_existing(apps, schema_editor):
    for table, column in COLUMNS:
        clinics.crypto.decrypt_column(schema_editor, table, column)


class Migration(migrations.Migration):

    dependencies = [
        ('clinics', '0004_user_support_clinics'),
        ('telephony', '0007_messaging_numbers'),
    ]

    operations = [
        migrations.AlterField(
            model_name='videoparticipant',
            name='custom_participant_id',
            field=clinics.crypto.EncryptedTextField(),
        ),
        migrations.AddConstraint(
            model_name='message',
            constraint=models.CheckConstraint(condition=models.Q(('direction', 'inbound'), ('clinic__isnull', False), _connector='OR'), name='message_outbound_has_clinic'),
        ),
        # After the column changes (a 200-character title becomes text that fits its ciphertext); reversed first.
        migrations.RunPython(encrypt_existing, decrypt_existing),
    ]
