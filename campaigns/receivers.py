"""Campaigns' reactions to what lower apps announce: the RGPD export and erasure of engagement data
(`scheduling/signals.py`) and SIM/NAO replies to reminders (`telephony/signals.py`)."""
from django.dispatch import receiver

from scheduling.signals import patient_erased, patient_exported
from telephony.signals import message_received

from .selectors import engagement_export
from .services import engagement_erase, reminder_reply_handle


@receiver(patient_exported, dispatch_uid="campaigns.patient_exported")
def export_engagement(sender, patient, data, **kwargs):
    data.update(engagement_export(patient))


@receiver(patient_erased, dispatch_uid="campaigns.patient_erased")
def erase_engagement_of(sender, patient, counts, **kwargs):
    engagement_erase(patient=patient)


@receiver(message_received, dispatch_uid="campaigns.message_received")
def answer_reminder_reply(sender, message, **kwargs):
    # A patient's SIM/NAO answers a reminder; a replay re-applies the same status, which changes nothing.
    reminder_reply_handle(clinic=message.clinic, from_phone=message.from_phone, body=message.body)
