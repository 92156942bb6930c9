"""Celery entry point of the calendar sync: thin and idempotent, it calls the service."""
import logging

from celery import shared_task

from .backends import CalendarError

logger = logging.getLogger(__name__)


@shared_task(bind=True, name="scheduling.calendar_sync.sync_appointment", max_retries=5)
def sync_appointment(self, appointment_id: str) -> str:
    """Mirror one appointment into its clinic's connected calendar; safe to run any number of times."""
    from scheduling.models import Appointment

    from . import services

    appointment = (Appointment.objects.select_related("clinic", "patient", "professional", "service")
                   .filter(pk=appointment_id).first())
    if appointment is None:
        logger.warning("sync_appointment: appointment %s does not exist", appointment_id)
        return "missing"
    try:
        return services.sync_appointment(appointment)
    except CalendarError as exc:
        if exc.transient:
            raise self.retry(exc=exc, countdown=min(600, 30 * 2 ** self.request.retries))
        logger.warning("sync_appointment %s: Google refused: %s", appointment_id, exc)
        return "failed"


@shared_task(name="scheduling.calendar_sync.sync_upcoming")
def sync_upcoming(clinic_id: str) -> int:
    """After a (re)connection, put the clinic's upcoming active appointments in the calendar; returns how many
    were written. Each one goes through the idempotent sync, so running it twice writes nothing new."""
    from . import services

    written = 0
    for appointment in services.upcoming_appointments(clinic_id):
        try:
            if services.sync_appointment(appointment) in ("created", "updated"):
                written += 1
        except CalendarError as exc:
            logger.warning("sync_upcoming: appointment %s not synced: %s", appointment.pk, exc)
    return written
