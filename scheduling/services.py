"""Writes of the scheduling app, one use case each: patients, services, professionals, availability exceptions
and appointments.

Every function is keyword-only, runs in ONE transaction (everything it writes commits or nothing does), leaves an
audit row, and refuses with a `DomainError` subclass carrying a `SchedulingCode`; the surfaces map codes to
statuses (docs/api/clinic-v1.md, Errors). The database's exclusion constraint is the last word on double
booking (`SLOT_TAKEN`).
"""
import datetime as dt
import logging
import uuid

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.audit import audit_event, record
from clinics.errors import Conflict, InvalidInput, NotFound
from clinics.models import AuditEvent

from . import selectors, signals
from .errors import SchedulingCode as Code
from .errors import Unprocessable
from .models import (ACTIVE_STATUSES, Appointment, AvailabilityException, Patient, Professional, Service,
                     WorkingHours, new_patient_hash)
from .patients import ERASED_TAG, normalise_patient_phone

logger = logging.getLogger(__name__)

NO_OVERLAP = "appointment_no_overlap"
# Consents a patient gives with a booking (the public page's privacy notice and its optional marketing opt-in);
# see appointment_book.
BOOKING_CONSENT_KINDS = ("privacy", "marketing")
# Of those, the ones that wait for the phone's owner to confirm them (anyone can type anyone's phone on a public
# page): kept as `consents["<kind>_pending"]` (when it was asked, ISO 8601), the kind itself left unchanged until
# `patient_consent_confirm` settles it (docs/api/public.md, Marketing consent: double opt-in).
PENDING_CONSENT_KINDS = ("marketing",)
# Channels a patient uses on their own are held to the clinic's notice and horizon; the clinic's own staff
# and systems (`staff`, `api`) may book a walk-in inside the notice window (never in the past).
PATIENT_FACING_SOURCES = (Appointment.Source.ONLINE, Appointment.Source.PHONE_AGENT)
# Staff and integrations have no booking horizon of the clinic's, but an agenda does not reach past this.
STAFF_HORIZON = dt.timedelta(days=365 * 5)


def audit(clinic, actor, action: str, target, changes: dict | None = None):
    """The audit log's call site for every scheduling write (`_audit_event` for a use case writing several).

    `actor` is what acted: the request (or its Credential), or None for the system.
    """
    record(actor, action, type(target).__name__.lower(), str(target.pk), clinic=clinic, **(changes or {}))


def _audit_event(clinic, actor, action: str, target, changes: dict | None = None) -> AuditEvent:
    """What `audit` writes, unsaved, for a use case that writes its events together."""
    return audit_event(actor, action, type(target).__name__.lower(), str(target.pk), clinic=clinic,
                       **(changes or {}))


def _scoped(model, clinic, value, code=Code.NOT_FOUND, message=None):
    """`value` (an instance or its id) as a row of `clinic`; another clinic's row is the same as none."""
    if value is None:
        return None
    if isinstance(value, model) and value.clinic_lookup == "clinic" and value.belongs_to(clinic):
        return value  # already this clinic's row (the key is on it): no need to read it again
    found = model.objects.find(clinic, value)
    if found is None:
        raise NotFound(code, message or _("Not found."))
    return found


# --- patients ---------------------------------------------------------------------------------------------

def _patient_not_found():
    return NotFound(Code.PATIENT_NOT_FOUND, _("Patient not found."))


def _chosen_patient(clinic, patient) -> Patient:
    """The patient the caller chose explicitly: an instance, its id or its public hash, of this clinic."""
    if isinstance(patient, Patient):
        if not patient.belongs_to(clinic):
            raise _patient_not_found()
        return patient
    text = str(patient).strip()
    condition = Q(hash=text)
    try:
        condition |= Q(pk=uuid.UUID(text))
    except ValueError:
        pass
    found = Patient.objects.for_clinic(clinic).filter(condition).first() if text else None
    if found is None:
        raise _patient_not_found()
    return found


def patient_find_or_create(*, clinic, name: str = "", phone: str = "", email: str = "", patient=None, tags=None,
                           actor=None) -> tuple[Patient, bool]:
    """The patient a booking or contact is for; returns (patient, created).

    `patient` (instance, id or hash) is an explicit choice and is used as is. Otherwise an existing patient is
    reused only when BOTH the phone and the normalised name (case, accents, spacing) match; anyone else gets a new
    patient, who may share the phone (families do). An existing patient's data is never changed here, so no
    caller can fill in or overwrite another person's e-mail. Two concurrent creations of the same person meet on
    the `patient_unique_clinic_identity` constraint and the loser reuses the winner's row.
    """
    if patient is not None:
        return _chosen_patient(clinic, patient), False
    candidate = _person(clinic=clinic, name=name, phone=phone, email=email, tags=tags)
    with transaction.atomic(savepoint=False):  # no savepoint: nothing in it refuses, see `_find_or_create`
        found, created_event = _find_or_create(candidate, actor=actor)
        if created_event is not None:
            created_event.save(force_insert=True)
        return found, created_event is not None


def _person(*, clinic, name, phone, email, tags) -> Patient:
    """The unsaved patient these details describe, its indexes computed; InvalidPhoneNumber before any write."""
    candidate = Patient(clinic=clinic, name=(name or "").strip(), phone=normalise_patient_phone(clinic, phone),
                        email=(email or "").strip(), tags=list(tags or []))
    candidate.refresh_indexes()
    return candidate


def _find_or_create(candidate: Patient, *, actor) -> tuple[Patient, AuditEvent | None]:
    """The patient holding `candidate`'s identity, or `candidate` saved; with, when it was created, the audit
    event to write (unsaved), so that a booking writes it with its own. Call inside a transaction.

    No savepoint, one statement for a new person: the INSERT does nothing where the identity is taken
    (ON CONFLICT DO NOTHING) instead of failing, and its row count says which happened; only then is the
    existing patient read (a concurrent creation of the same person makes the INSERT wait for that transaction,
    and the read sees its row committed).
    """
    clinic = candidate.clinic
    if not _inserted_unless_conflicting(candidate):
        found = Patient.objects.for_clinic(clinic).filter(identity_index=candidate.identity_index).first()
        if found is not None:
            return found, None
        candidate.hash = new_patient_hash()  # what conflicted was the random public hash, drawn twice
        candidate.save(force_insert=True)
    return candidate, audit_event(actor, "patient.created", "patient", candidate.hash, "contact registration",
                                  clinic=clinic)


def _inserted_unless_conflicting(instance) -> bool:
    """INSERT `instance` with ON CONFLICT DO NOTHING; whether its row went in (the statement's row count, read
    through Django's documented `execute_wrapper`)."""
    counts = []

    def keep_row_count(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        counts.append(context["cursor"].rowcount)
        return result

    with connection.execute_wrapper(keep_row_count):
        type(instance).objects.bulk_create([instance], ignore_conflicts=True)
    return counts == [1]


@transaction.atomic
def patient_merge_details(*, patient: Patient, name: str = "", email: str = "", tags=(), actor=None) -> list[str]:
    """Merge newer contact details into a patient the caller identified (docs/api/voice.md, Contacts): a given
    e-mail replaces the stored one, given tags are added, and a name is filled in only where none is stored (a
    different name is a different person: `patient_find_or_create`). Audited when something changed; returns the
    changed fields."""
    name, email = (name or "").strip(), (email or "").strip()
    changed = []
    if name and not patient.name:
        patient.name = name
        patient.refresh_indexes()
        changed += ["name", "name_index", "name_prefix_index", "identity_index"]
    if email and email != patient.email:
        patient.email = email
        changed.append("email")
    merged = list(patient.tags or []) + [tag for tag in tags or () if tag not in (patient.tags or [])]
    if merged != list(patient.tags or []):
        patient.tags = merged
        changed.append("tags")
    if changed:
        patient.save(update_fields=changed)
        record(actor, "patient.updated", "patient", patient.hash, "contact registration", clinic=patient.clinic,
               fields=changed)
    return changed


# --- services and professionals ---------------------------------------------------------------------------

SERVICE_FIELDS = ("name", "duration_minutes", "price", "currency", "buffer_before_minutes",
                  "buffer_after_minutes", "online_bookable", "active")
PROFESSIONAL_FIELDS = ("name", "specialty", "email", "phone", "active", "colour")


@transaction.atomic
def service_create(*, clinic, actor=None, **fields) -> Service:
    """A new consultation type of the clinic."""
    service = Service.objects.create(clinic=clinic, **{k: v for k, v in fields.items() if k in SERVICE_FIELDS})
    audit(clinic, actor, "service.create", service)
    return service


@transaction.atomic
def service_update(*, service, actor=None, **fields) -> Service:
    """Change a service; appointments already booked keep their times (their range was fixed when booked)."""
    changed = _assign(service, fields, SERVICE_FIELDS)
    if changed:
        service.save(update_fields=changed)
        audit(service.clinic, actor, "service.update", service, {"fields": changed})
    return service


def _future_active(queryset):
    return queryset.filter(status__in=ACTIVE_STATUSES, ends_at__gt=timezone.now()).exists()


@transaction.atomic
def service_remove(*, service, actor=None) -> str:
    """Delete a service, or archive it (active=false) when past appointments refer to it.

    Refused (HAS_FUTURE_APPOINTMENTS) while active appointments lie ahead: archiving silently would leave
    patients booked for a consultation the clinic no longer offers; staff must move or cancel them first.
    Returns "deleted" or "archived".
    """
    if _future_active(service.appointments.all()):
        raise Conflict(Code.HAS_FUTURE_APPOINTMENTS,
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
    services = list(Service.objects.for_clinic(clinic).filter(pk__in=service_ids))
    if len(services) != len(set(service_ids)):
        raise InvalidInput.on("serviceIds", _("Unknown service."))
    return services


@transaction.atomic
def professional_create(*, clinic, service_ids=(), working_hours=None, actor=None, **fields) -> Professional:
    """A new professional; without `working_hours` they work the clinic's opening hours until edited."""
    professional = Professional.objects.create(
        clinic=clinic, **{k: v for k, v in fields.items() if k in PROFESSIONAL_FIELDS})
    professional.services.set(_clinic_services(clinic, service_ids))
    _replace_working_hours(professional, working_hours if working_hours is not None
                           else parse_weekly_schedule(selectors.opening_hours(clinic)))
    audit(clinic, actor, "professional.create", professional)
    return professional


@transaction.atomic
def professional_update(*, professional, service_ids=None, working_hours=None, actor=None,
                        **fields) -> Professional:
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
def professional_remove(*, professional, actor=None) -> str:
    """Delete a professional, or archive them (active=false) when past appointments refer to them.

    Refused (HAS_FUTURE_APPOINTMENTS) while they have active appointments ahead, for the same reason as
    services: those patients must be moved or told first. Returns "deleted" or "archived".
    """
    if _future_active(professional.appointments.all()):
        raise Conflict(Code.HAS_FUTURE_APPOINTMENTS,
                       _("This professional has upcoming appointments; reschedule or cancel them first."))
    if professional.appointments.exists():
        professional.active = False
        professional.save(update_fields=["active"])
        audit(professional.clinic, actor, "professional.archive", professional)
        return "archived"
    audit(professional.clinic, actor, "professional.delete", professional)
    professional.delete()
    return "deleted"


MAX_INTERVALS_PER_DAY = 12


def parse_weekly_schedule(schedule) -> list[tuple[int, dt.time, dt.time]]:
    """`{"mon": [["09:00", "13:00"], ...], ...}` → [(weekday, start, end)]; InvalidInput (`workingHours`) when
    malformed or when intervals of one day overlap."""
    def invalid(message):
        return InvalidInput.on("workingHours", message)

    if not isinstance(schedule, dict):
        raise invalid(_('Expected an object like {"mon": [["09:00", "18:00"]]}.'))
    rows = []
    for day, intervals in schedule.items():
        if day not in selectors.WEEKDAYS:
            raise invalid(_("Unknown day %(day)s; use mon, tue, wed, thu, fri, sat, sun.") % {"day": str(day)[:10]})
        if not isinstance(intervals, list):
            raise invalid(_("Each day holds a list of [start, end] pairs."))
        if len(intervals) > MAX_INTERVALS_PER_DAY:
            raise invalid(_("At most %(count)d intervals per day.") % {"count": MAX_INTERVALS_PER_DAY})
        parsed = []
        for pair in intervals:
            try:
                if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                    raise ValueError
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
def clinic_opening_hours_update(*, clinic, schedule: dict, actor=None) -> dict:
    """Replace the clinic's weekly opening hours (`booking_rules.opening_hours`, the hours new professionals start
    with; `selectors.opening_hours`) after `parse_weekly_schedule`'s checks; a day left out is closed. Returns the
    stored schedule."""
    stored = {day: [] for day in selectors.WEEKDAYS}
    for weekday, start, end in sorted(parse_weekly_schedule(schedule)):
        stored[selectors.WEEKDAYS[weekday]].append([start.strftime("%H:%M"), end.strftime("%H:%M")])
    locked = type(clinic).objects.select_for_update().get(pk=clinic.pk)
    locked.booking_rules = {**(locked.booking_rules or {}), "opening_hours": stored}
    locked.save(update_fields=["booking_rules"])
    clinic.booking_rules = locked.booking_rules
    audit(clinic, actor, "clinic.opening_hours_update", clinic, {"fields": ["booking_rules.opening_hours"]})
    return stored


@transaction.atomic
def availability_exception_create(*, clinic, kind, starts_at, ends_at, professional=None, reason="",
                                  actor=None) -> AvailabilityException:
    """Time off or extra hours of one professional, or a clinic-wide closure (no professional).

    Existing appointments are kept: a closure does not cancel anyone, it only stops new bookings.
    """
    if kind not in AvailabilityException.Kind.values:
        raise InvalidInput.on("kind", _("Unknown kind."))
    professional = _scoped(Professional, clinic, professional)
    if starts_at >= ends_at:
        raise InvalidInput.on("endsAt", _("The end must be after the start."))
    if kind == AvailabilityException.Kind.CLOSURE:
        professional = None
    exception = AvailabilityException.objects.create(clinic=clinic, professional=professional, kind=kind,
                                                     starts_at=starts_at, ends_at=ends_at,
                                                     reason=reason[:200])
    audit(clinic, actor, "availability_exception.create", exception, {"kind": kind})
    return exception


@transaction.atomic
def availability_exception_remove(*, clinic, exception, actor=None) -> None:
    """Delete a dated exception of `clinic` (another clinic's is NOT_FOUND); the weekly hours apply again."""
    exception = _scoped(AvailabilityException, clinic, exception)
    audit(clinic, actor, "availability_exception.delete", exception, {"kind": exception.kind})
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

def _service_not_offered():
    return Unprocessable(Code.SERVICE_NOT_OFFERED, _("This professional does not offer this service."))


def _outside_hours():
    return Unprocessable(Code.OUTSIDE_WORKING_HOURS,
                         _("Nobody is working for the whole appointment at that time; please choose another time."))


def _slot_taken():
    return Conflict(Code.SLOT_TAKEN, _("That time is no longer available; please choose another time."))


def _check_time(clinic, starts_at, source, now):
    """Refusals that depend only on the time: no offset, in the past, inside the notice, past the horizon."""
    if timezone.is_naive(starts_at):
        raise InvalidInput.on("startsAt", _("The start time needs a time zone offset."))
    now = now or timezone.now()
    if starts_at < now:
        raise Unprocessable(Code.IN_THE_PAST, _("That time has already passed; please choose a later time."))
    if starts_at > now + STAFF_HORIZON:
        raise Unprocessable(Code.TOO_FAR_AHEAD, _("Appointments can be booked at most %(days)d days ahead.")
                            % {"days": STAFF_HORIZON.days})
    if source in PATIENT_FACING_SOURCES:
        rules = selectors.booking_rules(clinic)
        if starts_at < now + dt.timedelta(minutes=rules["min_notice_minutes"]):
            raise Unprocessable(Code.TOO_SOON,
                                _("Appointments must be booked at least %(minutes)d minutes ahead.")
                                % {"minutes": rules["min_notice_minutes"]})
        if starts_at > now + dt.timedelta(days=rules["max_days_ahead"]):
            raise Unprocessable(Code.TOO_FAR_AHEAD, _("Appointments can be booked at most %(days)d days ahead.")
                                % {"days": rules["max_days_ahead"]})


def _check_bookable(clinic, professional, service, starts_at, source, now, length=None):
    """Refusals of `service` at `starts_at` (for `length`, by default the service's duration) with `professional`
    (or with anyone, when None), in the order a caller should hear them; returns the professionals free then, in
    name order (the constraint still has the last word). One query besides the time checks
    (`selectors.booking_check`)."""
    _check_time(clinic, starts_at, source, now)
    check = selectors.booking_check(clinic, service, starts_at, professional=professional, length=length)
    if not check.offering:
        if professional is not None:
            raise _service_not_offered()
        raise Unprocessable(Code.SERVICE_NOT_OFFERED, _("Nobody at the clinic offers this service."))
    if not check.working:
        if professional is not None:
            raise Unprocessable(Code.OUTSIDE_WORKING_HOURS,
                                _("The professional is not working for the whole appointment at that time; "
                                  "please choose another time."))
        raise _outside_hours()
    return check.free


DEADLOCK_DETECTED = "40P01"
SAVE_ATTEMPTS = 3


class _LostRace(Exception):
    """The time was free when checked and someone else's insert met ours: book again from the start."""


def _refusal_of(error) -> str | None:
    """Whether a database error is a booking race lost: "slot taken", "deadlock", or None (another error)."""
    if isinstance(error, IntegrityError):
        # psycopg names the constraint of every violation (`diag.constraint_name`).
        if getattr(getattr(error.__cause__, "diag", None), "constraint_name", None) == NO_OVERLAP:
            return "slot taken"
    elif getattr(error.__cause__, "sqlstate", None) == DEADLOCK_DETECTED:  # an OperationalError: callers catch no other
        return "deadlock"
    return None


def _save_guarded(appointment, **save_kwargs):
    """Save inside a savepoint; the exclusion constraint's refusal becomes SLOT_TAKEN.

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
        except (IntegrityError, OperationalError) as error:
            refusal = _refusal_of(error)
            if refusal == "slot taken":
                raise _slot_taken()
            if refusal is None:
                raise
            logger.info("Booking of %s lost a deadlock (attempt %d)", appointment.pk, attempt + 1)
    raise _slot_taken()


def _set_times(appointment, service, starts_at, length=None):
    starts_at, ends_at, lower, upper = selectors.occupied_range(service, starts_at, length)
    appointment.starts_at, appointment.ends_at = starts_at, ends_at
    appointment.occupied = (lower, upper)


def appointment_book(*, clinic, service, starts_at, professional=None, patient=None, patient_name: str = "",
                     patient_phone: str = "", patient_email: str = "", source=Appointment.Source.STAFF,
                     notes: str = "", actor=None, now=None, consents=()) -> Appointment:
    """Book `service` at `starts_at` with `professional` (an instance or id; None = the first professional free
    then) for `patient` (instance, id or hash, chosen explicitly) or for the person described by
    `patient_name`/`patient_phone`/`patient_email` (found or created as `patient_find_or_create` does, inside this
    transaction: a refused booking leaves no new patient behind).

    Refusals (docs/api/clinic-v1.md, Appointments): NOT_FOUND / PATIENT_NOT_FOUND for ids not of this clinic;
    IN_THE_PAST; TOO_SOON and TOO_FAR_AHEAD for patient-facing sources; SERVICE_NOT_OFFERED;
    OUTSIDE_WORKING_HOURS (or across the boundary); SLOT_TAKEN only when another appointment overlaps.
    `consents` (kinds of BOOKING_CONSENT_KINDS the patient gave with the booking, e.g. the public page's privacy
    consent) are kept in `Patient.consents` with a `patient.consent` audit row, in the booking's transaction; those
    of PENDING_CONSENT_KINDS (marketing) are kept pending, and `appointment_booked` names them (`pending_consents`)
    so that campaigns texts the patient a link to confirm them.

    One transaction per attempt, and no savepoint inside it: when the time was free at the check but another
    booking's insert wins the race (or a deadlock between the two), the whole attempt is rolled back and run
    again, so its check sees the winner and picks the next professional free or answers SLOT_TAKEN.
    """
    for attempt in range(SAVE_ATTEMPTS):
        try:
            return _book_once(clinic=clinic, service=service, starts_at=starts_at, professional=professional,
                              patient=patient, patient_name=patient_name, patient_phone=patient_phone,
                              patient_email=patient_email, source=source, notes=notes, actor=actor, now=now,
                              consents=consents)
        except _LostRace:
            logger.info("Booking at %s lost a race (attempt %d)", starts_at, attempt + 1)
    raise _slot_taken()


@transaction.atomic
def _book_once(*, clinic, service, starts_at, professional, patient, patient_name, patient_phone, patient_email,
               source, notes, actor, now, consents=()) -> Appointment:
    service = _scoped(Service, clinic, service)
    professional = _scoped(Professional, clinic, professional)
    chosen = _chosen_patient(clinic, patient) if patient is not None else None
    if chosen is not None and ERASED_TAG in chosen.tags:  # tags: never null (default=list)
        raise Conflict(Code.PATIENT_ERASED, _("This patient's data was erased; register them again."))
    # One check answers every refusal and names who is free (the same open time the slot search walks).
    free = _check_bookable(clinic, professional, service, starts_at, source, now)
    if not free:
        raise _slot_taken()
    events = []  # written together, in one statement, once the appointment is in
    if chosen is None:
        person = _person(clinic=clinic, name=patient_name, phone=patient_phone, email=patient_email, tags=None)
        chosen, created_event = _find_or_create(person, actor=actor)
        events += [created_event] if created_event is not None else []
    # free[0]: the first professional free, or the one chosen (the check then looked at them alone).
    appointment = Appointment(clinic=clinic, patient=chosen, professional=free[0],
                              service=service, source=source, notes=notes)
    _set_times(appointment, service, starts_at)
    try:
        appointment.save(force_insert=True)
    except (IntegrityError, OperationalError) as error:
        refusal = _refusal_of(error)
        if refusal is None:
            raise
        if refusal == "slot taken" and len(free) == 1:
            raise _slot_taken()  # nobody else to try: the winner holds the time
        raise _LostRace() from error
    events.append(_audit_event(clinic, actor, "appointment.create", appointment,
                               {"startsAt": starts_at.isoformat()}))
    given = {kind: True for kind in BOOKING_CONSENT_KINDS if kind in consents and kind not in PENDING_CONSENT_KINDS}
    if given:
        # Written by patient_consent_record's own writer, in this transaction (its atomic wrapper would open a
        # savepoint here, which would break the retry): a refused booking leaves no consent behind.
        events += _consents_write(clinic, chosen, given, actor=actor)
    asked = [kind for kind in PENDING_CONSENT_KINDS if kind in consents]
    pending = _consents_pending_write(clinic, chosen, asked, actor=actor, now=now or timezone.now()) if asked else []
    events += [event for _kind, event in pending]
    AuditEvent.objects.bulk_create(events)
    _announce(signals.appointment_booked, appointment, pending_consents=tuple(kind for kind, _event in pending))
    return appointment


def _announce(signal, appointment, **extra):
    transaction.on_commit(lambda: signal.send(sender=Appointment, appointment=appointment, **extra), robust=True)


def _locked(appointment) -> Appointment:
    return (Appointment.objects.select_for_update().select_related("clinic", "patient", "professional", "service")
            .get(pk=appointment.pk))


@transaction.atomic
def appointment_update(*, appointment, starts_at=None, professional=None, notes=None, status=None, source=None,
                       actor=None, now=None, reason: str = "") -> Appointment:
    """Change the time (and/or professional), the notes and the status of an appointment together: all or
    nothing, so a taken slot changes no field. Returns the updated appointment (a fresh instance).

    A move keeps the appointment's own length (a resized one stays resized: `appointment_resize`), has the same
    refusals as `appointment_book` (judged for `source`, by default the channel that booked it) and needs an
    active appointment (APPOINTMENT_NOT_ACTIVE); making a cancelled appointment active again can meet SLOT_TAKEN.
    """
    if starts_at is not None and timezone.is_naive(starts_at):
        raise InvalidInput.on("startsAt", _("The start time needs a time zone offset."))
    current = _locked(appointment)
    clinic = current.clinic
    changes = {}  # audit action -> what changed; one row each, all in this transaction
    professional = _scoped(Professional, clinic, professional)
    moving = ((starts_at is not None and starts_at != current.starts_at)
              or (professional is not None and professional.pk != current.professional_id))
    if moving:
        if not current.is_active:
            raise Conflict(Code.APPOINTMENT_NOT_ACTIVE, _("Only scheduled or confirmed appointments can be moved."))
        starts_at = starts_at or current.starts_at
        professional = professional or current.professional
        length = current.ends_at - current.starts_at
        # Who is free does not matter here: the exclusion constraint (ignoring this row) decides at the save.
        _check_bookable(clinic, professional, current.service, starts_at, source or current.source, now,
                        length=length)
        changes["appointment.reschedule"] = {"from": current.starts_at.isoformat(), "to": starts_at.isoformat()}
        current.professional = professional
        _set_times(current, current.service, starts_at, length)
    if notes is not None and notes != current.notes:
        current.notes = notes
        changes["appointment.notes"] = {}
    previous_status = current.status
    if status is not None and status != current.status:
        if status not in Appointment.Status.values:
            raise InvalidInput.on("status", _("Unknown status."))
        current.status = status
        changes["appointment.status"] = {"from": previous_status, "to": status, **({"reason": reason} if reason else {})}
    if not changes:
        return current
    _save_guarded(current)
    for action, details in changes.items():
        audit(clinic, actor, action, current, details)
    if current.status == Appointment.Status.CANCELLED and previous_status != Appointment.Status.CANCELLED:
        _announce(signals.appointment_cancelled, current)
    return current


def appointment_reschedule(*, appointment, starts_at, professional=None, source=None, actor=None,
                           now=None) -> Appointment:
    """Move an active appointment to `starts_at` (optionally another professional); see `appointment_update`."""
    return appointment_update(appointment=appointment, starts_at=starts_at, professional=professional,
                              source=source, actor=actor, now=now)


# The longest appointment a resize makes: a working day, as the agenda draws one (it stops at midnight).
LONGEST_APPOINTMENT = dt.timedelta(hours=24)


@transaction.atomic
def appointment_resize(*, appointment, ends_at, source=None, actor=None, now=None) -> Appointment:
    """Change when an active appointment ends, its start kept (the agenda's resize handle). Returns it updated.

    The new length is at least one slot step of the clinic (`selectors.booking_rules`) and at most a day
    (VALIDATION_ERROR on `endsAt`); the whole new time, buffers included, must be open for the professional
    (OUTSIDE_WORKING_HOURS) and clear of their other active appointments (SLOT_TAKEN, the exclusion constraint on
    the occupied range having the last word); and like a move it needs an active appointment that has not started
    (APPOINTMENT_NOT_ACTIVE, IN_THE_PAST). Audited as `appointment.resize` with the old and new end.
    """
    if not isinstance(ends_at, dt.datetime) or ends_at.tzinfo is None:
        raise InvalidInput.on("endsAt", _("The end time needs a time zone offset."))
    current = _locked(appointment)
    clinic = current.clinic
    if not current.is_active:
        raise Conflict(Code.APPOINTMENT_NOT_ACTIVE, _("Only scheduled or confirmed appointments can be changed."))
    step = selectors.booking_rules(clinic)["slot_step_minutes"]
    length = ends_at - current.starts_at
    if length < dt.timedelta(minutes=step):
        raise InvalidInput.on("endsAt", _("An appointment lasts at least %(minutes)d minutes.") % {"minutes": step})
    if length > LONGEST_APPOINTMENT:
        raise InvalidInput.on("endsAt", _("An appointment lasts at most a day."))
    if ends_at == current.ends_at:
        return current
    _check_bookable(clinic, current.professional, current.service, current.starts_at, source or current.source,
                    now, length=length)
    previous_end = current.ends_at
    _set_times(current, current.service, current.starts_at, length)
    _save_guarded(current)
    audit(clinic, actor, "appointment.resize", current,
          {"from": previous_end.isoformat(), "to": current.ends_at.isoformat()})
    return current


def appointment_cancel(*, appointment, actor=None, reason: str = "") -> Appointment:
    """Cancel, keeping the row; the time becomes free at once (the constraint ignores cancelled rows). `reason`
    goes into the status change's audit row. Cancelling a cancelled appointment changes and records nothing."""
    return appointment_update(appointment=appointment, status=Appointment.Status.CANCELLED, actor=actor,
                              reason=reason)


@transaction.atomic
def appointment_attendance_record(*, appointment, attended: bool, actor=None) -> Appointment:
    """The front desk's check-in (the patient came: COMPLETED) or no-show (NO_SHOW) of a scheduled or confirmed
    appointment, audited as a status change; an appointment already cancelled, completed or missed is refused
    (APPOINTMENT_NOT_ACTIVE), so a double click records nothing twice."""
    current = _locked(appointment)
    if not current.is_active:
        raise Conflict(Code.APPOINTMENT_NOT_ACTIVE, _("Only scheduled or confirmed appointments can be checked in "
                                                      "or marked as missed."))
    status = Appointment.Status.COMPLETED if attended else Appointment.Status.NO_SHOW
    return appointment_update(appointment=current, status=status, actor=actor)


# The consents the console records: SMS reminders and marketing messages (campaigns read these two keys).
CONSENT_KINDS = ("sms", "marketing")


@transaction.atomic
def patient_consent_record(*, patient, kind: str, granted: bool, actor=None) -> Patient:
    """Record that `patient` gave (`granted`) or withdrew a consent of `kind` (one of CONSENT_KINDS): kept in
    `Patient.consents`, with a `patient.consent` audit row that is the consent's history. An erased patient
    takes no consent (PATIENT_NOT_FOUND)."""
    if kind not in CONSENT_KINDS:
        raise InvalidInput.on("kind", _("Unknown consent."))
    current = Patient.objects.select_for_update().select_related("clinic").filter(pk=patient.pk).first()
    if current is None or ERASED_TAG in (current.tags or []):
        raise _patient_not_found()
    AuditEvent.objects.bulk_create(_consents_write(current.clinic, current, {kind: granted}, actor=actor))
    return current


def _consents_write(clinic, patient, given: dict, *, actor, **extra) -> list[AuditEvent]:
    """How every consent is kept (`patient_consent_record`, and `appointment_book` for the consents given with a
    booking): `given` ({kind: granted}) merged into `Patient.consents`, and one unsaved `patient.consent` audit event
    per kind, which is the consent's history (with `extra` in each). The caller holds the transaction and saves the
    events."""
    kept = {**patient.consents, **{kind: bool(granted) for kind, granted in given.items()}}
    # A decision recorded now settles a request still waiting for the patient's confirmation (its link then
    # finds nothing pending).
    patient.consents = {key: value for key, value in kept.items()
                        if key not in {pending_consent_key(kind) for kind in given}}
    patient.save(update_fields=["consents"])
    return [_audit_event(clinic, actor, "patient.consent", patient,
                         {"kind": kind, "granted": bool(granted), **extra}) for kind, granted in given.items()]


def pending_consent_key(kind: str) -> str:
    """The `Patient.consents` key of a consent of `kind` that waits for the patient's confirmation."""
    return f"{kind}_pending"


def _consents_pending_write(clinic, patient, kinds, *, actor, now) -> list[tuple[str, AuditEvent]]:
    """Keep each consent of `kinds` given on a public page as pending (`<kind>_pending`: when it was asked), with
    an unsaved `patient.consent` audit event marked pending; returns (kind, event) for each request opened. A
    consent already given, or already waiting, opens nothing (no second confirmation SMS to the same phone)."""
    current = patient.consents or {}
    opened = [kind for kind in kinds if current.get(kind) is not True and pending_consent_key(kind) not in current]
    if not opened:
        return []
    patient.consents = {**current, **{pending_consent_key(kind): now.isoformat() for kind in opened}}
    patient.save(update_fields=["consents"])
    return [(kind, _audit_event(clinic, actor, "patient.consent", patient, {"kind": kind, "pending": True}))
            for kind in opened]


# What `patient_consent_confirm` found: the request settled now, settled before (the consent is given), or no
# longer open (declined, superseded by a decision the clinic recorded, or the patient erased).
CONSENT_CONFIRMED, CONSENT_DECLINED, CONSENT_ALREADY_GIVEN, CONSENT_REQUEST_CLOSED = (
    "confirmed", "declined", "already_given", "closed")


@transaction.atomic
def patient_consent_confirm(*, clinic, patient_id, kind: str, asked_at: str, accepted: bool, actor=None) -> str:
    """The patient's answer to a consent waiting for confirmation (`PENDING_CONSENT_KINDS`), asked at `asked_at`
    (the pending value the link was made for): accepted, the consent is given; declined, the request is dropped
    and the consent left as it was. Either is audited (`patient.consent`, `via: link`). Returns one of the
    CONSENT_* outcomes above; a patient not of `clinic` is PATIENT_NOT_FOUND."""
    if kind not in PENDING_CONSENT_KINDS:
        raise InvalidInput.on("kind", _("Unknown consent."))
    current = Patient.objects.select_for_update().filter(clinic=clinic, pk=patient_id).first()
    if current is None:
        raise _patient_not_found()
    consents = current.consents or {}
    if consents.get(pending_consent_key(kind)) != asked_at or ERASED_TAG in (current.tags or []):
        return CONSENT_ALREADY_GIVEN if consents.get(kind) is True else CONSENT_REQUEST_CLOSED
    if accepted:
        AuditEvent.objects.bulk_create(_consents_write(clinic, current, {kind: True}, actor=actor, via="link"))
        return CONSENT_CONFIRMED
    current.consents = {key: value for key, value in consents.items() if key != pending_consent_key(kind)}
    current.save(update_fields=["consents"])
    audit(clinic, actor, "patient.consent", current, {"kind": kind, "declined": True, "via": "link"})
    return CONSENT_DECLINED
