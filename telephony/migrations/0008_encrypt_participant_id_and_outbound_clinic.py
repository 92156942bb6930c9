"""Issue 12, item 15: a video participant's external id (the integrator's id of the person) is encrypted at rest, the
rows already stored in place; and every outbound message names its clinic, as inbound replies to the shared number
are routed by who wrote to the sender."""
import clinics.crypto
from django.db import migrations, models


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
        clinics.crypto.encrypt_columns_in_place(('telephony_videoparticipant', 'custom_participant_id')),
    ]
