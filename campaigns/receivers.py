"""Campaigns' reactions to what lower apps announce: the RGPD export and erasure of engagement data and the
confirmation SMS of a marketing consent given on the public booking page (`scheduling/signals.py`), and SIM/NAO
replies to reminders (`telephony/signals.py`)."""
from django.dispatch import receiver

from scheduling.signals import appointment_booked, patient_erased, patient_exported
from telephony.signals import message_received

from .marketing_opt_in import KIND as MARKETING, opt_in_request_send
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


@receiver(appointment_booked, dispatch_uid="campaigns.marketing_opt_in")
def ask_to_confirm_marketing_consent(sender, appointment, pending_consents=(), **kwargs):
    # Sent once the booking committed, and only by the booking that opened the request (a later booking of the
    # same patient, the consent still pending, names none): one SMS per request.
    if MARKETING in pending_consents:
        opt_in_request_send(appointment=appointment)
