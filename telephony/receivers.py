"""Telephony's part of what scheduling announces (`scheduling/signals.py`): the RGPD export and erasure of the
messages and calls exchanged with a patient's phone."""
from django.dispatch import receiver

from scheduling.signals import patient_erased, patient_exported

from .models import Call
from .selectors import messages_of_patient
from .services import contact_erase


@receiver(patient_exported, dispatch_uid="telephony.patient_exported")
def export_messages_and_calls(sender, patient, data, **kwargs):
    data["messages"] = messages_of_patient(patient)
    data["calls"] = _calls_of(patient)


@receiver(patient_erased, dispatch_uid="telephony.patient_erased")
def erase_messages_and_calls(sender, patient, phone_index, counts, **kwargs):
    counts.update(contact_erase(clinic=patient.clinic_id, phone_index_value=phone_index))


def _calls_of(patient):
    if not patient.phone_index:
        return []
    rows = Call.objects.for_clinic(patient.clinic_id).filter(phone_index=patient.phone_index).order_by("created_at")
    return [{"id": str(call.id), "direction": call.direction, "status": call.status,
             "startedAt": call.started_at.isoformat() if call.started_at else None,
             "durationSecs": call.duration_secs, "summary": call.summary, "transcript": call.transcript,
             "createdAt": call.created_at.isoformat()} for call in rows]
