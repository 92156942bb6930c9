"""Writes of the scheduling app: professionals, services, patients found by phone, and appointments.

Each public function is one transaction and raises `ApiError` with a stable code on a domain refusal; the
database's exclusion constraint is the last word on double booking (`SLOT_TAKEN`, 409).
"""
import datetime as dt
import logging

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.audit import record
from config.surfaces.errors import ApiError

from . import patients, selectors
from .models import (ACTIVE_STATUSES, Appointment, AvailabilityException, Patient, Professional, Service,
                     WorkingHours)

logger = logging.getLogger(__name__)

NO_OVERLAP = "appointment_no_overlap"
# Channels a patient uses on their own are held to the clinic's notice and horizon; the clinic's own staff
# and systems (`staff`, `api`) may book a walk-in inside the notice window.
PATIENT_FACING_SOURCES = (Appointment.Source.ONLINE, Appointment.Source.PHONE_AGENT)


def audit(clinic, actor, action: str, target, changes: dict | None = None):
    """The single call site of the audit log for every scheduling write.

    `actor` is what acted: the request (or its Credential), or None for the system.
    """
    record(actor, action, type(target).__name__.lower(), str(target.pk), clinic=clinic, **(changes or {}))


# --- patients ---------------------------------------------------------------------------------------------

def normalise_phone(phone: str, clinic) -> str:
    """E.164 form of `phone`, reading national numbers in the clinic's country; 400 INVALID_PHONE_NUMBER if not."""
    return patients.normalise_patient_phone(clinic, phone)


def find_or_create_patient(clinic, *, name: str, phone: str, email: str = "", actor=None) -> Patient:
    """The clinic's patient with this phone (blind index), created if new; a missing name or e-mail is filled in."""
    patient, created = patients.find_or_create_patient(clinic, phone=phone, name=name, email=email, source=actor)
    if created:
        return patient
    name, email = (name or "").strip(), (email or "").strip()
    changed = []
    if name and not patient.name:
        patient.name = name
        patient.refresh_indexes()
        changed += ["name", "name_index"]
    if email and not patient.email:
        patient.email = email
        changed.append("email")
    if changed:
        patient.save(update_fields=changed)
        audit(clinic, actor, "patient.update", patient, {"fields": changed})
    return patient


# --- services and professionals ---------------------------------------------------------------------------

SERVICE_FIELDS = ("name", "duration_minutes", "price", "currency", "buffer_before_minutes",
                  "buffer_after_minutes", "online_bookable", "active")
PROFESSIONAL_FIELDS = ("name", "specialty", "email", "phone", "active", "colour")


@transaction.atomic
def create_service(clinic, *, actor=None, **fields) -> Service:
    """A new consultation type of the clinic."""
    service = Service.objects.create(clinic=clinic, **{k: v for k, v in fields.items() if k in SERVICE_FIELDS})
    audit(clinic, actor, "service.create", service)
    return service


@transaction.atomic
def update_service(service, *, actor=None, **fields) -> Service:
    """Change a service; appointments already booked keep their times (their range was fixed when booked)."""
    changed = _assign(service, fields, SERVICE_FIELDS)
    if changed:
        service.save(update_fields=changed)
        audit(service.clinic, actor, "service.update", service, {"fields": changed})
    return service


def _future_active(queryset):
    return queryset.filter(status__in=ACTIVE_STATUSES, ends_at__gt=timezone.now()).exists()


@transaction.atomic
def remove_service(service, *, actor=None) -> str:
    """Delete a service, or archive it (active=false) when past appointments refer to it.

    Refused (409 HAS_FUTURE_APPOINTMENTS) while active appointments lie ahead: archiving silently would leave
    patients booked for a consultation the clinic no longer offers; staff must move or cancel them first.
    Past appointments keep their history, so such a service is archived rather than deleted.
    Returns "deleted" or "archived".
    """
    if _future_active(service.appointments.all()):
        raise ApiError(409, "HAS_FUTURE_APPOINTMENTS",
                       _("This service has upcoming appointments; reschedule or cancel them first."))
    if service.appointments.exists():
        service.active = False
        service.online_bookable = False
        service.save(update_fields=["active", "online_bookable"])
        audit(service.clinic, actor, "service.archive", service)
        return "archived"
    audit(service.clinic, actor, "service.delete", service)
    service.delete()
    return "deleted"


def _clinic_services(clinic, service_ids):
    services = list(Service.objects.filter(clinic=clinic, pk__in=service_ids))
    if len(services) != len(set(service_ids)):
        raise ApiError(400, "VALIDATION_ERROR", _("Unknown service."), {"serviceIds": [_("Unknown service.")]})
    return services


@transaction.atomic
def create_professional(clinic, *, service_ids=(), working_hours=None, actor=None, **fields) -> Professional:
    """A new professional; without `working_hours` they work the clinic's opening hours until edited."""
    professional = Professional.objects.create(
        clinic=clinic, **{k: v for k, v in fields.items() if k in PROFESSIONAL_FIELDS})
    professional.services.set(_clinic_services(clinic, service_ids))
    _replace_working_hours(professional, working_hours if working_hours is not None
                           else parse_weekly_schedule(selectors.opening_hours(clinic)))
    audit(clinic, actor, "professional.create", professional)
    return professional


@transaction.atomic
def update_professional(professional, *, service_ids=None, working_hours=None, actor=None, **fields):
    """Change a professional; `working_hours` (parsed) replaces the whole weekly routine when given."""
    changed = _assign(professional, fields, PROFESSIONAL_FIELDS)
    if changed:
        professional.save(update_fields=changed)
    if service_ids is not None:
        professional.services.set(_clinic_services(professional.clinic, service_ids))
        changed.append("services")
    if working_hours is not None:
        _replace_working_hours(professional, working_hours)
        changed.append("working_hours")
    if changed:
        audit(professional.clinic, actor, "professional.update", professional, {"fields": changed})
    return professional


@transaction.atomic
def remove_professional(professional, *, actor=None) -> str:
    """Delete a professional, or archive them (active=false) when past appointments refer to them.

    Refused (409 HAS_FUTURE_APPOINTMENTS) while they have active appointments ahead, for the same reason as
    services: those patients must be moved or told first. Returns "deleted" or "archived".
    """
    if _future_active(professional.appointments.all()):
        raise ApiError(409, "HAS_FUTURE_APPOINTMENTS",
                       _("This professional has upcoming appointments; reschedule or cancel them first."))
    if professional.appointments.exists():
        professional.active = False
        professional.save(update_fields=["active"])
        audit(professional.clinic, actor, "professional.archive", professional)
        return "archived"
    audit(professional.clinic, actor, "professional.delete", professional)
    professional.delete()
    return "deleted"


def parse_weekly_schedule(schedule) -> list[tuple[int, dt.time, dt.time]]:
    """`{"mon": [["09:00", "13:00"], ...], ...}` → [(weekday, start, end)]; ApiError 400 when malformed or
    when intervals of one day overlap."""
    def invalid(message):
        return ApiError(400, "VALIDATION_ERROR", message, {"workingHours": [message]})

    if not isinstance(schedule, dict):
        raise invalid(_('Expected an object like {"mon": [["09:00", "18:00"]]}.'))
    rows = []
    for day, intervals in schedule.items():
        if day not in selectors.WEEKDAYS:
            raise invalid(_("Unknown day %(day)s; use mon, tue, wed, thu, fri, sat, sun.") % {"day": day})
        if not isinstance(intervals, list):
            raise invalid(_("Each day holds a list of [start, end] pairs."))
        parsed = []
        for pair in intervals:
            try:
                start, end = (dt.time.fromisoformat(value) for value in pair)
            except (TypeError, ValueError):
                raise invalid(_("Times are [\"HH:MM\", \"HH:MM\"] pairs."))
            if start >= end:
                raise invalid(_("Each interval must end after it starts."))
            parsed.append((start, end))
        parsed.sort()
        for (_start, previous_end), (next_start, _end) in zip(parsed, parsed[1:]):
            if next_start < previous_end:
                raise invalid(_("Intervals of one day must not overlap."))
        rows += [(selectors.WEEKDAYS.index(day), start, end) for start, end in parsed]
    return rows


@transaction.atomic
def add_exception(clinic, *, kind, starts_at, ends_at, professional=None, reason="", actor=None):
    """Time off or extra hours of one professional, or a clinic-wide closure (no professional).

    Existing appointments are kept: a closure does not cancel anyone, it only stops new bookings.
    """
    if professional is not None and professional.clinic_id != clinic.pk:
        raise ApiError(404, "NOT_FOUND", _("Not found."))
    if starts_at >= ends_at:
        raise ApiError(400, "VALIDATION_ERROR", _("The end must be after the start."),
                       {"endsAt": [_("The end must be after the start.")]})
    if kind == AvailabilityException.Kind.CLOSURE:
        professional = None
    exception = AvailabilityException.objects.create(clinic=clinic, professional=professional, kind=kind,
                                                     starts_at=starts_at, ends_at=ends_at, reason=reason or "")
    audit(clinic, actor, "availability_exception.create", exception, {"kind": kind})
    return exception


@transaction.atomic
def remove_exception(exception, *, actor=None):
    """Delete a dated exception; the weekly hours apply again."""
    audit(exception.clinic, actor, "availability_exception.delete", exception, {"kind": exception.kind})
    exception.delete()


def _replace_working_hours(professional, rows):
    professional.working_hours.all().delete()
    WorkingHours.objects.bulk_create(
        WorkingHours(professional=professional, weekday=weekday, start=start, end=end)
        for weekday, start, end in rows)


def _assign(instance, fields, allowed):
    changed = []
    for key, value in fields.items():
        if key in allowed and getattr(instance, key) != value:
            setattr(instance, key, value)
            changed.append(key)
    return changed


# --- appointments -----------------------------------------------------------------------------------------

def _check_bookable(clinic, professional, service, starts_at, source, now=None):
    if starts_at.tzinfo is None:
        raise ApiError(400, "VALIDATION_ERROR", _("startsAt needs a time zone offset."),
                       {"startsAt": [_("Use ISO 8601 with an offset.")]})
    if professional.clinic_id != clinic.pk or service.clinic_id != clinic.pk:
        raise ApiError(404, "NOT_FOUND", _("Not found."))
    if not professional.active or not service.active or not professional.services.filter(pk=service.pk).exists():
        raise ApiError(422, "SERVICE_NOT_OFFERED", _("This professional does not offer this service."))
    if source in PATIENT_FACING_SOURCES:
        rules = selectors.booking_rules(clinic)
        now = now or timezone.now()
        if starts_at < now + dt.timedelta(minutes=rules["min_notice_minutes"]):
            raise ApiError(422, "TOO_SOON", _("Appointments must be booked at least %(minutes)d minutes ahead.")
                           % {"minutes": rules["min_notice_minutes"]})
        if starts_at > now + dt.timedelta(days=rules["max_days_ahead"]):
            raise ApiError(422, "TOO_FAR_AHEAD", _("Appointments can be booked at most %(days)d days ahead.")
                           % {"days": rules["max_days_ahead"]})
    if not selectors.fits_availability(clinic, professional, service, starts_at):
        raise ApiError(422, "OUTSIDE_WORKING_HOURS",
                       _("The professional is not available for the whole appointment at that time."))


DEADLOCK_DETECTED = "40P01"
SAVE_ATTEMPTS = 3


def _save_guarded(appointment, **save_kwargs):
    """Save inside a savepoint; the exclusion constraint's refusal becomes 409 SLOT_TAKEN.

    Two transactions inserting overlapping ranges at the same instant can each wait for the other inside the
    exclusion check, and PostgreSQL then aborts one as a deadlock. The victim retries from its savepoint:
    by then the winner holds the time, so the retry gets the constraint's verdict (or the time if the winner
    rolled back).
    """
    for attempt in range(SAVE_ATTEMPTS):
        try:
            with transaction.atomic():
                appointment.save(**save_kwargs)
            return
        except IntegrityError as error:
            constraint = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
            if constraint == NO_OVERLAP or NO_OVERLAP in str(error):
                raise _slot_taken()
            raise
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) != DEADLOCK_DETECTED:
                raise
            logger.info("Booking of %s lost a deadlock (attempt %d)", appointment.pk, attempt + 1)
    raise _slot_taken()


def _slot_taken():
    return ApiError(409, "SLOT_TAKEN", _("That time is no longer available; please choose another slot."))


def _set_times(appointment, service, starts_at):
    starts_at, ends_at, lower, upper = selectors.occupied_range(service, starts_at)
    appointment.starts_at, appointment.ends_at = starts_at, ends_at
    appointment.occupied = (lower, upper)


@transaction.atomic
def book(*, clinic, patient, professional, service, starts_at, source=Appointment.Source.STAFF, notes="",
         actor=None, now=None) -> Appointment:
    """Book `patient` with `professional` for `service` at `starts_at`.

    Refuses with 422 outside the professional's open time (or across its boundary), for a service they do
    not offer, and — for patient-facing sources — inside the minimum notice or beyond the horizon;
    409 SLOT_TAKEN when the time overlaps another active appointment (decided by the database).
    """
    if patient.clinic_id != clinic.pk:
        raise ApiError(404, "NOT_FOUND", _("Not found."))
    _check_bookable(clinic, professional, service, starts_at, source, now)
    appointment = Appointment(clinic=clinic, patient=patient, professional=professional, service=service,
                              source=source, notes=notes or "")
    _set_times(appointment, service, starts_at)
    _save_guarded(appointment)
    audit(clinic, actor, "appointment.create", appointment, {"startsAt": starts_at.isoformat()})
    return appointment


@transaction.atomic
def reschedule(appointment, *, starts_at, professional=None, source=None, actor=None, now=None) -> Appointment:
    """Move an active appointment to `starts_at` (optionally another professional); same refusals as book().

    `source` is the channel asking for the move (notice and horizon bind patient-facing ones); by default
    the channel that booked it.
    """
    if not appointment.is_active:
        raise ApiError(409, "APPOINTMENT_NOT_ACTIVE", _("Only scheduled or confirmed appointments can be moved."))
    professional = professional or appointment.professional
    _check_bookable(appointment.clinic, professional, appointment.service, starts_at, source or appointment.source,
                    now)
    previous = appointment.starts_at
    appointment.professional = professional
    _set_times(appointment, appointment.service, starts_at)
    _save_guarded(appointment)
    audit(appointment.clinic, actor, "appointment.reschedule", appointment,
          {"from": previous.isoformat(), "to": starts_at.isoformat()})
    return appointment


@transaction.atomic
def set_status(appointment, status, *, actor=None) -> Appointment:
    """Change the status; making a cancelled appointment active again can meet SLOT_TAKEN."""
    if status not in Appointment.Status.values:
        raise ApiError(400, "VALIDATION_ERROR", _("Unknown status."), {"status": [_("Unknown status.")]})
    if status == appointment.status:
        return appointment
    previous = appointment.status
    appointment.status = status
    _save_guarded(appointment, update_fields=["status", "updated_at"])
    audit(appointment.clinic, actor, "appointment.status", appointment, {"from": previous, "to": status})
    return appointment


def cancel(appointment, *, actor=None) -> Appointment:
    """Cancel, keeping the row; the time becomes free at once (the constraint ignores cancelled rows)."""
    return set_status(appointment, Appointment.Status.CANCELLED, actor=actor)


@transaction.atomic
def update_notes(appointment, notes, *, actor=None) -> Appointment:
    """Replace the appointment's notes."""
    if appointment.notes != notes:
        appointment.notes = notes
        appointment.save(update_fields=["notes", "updated_at"])
        audit(appointment.clinic, actor, "appointment.notes", appointment)
    return appointment


def book_first_free(*, clinic, patient, service, starts_at, professional=None, source, notes="", actor=None):
    """Book at `starts_at` with `professional`, or with the first professional free then; 409 if none is."""
    if professional is not None:
        return book(clinic=clinic, patient=patient, professional=professional, service=service,
                    starts_at=starts_at, source=source, notes=notes, actor=actor)
    candidates = [slot.professional_id for slot in selectors.free_slots(
        clinic, service, starts_at.astimezone(selectors.clinic_zone(clinic)).date(),
        starts_at.astimezone(selectors.clinic_zone(clinic)).date()) if slot.starts_at == starts_at]
    if not candidates:
        raise ApiError(409, "SLOT_TAKEN", _("That time is no longer available; please choose another slot."))
    professionals = Professional.objects.in_bulk(candidates)
    for candidate in candidates:
        try:
            return book(clinic=clinic, patient=patient, professional=professionals[candidate], service=service,
                        starts_at=starts_at, source=source, notes=notes, actor=actor)
        except ApiError as error:
            if error.code != "SLOT_TAKEN":
                raise
    raise ApiError(409, "SLOT_TAKEN", _("That time is no longer available; please choose another slot."))
