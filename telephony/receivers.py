"""Telephony's part of what scheduling announces (`scheduling/signals.py`): the RGPD export and erasure of the
messages and calls exchanged with a patient's phone (and the webhook payloads naming them), and the SMS confirming an online booking."""
import logging

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils.translation import gettext as _

from clinics.models import Clinic
from scheduling.models import Appointment
from scheduling.selectors import clinic_zone
from scheduling.signals import appointment_booked, patient_erased, patient_exported

from .agents import forget_agent_token
from .models import Agent, Call
from .selectors import messages_of_patient
from .services import contact_erase, message_enqueue

logger = logging.getLogger(__name__)


@receiver(appointment_booked, dispatch_uid="telephony.booking_confirmation")
def text_booking_confirmation(sender, appointment, **kwargs):
    """A patient who booked on the public page gets an SMS; sent after the booking commits, and a failure to
    text never undoes the booking (the outbox shows what was not sent)."""
    if appointment.source != Appointment.Source.ONLINE or not appointment.patient.phone:
        return
    transaction.on_commit(lambda: _queue_confirmation(appointment), robust=True)


def confirmation_text(appointment) -> str:
    local = appointment.starts_at.astimezone(clinic_zone(appointment.clinic))
    return _("%(clinic)s: your appointment (%(service)s with %(professional)s) is booked for %(when)s.") % {
        "clinic": appointment.clinic.name, "service": appointment.service.name,
        "professional": appointment.professional.name, "when": local.strftime("%d/%m/%Y %H:%M")}


def _queue_confirmation(appointment):
    try:
        with transaction.atomic():
            message_enqueue(clinic=appointment.clinic, to=appointment.patient.phone,
                            body=confirmation_text(appointment), purpose="booking_confirmation")
    except Exception:  # noqa: BLE001 - the booking stands; the outbox shows what was not sent
        logger.exception("Booking confirmation SMS for appointment %s was not queued", appointment.pk)


@receiver(patient_exported, dispatch_uid="telephony.patient_exported")
def export_messages_and_calls(sender, patient, data, **kwargs):
    data["messages"] = messages_of_patient(patient)
    data["calls"] = _calls_of(patient)


@receiver(patient_erased, dispatch_uid="telephony.patient_erased")
def erase_messages_and_calls(sender, patient, phone_index, counts, former=None, **kwargs):
    counts.update(contact_erase(clinic=patient.clinic_id, phone_index_value=phone_index, former=former))


def _calls_of(patient):
    if not patient.phone_index:
        return []
    rows = Call.objects.for_clinic(patient.clinic_id).filter(phone_index=patient.phone_index).order_by("created_at")
    return [{"id": str(call.id), "direction": call.direction, "status": call.status,
             "startedAt": call.started_at.isoformat() if call.started_at else None,
             "durationSecs": call.duration_secs, "summary": call.summary, "transcript": call.transcript,
             "createdAt": call.created_at.isoformat()} for call in rows]


@receiver(post_save, sender=Clinic, dispatch_uid="telephony.forget_agent_token")
def forget_cached_agent(sender, instance, **kwargs):
    """A clinic's settings changed (time zone, booking rules, locale): its agent's tool calls read them afresh."""
    for agent in Agent.objects.for_clinic(instance).only("token_digest"):
        forget_agent_token(agent)


@receiver(post_save, sender=Agent, dispatch_uid="telephony.forget_saved_agent_token")
def forget_saved_agent(sender, instance, **kwargs):
    """An agent saved anywhere (the admin included), paused for instance: its next tool call reads it afresh."""
    forget_agent_token(instance)
