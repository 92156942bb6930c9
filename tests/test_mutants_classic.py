"""Issue 11, the classic mutants: rules of crypto, tenancy, slots, booking and webhook verification that the
coverage-guided mutation run (`scripts/mutate_tenancy.py --kind classic`, docs/testing.md "Classic mutants, stop 21")
found no test for. Each test names the rule it holds and the mutant it kills.
"""
import base64
import datetime as dt
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.db import IntegrityError, OperationalError

from clinics.errors import DomainError

pytestmark = pytest.mark.django_db

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PEM = RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _dyte_signature(raw: bytes, key=RSA_KEY) -> str:
    return base64.b64encode(key.sign(raw, padding.PKCS1v15(), hashes.SHA256())).decode()


# --- telephony/backends/video.py verify_webhook -------------------------------------------------------------


def test_with_no_dyte_key_configured_no_signature_is_accepted_not_even_a_valid_one(settings, monkeypatch):
    """video.py:141 `return False` -> True."""
    from telephony.backends.video import verify_webhook

    raw = b'{"event":"meeting.ended"}'
    monkeypatch.delenv("DYTE_WEBHOOK_PUBLIC_KEY", raising=False)
    settings.DYTE_WEBHOOK_PUBLIC_KEY = ""
    assert verify_webhook(raw, _dyte_signature(raw)) is False
    settings.DYTE_WEBHOOK_PUBLIC_KEY = RSA_PEM
    assert verify_webhook(raw, _dyte_signature(raw)) is True


def test_a_dyte_signature_that_is_not_base64_or_a_key_that_is_not_pem_is_refused(settings):
    """video.py:149 `return False` -> True."""
    from telephony.backends.video import verify_webhook

    raw = b'{"event":"meeting.ended"}'
    settings.DYTE_WEBHOOK_PUBLIC_KEY = RSA_PEM
    assert verify_webhook(raw, "not base64 at all!") is False
    settings.DYTE_WEBHOOK_PUBLIC_KEY = "-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----"
    assert verify_webhook(raw, _dyte_signature(raw)) is False


# --- telephony/outbound_webhooks.py verify ------------------------------------------------------------------


def test_a_receiver_refuses_a_signature_header_whose_timestamp_is_not_a_number():
    """outbound_webhooks.py:226 `return False` -> True."""
    from telephony.outbound_webhooks import sign, verify

    body = b'{"event":"x"}'
    digest = sign("whsec_s", body, int(time.time())).split("v1=", 1)[1]
    assert verify("whsec_s", body, f"t=soon,v1={digest}") is False
    assert verify("whsec_s", body, None) is False
    assert verify("whsec_s", body, "") is False


# --- scheduling/services.py: lost races told apart from other database errors ----------------------------------


def test_a_deadlock_between_two_bookings_is_told_apart_from_any_other_operational_error():
    """services.py:462 (the deadlock test of `_refusal_of`): a deadlock is retried, another error is raised."""
    import psycopg.errors

    from scheduling.services import _refusal_of

    def wrapped(error_class, cause):
        error = error_class(str(cause))
        error.__cause__ = cause  # how Django wraps the driver's error
        return error

    assert _refusal_of(wrapped(OperationalError, psycopg.errors.DeadlockDetected("deadlock detected"))) == "deadlock"
    assert _refusal_of(wrapped(OperationalError, psycopg.errors.QueryCanceled("canceling statement"))) is None
    assert _refusal_of(wrapped(IntegrityError, psycopg.errors.DeadlockDetected("deadlock detected"))) is None
    assert _refusal_of(wrapped(IntegrityError, psycopg.errors.NotNullViolation("null value"))) is None


def test_only_the_no_overlap_constraint_of_the_database_reads_as_a_taken_slot(clinic):
    """services.py:460: the error PostgreSQL raises for two overlapping appointments is "slot taken"; a NOT NULL
    violation is another error."""
    from django.db import transaction
    from django.utils import timezone

    from scheduling.services import _refusal_of
    from scheduling.tests.factories import AppointmentFactory, ProfessionalFactory

    professional = ProfessionalFactory(clinic=clinic)
    starts = timezone.now() + dt.timedelta(days=1)
    first = AppointmentFactory(professional=professional, starts_at=starts)
    with pytest.raises(IntegrityError) as overlap, transaction.atomic():
        AppointmentFactory(professional=professional, starts_at=starts + dt.timedelta(minutes=10))
    assert _refusal_of(overlap.value) == "slot taken"
    first.patient_id = None
    with pytest.raises(IntegrityError) as null, transaction.atomic():
        first.save()
    assert _refusal_of(null.value) is None


def test_a_database_error_that_is_not_a_lost_race_is_raised_as_it_is_never_as_a_taken_slot(clinic):
    """services.py:484 `if refusal is None: raise`: saving an appointment that breaks another rule of the database
    (here: no patient) raises that error; it is not retried and never reported as SLOT_TAKEN."""
    from django.utils import timezone

    from scheduling.services import _save_guarded
    from scheduling.tests.factories import AppointmentFactory, ProfessionalFactory

    appointment = AppointmentFactory(professional=ProfessionalFactory(clinic=clinic),
                                     starts_at=timezone.now() + dt.timedelta(days=1))
    appointment.patient_id = None
    with pytest.raises(IntegrityError):
        _save_guarded(appointment)


def test_a_receiver_judges_the_timestamp_against_the_now_it_is_given_tolerance_included():
    """outbound_webhooks.py:227: `now` (not the clock) is the receiver's time, and a signature exactly
    `tolerance_seconds` old is still accepted (`>` -> `>=`, and the `now` fallback)."""
    from telephony.outbound_webhooks import sign, verify

    body = b'{"event":"x"}'
    header = sign("whsec_s", body, 1_000_000)
    assert verify("whsec_s", body, header, tolerance_seconds=300, now=1_000_300) is True
    assert verify("whsec_s", body, header, tolerance_seconds=300, now=999_700) is True
    assert verify("whsec_s", body, header, tolerance_seconds=300, now=1_000_301) is False
    assert verify("whsec_s", body, header, tolerance_seconds=300, now=999_699) is False
    assert verify("whsec_s", body, header) is False  # the clock is far past 1970's 1,000,000 s


# --- scheduling/services.py: booking --------------------------------------------------------------------------


@pytest.fixture
def bookable(clinic):
    """A service and a professional working every day 00:00–23:45, and a patient, all of `clinic`."""
    from scheduling.tests.factories import PatientFactory, ProfessionalFactory, ServiceFactory

    service = ServiceFactory(clinic=clinic, duration_minutes=30)
    professional = ProfessionalFactory(clinic=clinic, services=[service],
                                       hours=[(day, "00:00", "23:45") for day in range(7)])
    return service, professional, PatientFactory(clinic=clinic)


def test_a_start_time_without_a_time_zone_is_refused_as_invalid_startsat_and_books_nothing(clinic, bookable):
    """services.py:409 drop `starts_at.tzinfo is None` (a naive time then met an aware `now`: a TypeError, a 500)."""
    from scheduling import services
    from scheduling.models import Appointment

    service, professional, patient = bookable
    naive = (dt.datetime.now() + dt.timedelta(days=2)).replace(hour=10, minute=0, second=0, microsecond=0)
    with pytest.raises(DomainError) as error:
        services.appointment_book(clinic=clinic, service=service, professional=professional, patient=patient,
                                  starts_at=naive)
    assert error.value.code == "VALIDATION_ERROR" and "startsAt" in error.value.details
    assert not Appointment.objects.exists()


def test_moving_an_appointment_to_a_time_without_a_time_zone_is_invalid_input_whatever_its_status(clinic, bookable):
    """services.py:587 (the same rule in `appointment_update`, checked before the appointment's state: a malformed
    time is VALIDATION_ERROR, not APPOINTMENT_NOT_ACTIVE, even for a cancelled appointment); nothing changes."""
    from scheduling import services

    service, professional, patient = bookable
    starts = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=2)
    active = services.appointment_book(clinic=clinic, service=service, professional=professional,
                                       patient=patient, starts_at=starts)
    cancelled = services.appointment_cancel(appointment=services.appointment_book(
        clinic=clinic, service=service, professional=professional, patient=patient,
        starts_at=starts + dt.timedelta(hours=1)))
    naive = (starts + dt.timedelta(hours=2)).replace(tzinfo=None)
    for appointment in (active, cancelled):
        with pytest.raises(DomainError) as error:
            services.appointment_reschedule(appointment=appointment, starts_at=naive)
        assert error.value.code == "VALIDATION_ERROR" and "startsAt" in error.value.details
    active.refresh_from_db()
    cancelled.refresh_from_db()
    assert (active.starts_at, active.status) == (starts, "scheduled")
    assert (cancelled.starts_at, cancelled.status) == (starts + dt.timedelta(hours=1), "cancelled")


# --- scheduling/selectors.py: the slot engine ---------------------------------------------------------------


def test_a_clinics_booking_rules_take_only_known_whole_non_negative_numbers_and_anything_else_keeps_the_default(
        clinic):
    """selectors.py:42, each operand of the guard: an unknown key, a string, a boolean or a negative number is
    ignored (not a crash, not True read as 1); zero is a value (no notice at all), and values are capped."""
    from scheduling.selectors import DEFAULT_RULES, RULE_LIMITS, booking_rules

    clinic.booking_rules = {"min_notice_minutes": 0, "max_days_ahead": True, "slot_step_minutes": "5",
                            "unknown_rule": 7, "opening_hours": {"mon": [["09:00", "12:00"]]}}
    assert booking_rules(clinic) == {**DEFAULT_RULES, "min_notice_minutes": 0}
    clinic.booking_rules = {"min_notice_minutes": -30, "max_days_ahead": 10 ** 9, "slot_step_minutes": 0}
    assert booking_rules(clinic) == {"min_notice_minutes": DEFAULT_RULES["min_notice_minutes"],
                                     "max_days_ahead": RULE_LIMITS["max_days_ahead"], "slot_step_minutes": 1}


def test_an_appointment_may_move_to_a_time_overlapping_its_own_old_time_it_never_blocks_itself(clinic, bookable):
    """The move is judged by the exclusion constraint, which ignores the row itself (selectors.py:226 `if
    exclude_appointment_id` was equivalent: `appointment_update` never read who was free; the parameter is gone)."""
    from scheduling import services

    service, professional, patient = bookable
    starts = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=2)
    appointment = services.appointment_book(clinic=clinic, service=service, professional=professional,
                                            patient=patient, starts_at=starts)
    moved = services.appointment_reschedule(appointment=appointment, starts_at=starts + dt.timedelta(minutes=15))
    assert moved.starts_at == starts + dt.timedelta(minutes=15)
    assert moved.ends_at == starts + dt.timedelta(minutes=45)


def _local(day, hour, minute=0):
    from zoneinfo import ZoneInfo

    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=ZoneInfo("Europe/Lisbon"))


def _next_tuesday():
    from django.utils import timezone

    today = timezone.now().date()
    return today + dt.timedelta(days=(1 - today.weekday()) % 7 + 7)


def test_open_time_in_a_window_is_exactly_the_hours_inside_it_with_no_empty_or_inverted_pieces(clinic):
    """selectors.py:244 `_clip` (`end > low`, `start < high` and their `>=`/`<=` flips): the hours of the days
    around the window (looked at to merge across midnight) never show as empty or inverted intervals."""
    from scheduling.selectors import availability
    from scheduling.tests.factories import ProfessionalFactory

    professional = ProfessionalFactory(clinic=clinic)  # Mon–Fri 09:00–18:00, Lisbon
    tuesday = _next_tuesday()
    monday = tuesday - dt.timedelta(days=1)
    inside = availability(clinic, [professional.pk], _local(tuesday, 12), _local(tuesday, 13))
    assert inside == {professional.pk: [(_local(tuesday, 12), _local(tuesday, 13))]}
    overnight = availability(clinic, [professional.pk], _local(monday, 18), _local(tuesday, 9))
    assert overnight == {professional.pk: []}
    both = availability(clinic, [professional.pk], _local(monday, 17), _local(tuesday, 10))
    assert both == {professional.pk: [(_local(monday, 17), _local(monday, 18)),
                                      (_local(tuesday, 9), _local(tuesday, 10))]}


# --- clinics/crypto.py --------------------------------------------------------------------------------------


def test_a_word_of_two_letters_is_a_searchable_name_token_and_a_single_letter_is_not():
    """crypto.py:78 `len(token) >= 2` -> `> 2`: "Li", "Wu" and "da" are tokens; a lone initial is not."""
    from clinics.crypto import name_tokens

    assert name_tokens("Ana Li da Costa Wu J") == ["ana", "costa", "da", "li", "wu"]


def test_an_inactive_service_has_no_free_slots_though_its_professionals_work_and_are_free(clinic):
    """selectors.py:165 `if not service.active` of `bookable_professionals` (the one check `free_slots` relies on)."""
    from scheduling.selectors import free_slots
    from scheduling.tests.factories import ProfessionalFactory, ServiceFactory

    service = ServiceFactory(clinic=clinic)
    ProfessionalFactory(clinic=clinic, services=[service])
    tuesday = _next_tuesday()
    assert free_slots(clinic, service, tuesday, tuesday)  # active: the day has slots
    service.active = False
    service.save()
    assert free_slots(clinic, service, tuesday, tuesday) == []


def test_none_in_a_non_null_encrypted_column_is_refused_by_the_database_never_stored_as_the_text_none(clinic):
    """crypto.py:149 drop `value is None` (None became the ciphertext of "None", and the NOT NULL rule was lost)."""
    from django.db import transaction
    from django.utils import timezone

    from scheduling.models import Appointment
    from scheduling.tests.factories import AppointmentFactory, ProfessionalFactory

    appointment = AppointmentFactory(professional=ProfessionalFactory(clinic=clinic),
                                     starts_at=timezone.now() + dt.timedelta(days=1), notes="first visit")
    appointment.notes = None
    with pytest.raises(IntegrityError), transaction.atomic():
        appointment.save(update_fields=["notes"])
    assert Appointment.objects.get(pk=appointment.pk).notes == "first visit"


def test_a_refusal_names_the_chosen_professional_or_says_nobody_when_anyone_was_asked(clinic, bookable):
    """services.py:436 and :440 (`professional is not None`): the same code either way, but the caller hears
    whether their professional or the whole clinic cannot take the appointment."""
    from django.utils import translation

    from scheduling import services
    from scheduling.tests.factories import ServiceFactory

    service, professional, patient = bookable
    not_offered = ServiceFactory(clinic=clinic)
    starts = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=2)
    night = _local(starts.date(), 23, 45)  # the professional works 00:00–23:45

    def refusal(**kwargs):
        with translation.override("en"), pytest.raises(DomainError) as error:
            services.appointment_book(clinic=clinic, patient=patient, **kwargs)
        return error.value.code, error.value.message

    assert refusal(service=not_offered, professional=professional, starts_at=starts) == (
        "SERVICE_NOT_OFFERED", "This professional does not offer this service.")
    assert refusal(service=not_offered, starts_at=starts) == (
        "SERVICE_NOT_OFFERED", "Nobody at the clinic offers this service.")
    assert refusal(service=service, professional=professional, starts_at=night) == (
        "OUTSIDE_WORKING_HOURS", "The professional is not working for the whole appointment at that time; "
                                 "please choose another time.")
    assert refusal(service=service, starts_at=night) == (
        "OUTSIDE_WORKING_HOURS",
        "Nobody is working for the whole appointment at that time; please choose another time.")


def test_an_erased_patient_chosen_by_id_cannot_be_booked_and_nothing_is_written(clinic, bookable):
    """services.py:531 (`ERASED_TAG in chosen.tags`): PATIENT_ERASED, not an appointment for a person whose data
    is gone."""
    from scheduling import services
    from scheduling.models import Appointment
    from scheduling.patients import ERASED_TAG

    service, professional, patient = bookable
    patient.tags = [ERASED_TAG]
    patient.save(update_fields=["tags"])
    starts = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=2)
    for chosen in (patient, patient.pk):
        with pytest.raises(DomainError) as error:
            services.appointment_book(clinic=clinic, service=service, professional=professional, patient=chosen,
                                      starts_at=starts)
        assert error.value.code == "PATIENT_ERASED"
    assert not Appointment.objects.exists()


def test_only_the_change_to_cancelled_announces_a_cancellation(clinic, bookable, django_capture_on_commit_callbacks):
    """services.py:619, each operand: a move, a note or a confirmation of an active appointment, and a note on an
    appointment already cancelled, announce no cancellation (calendar sync and notices listen to it)."""
    from scheduling import services
    from scheduling.signals import appointment_cancelled

    service, professional, patient = bookable
    starts = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=2)
    heard = []

    def listen(sender, appointment, **kwargs):
        heard.append(appointment.pk)

    appointment_cancelled.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            appointment = services.appointment_book(clinic=clinic, service=service, professional=professional,
                                                    patient=patient, starts_at=starts)
        for change in ({"starts_at": starts + dt.timedelta(hours=1)}, {"notes": "bring the x-ray"},
                       {"status": "confirmed"}):
            with django_capture_on_commit_callbacks(execute=True):
                services.appointment_update(appointment=appointment, **change)
        assert heard == []
        with django_capture_on_commit_callbacks(execute=True):
            services.appointment_cancel(appointment=appointment)
        assert heard == [appointment.pk]
        with django_capture_on_commit_callbacks(execute=True):
            services.appointment_update(appointment=appointment, notes="called to say sorry")
        assert heard == [appointment.pk]
    finally:
        appointment_cancelled.disconnect(listen)


@pytest.mark.django_db
def test_moving_an_appointment_to_another_professional_alone_keeps_its_time_and_its_own_rules():
    """`appointment_update` with a professional and no time keeps the start; with no source, the appointment's own
    source decides the rules (an online booking stays held to the online notice), and notes given unchanged are
    no change at all (no save, no audit row)."""
    from clinics.models import AuditEvent
    from scheduling.models import Appointment
    from scheduling.services import appointment_update
    from scheduling.tests.factories import AppointmentFactory, ProfessionalFactory, ServiceFactory

    service = ServiceFactory()
    clinic = service.clinic
    clinic.booking_rules = {"min_notice_minutes": 240}
    clinic.save(update_fields=["booking_rules"])
    hours = [(day, "00:00", "23:59") for day in range(7)]
    ana = ProfessionalFactory(clinic=clinic, services=[service], hours=hours)
    rui = ProfessionalFactory(clinic=clinic, services=[service], hours=hours)
    # A fixed morning (a Monday, Lisbon on UTC): every time below stays inside the day's hours whatever the clock.
    now = dt.datetime(2027, 3, 1, 8, 0, tzinfo=dt.timezone.utc)
    later = AppointmentFactory(professional=ana, service=service, starts_at=now + dt.timedelta(days=2),
                               source=Appointment.Source.STAFF, notes="Trazer exames")

    moved = appointment_update(appointment=later, professional=rui, now=now)
    assert moved.professional_id == rui.pk and moved.starts_at == later.starts_at

    events = AuditEvent.objects.count()
    same = appointment_update(appointment=moved, notes="Trazer exames", now=now)
    assert same.notes == "Trazer exames" and AuditEvent.objects.count() == events

    online = AppointmentFactory(professional=ana, service=service, starts_at=now + dt.timedelta(days=3),
                                source=Appointment.Source.ONLINE)
    with pytest.raises(DomainError) as refused:
        appointment_update(appointment=online, starts_at=now + dt.timedelta(hours=1), now=now)
    assert refused.value.code == "TOO_SOON"
    # Staff moving that online booking name their own source: the online notice is not theirs.
    assert appointment_update(appointment=online, starts_at=now + dt.timedelta(hours=2), now=now,
                              source=Appointment.Source.STAFF).starts_at == now + dt.timedelta(hours=2)
    staff = AppointmentFactory(professional=rui, service=service, starts_at=now + dt.timedelta(days=3),
                               source=Appointment.Source.STAFF)
    assert appointment_update(appointment=staff, starts_at=now + dt.timedelta(hours=1), now=now).starts_at == \
        now + dt.timedelta(hours=1)
