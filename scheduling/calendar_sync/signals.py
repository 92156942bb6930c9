"""Queue a calendar sync after every committed change of an appointment, without touching scheduling.services."""
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver


def _queue_sync(appointment_id, clinic_id):
    from .models import CalendarConnection
    from .tasks import sync_appointment

    # Checked after commit, so an unconnected clinic's booking costs no query inside its transaction.
    if CalendarConnection.objects.for_clinic(clinic_id).filter(status=CalendarConnection.Status.ACTIVE).exists():
        sync_appointment.delay(str(appointment_id))


@receiver(post_save, sender="scheduling.Appointment", dispatch_uid="calendar_sync_appointment_saved")
def appointment_saved(sender, instance, raw=False, **kwargs):
    if raw:  # loaddata
        return
    appointment_id, clinic_id = instance.pk, instance.clinic_id
    # robust: the booking is committed; a broker hiccup is logged by Django, never turned into an error answer.
    transaction.on_commit(lambda: _queue_sync(appointment_id, clinic_id), robust=True)


def _queue_patient_events(patient_id, clinic_id):
    from .models import CalendarConnection, CalendarEventLink
    from .tasks import sync_appointment

    if not CalendarConnection.objects.for_clinic(clinic_id).filter(status=CalendarConnection.Status.ACTIVE).exists():
        return
    # Scoped through the patient (this clinic's, by its id): any link of their appointments is re-synced by the
    # appointment's own clinic, so a clinic filter here would narrow nothing.
    for appointment_id in (CalendarEventLink.objects.filter(appointment__patient_id=patient_id)
                           .exclude(event_id="").values_list("appointment_id", flat=True).order_by().distinct()):
        sync_appointment.delay(str(appointment_id))


@receiver(post_save, sender="scheduling.Patient", dispatch_uid="calendar_sync_patient_saved")
def patient_saved(sender, instance, raw=False, created=False, **kwargs):
    """A renamed or erased (RGPD) patient: the events show the name, so they are written again."""
    if raw or created:
        return
    patient_id, clinic_id = instance.pk, instance.clinic_id
    transaction.on_commit(lambda: _queue_patient_events(patient_id, clinic_id), robust=True)
