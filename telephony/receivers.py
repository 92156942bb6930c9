"""Telephony's part of what scheduling announces (`scheduling/signals.py`): the RGPD export and erasure of the
messages and calls exchanged with a patient's phone."""
from django.db.models import Q
from django.dispatch import receiver

from scheduling.signals import patient_erased, patient_exported

from .models import Call, Message
from .services import erase_contact


@receiver(patient_exported, dispatch_uid="telephony.patient_exported")
def export_messages_and_calls(sender, patient, data, **kwargs):
    data["messages"] = _messages_of(patient)
    data["calls"] = _calls_of(patient)


@receiver(patient_erased, dispatch_uid="telephony.patient_erased")
def erase_messages_and_calls(sender, patient, phone_index, counts, **kwargs):
    counts.update(erase_contact(patient.clinic, phone_index))


def _messages_of(patient):
    if not patient.phone_index:
        return []
    rows = Message.objects.for_clinic(patient.clinic_id).filter(
        Q(to_phone_index=patient.phone_index) | Q(from_phone_index=patient.phone_index)).order_by("created_at")
    return [{"id": str(message.id), "direction": message.direction, "channel": message.channel,
             "body": message.body, "status": message.status, "purpose": message.purpose,
             "createdAt": message.created_at.isoformat()} for message in rows]


def _calls_of(patient):
    if not patient.phone_index:
        return []
    rows = Call.objects.for_clinic(patient.clinic_id).filter(phone_index=patient.phone_index).order_by("created_at")
    return [{"id": str(call.id), "direction": call.direction, "status": call.status,
             "startedAt": call.started_at.isoformat() if call.started_at else None,
             "durationSecs": call.duration_secs, "summary": call.summary, "transcript": call.transcript,
             "createdAt": call.created_at.isoformat()} for call in rows]
