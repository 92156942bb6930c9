"""Domain rules of booking, enforced by scheduling.services and the database."""
import datetime as dt

import pytest
from django.db import IntegrityError

from clinics.errors import DomainError
from clinics.models import AuditEvent
from clinics.phones import InvalidPhoneNumber
from scheduling import services
from scheduling.models import Appointment, AvailabilityException, Patient, WorkingHours
from scheduling.tests.conftest import daytime_zone, upcoming
from scheduling.tests.factories import AppointmentFactory, PatientFactory, ProfessionalFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def book(clinic, patient, professional, service, starts_at, **kwargs):
    return services.appointment_book(clinic=clinic, patient=patient, professional=professional, service=service,
                                     starts_at=starts_at, **kwargs)


def test_book_stores_times_and_occupied_range_with_buffers(clinic, patient, professional, service):
    service.buffer_before_minutes, service.buffer_after_minutes = 5, 10
    service.save()
    starts = upcoming(clinic=clinic)
    appointment = book(clinic, patient, professional, service, starts)
    assert appointment.ends_at - appointment.starts_at == dt.timedelta(minutes=30)
    appointment.refresh_from_db()
    assert appointment.occupied.lower == starts - dt.timedelta(minutes=5)
    assert appointment.occupied.upper == starts + dt.timedelta(minutes=40)
    assert appointment.status == "scheduled"


def test_second_booking_of_same_slot_gets_409(clinic, patient, professional, service):
    starts = upcoming(clinic=clinic)
    book(clinic, patient, professional, service, starts)
    with pytest.raises(DomainError) as error:
        book(clinic, patient, professional, service, starts + dt.timedelta(minutes=15))
    assert error.value.code == "SLOT_TAKEN"
    assert Appointment.objects.count() == 1


def test_database_refuses_overlap_even_without_the_service(clinic, professional, service):
    starts = upcoming(clinic=clinic)
    AppointmentFactory(professional=professional, service=service, starts_at=starts)
    with pytest.raises(IntegrityError, match="appointment_no_overlap"):
        AppointmentFactory(professional=professional, service=service, starts_at=starts + dt.timedelta(minutes=10))


def test_booking_across_the_lunch_break_is_refused(clinic, patient, service):
    service.duration_minutes = 60
    service.save()
    days = [(d, "09:00", "13:00") for d in range(7)] + [(d, "14:00", "18:00") for d in range(7)]
    split = ProfessionalFactory(clinic=clinic, services=[service], hours=days)
    with pytest.raises(DomainError) as error:
        book(clinic, patient, split, service, upcoming(hour=12, minute=30, clinic=clinic))
    assert error.value.code == "OUTSIDE_WORKING_HOURS"
    assert book(clinic, patient, split, service, upcoming(hour=12, clinic=clinic)).pk


def test_online_booking_inside_minimum_notice_is_refused_but_staff_may(clinic, patient, professional, service):
    clinic.timezone = daytime_zone()
    clinic.save()
    soon = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0) + dt.timedelta(minutes=30)
    with pytest.raises(DomainError) as error:
        book(clinic, patient, professional, service, soon, source="online")
    assert error.value.code == "TOO_SOON"
    assert book(clinic, patient, professional, service, soon, source="staff").source == "staff"


def test_booking_beyond_horizon_is_refused(clinic, patient, professional, service):
    with pytest.raises(DomainError) as error:
        book(clinic, patient, professional, service, upcoming(days=91, clinic=clinic), source="phone_agent")
    assert error.value.code == "TOO_FAR_AHEAD"


def test_service_the_professional_does_not_offer_is_refused(clinic, patient, professional):
    other = ServiceFactory(clinic=clinic)
    with pytest.raises(DomainError) as error:
        book(clinic, patient, professional, other, upcoming(clinic=clinic))
    assert error.value.code == "SERVICE_NOT_OFFERED"


def test_cancel_frees_the_time_and_keeps_the_row(clinic, patient, professional, service):
    starts = upcoming(clinic=clinic)
    first = book(clinic, patient, professional, service, starts)
    services.appointment_cancel(appointment=first)
    second = book(clinic, patient, professional, service, starts)
    assert Appointment.objects.filter(pk=first.pk, status="cancelled").exists()
    assert second.status == "scheduled"
    with pytest.raises(DomainError) as error:
        services.appointment_update(appointment=first, status="confirmed")
    assert error.value.code == "SLOT_TAKEN"


def test_reschedule_moves_the_appointment_and_refuses_a_taken_time(clinic, patient, professional, service):
    first = book(clinic, patient, professional, service, upcoming(clinic=clinic))
    second = book(clinic, patient, professional, service, upcoming(hour=11, clinic=clinic))
    services.appointment_reschedule(appointment=first, starts_at=upcoming(hour=15, clinic=clinic))
    first.refresh_from_db()
    assert first.starts_at == upcoming(hour=15, clinic=clinic)
    with pytest.raises(DomainError) as error:
        services.appointment_reschedule(appointment=first, starts_at=second.starts_at)
    assert error.value.code == "SLOT_TAKEN"


def test_new_professional_works_the_clinic_opening_hours(clinic):
    professional = services.professional_create(clinic=clinic, name="Dra. Ana")
    rows = list(WorkingHours.objects.filter(professional=professional).values_list("weekday", "start", "end"))
    assert rows == [(day, dt.time(9), dt.time(18)) for day in range(5)]


def test_patient_is_found_again_by_phone_in_any_format_and_name_in_any_case(clinic):
    first, created = services.patient_find_or_create(clinic=clinic, name="Maria Silva", phone="912 345 678")
    again, created_again = services.patient_find_or_create(clinic=clinic, name="  MARÍA   silva ",
                                                           phone="+351912345678", email="maria@example.test")
    assert (created, created_again) == (True, False)
    assert first.pk == again.pk
    stored = Patient.objects.get(pk=first.pk)
    # A booking never fills in or changes an existing patient's data.
    assert (stored.phone, stored.email, stored.name) == ("+351912345678", "", "Maria Silva")


def test_someone_else_with_the_same_phone_is_a_new_patient(clinic):
    maria, _created = services.patient_find_or_create(clinic=clinic, name="Maria da Silva", phone="912345678",
                                                      email="maria@example.test")
    rui, created = services.patient_find_or_create(clinic=clinic, name="Rui Costa", phone="912345678",
                                                   email="rui@example.test")
    assert created and rui.pk != maria.pk
    assert rui.phone == maria.phone == "+351912345678"
    maria.refresh_from_db()
    assert (maria.name, maria.email) == ("Maria da Silva", "maria@example.test")


def test_invalid_phone_is_refused(clinic):
    with pytest.raises(InvalidPhoneNumber) as error:
        services.patient_find_or_create(clinic=clinic, name="X", phone="12")
    assert error.value.code == "INVALID_PHONE_NUMBER"
    assert error.value.details == {"phone": [error.value.message]}
    # The caller's transaction (this test's) is still usable: the refusal came before any write.
    assert not Patient.objects.filter(clinic=clinic).exists()


def test_removing_a_service_with_future_appointments_is_refused_and_with_past_ones_archives(
        clinic, patient, professional, service):
    appointment = book(clinic, patient, professional, service, upcoming(clinic=clinic))
    with pytest.raises(DomainError) as error:
        services.service_remove(service=service)
    assert error.value.code == "HAS_FUTURE_APPOINTMENTS"
    services.appointment_cancel(appointment=appointment)
    assert services.service_remove(service=service) == "archived"
    service.refresh_from_db()
    assert service.active is False
    assert services.service_remove(service=ServiceFactory(clinic=clinic)) == "deleted"


# --- the one booking service: patient and booking in one transaction, the real reason of a refusal ---------


def _book_new_patient(clinic, professional, service, starts_at, **kwargs):
    return services.appointment_book(clinic=clinic, professional=professional, service=service, starts_at=starts_at,
                                     patient_name="Rui Costa", patient_phone="+351916000111", **kwargs)


def test_a_booking_refused_as_slot_taken_leaves_no_new_patient(clinic, professional, service):
    starts = upcoming(clinic=clinic)
    AppointmentFactory(professional=professional, service=service, starts_at=starts)
    before = Patient.objects.count()
    with pytest.raises(DomainError) as error:
        _book_new_patient(clinic, professional, service, starts)
    assert error.value.code == "SLOT_TAKEN"
    assert Patient.objects.count() == before


def test_a_professional_without_the_service_is_service_not_offered(clinic, service):
    newcomer = ProfessionalFactory(clinic=clinic, hours=[(d, "00:00", "23:45") for d in range(7)])
    with pytest.raises(DomainError) as error:
        _book_new_patient(clinic, newcomer, service, upcoming(clinic=clinic))
    assert error.value.code == "SERVICE_NOT_OFFERED"
    assert not Patient.objects.exists()


def test_first_free_with_nobody_offering_the_service_is_service_not_offered(clinic, service):
    ProfessionalFactory(clinic=clinic, hours=[(d, "00:00", "23:45") for d in range(7)])
    with pytest.raises(DomainError) as error:
        _book_new_patient(clinic, None, service, upcoming(clinic=clinic), source="phone_agent")
    assert error.value.code == "SERVICE_NOT_OFFERED"


def test_first_free_outside_everyone_s_hours_is_outside_working_hours(clinic, service):
    ProfessionalFactory(clinic=clinic, services=[service], hours=[(d, "09:00", "12:00") for d in range(7)])
    with pytest.raises(DomainError) as error:
        _book_new_patient(clinic, None, service, upcoming(hour=20, clinic=clinic), source="phone_agent")
    assert error.value.code == "OUTSIDE_WORKING_HOURS"
    with pytest.raises(DomainError) as error:
        _book_new_patient(clinic, None, service, upcoming(hour=11, minute=45, clinic=clinic), source="phone_agent")
    assert error.value.code == "OUTSIDE_WORKING_HOURS"  # across the end of the day


def test_first_free_takes_the_next_professional_and_says_slot_taken_only_when_all_are_busy(clinic, service):
    hours = [(d, "09:00", "12:00") for d in range(7)]
    first = ProfessionalFactory(clinic=clinic, services=[service], hours=hours, name="A")
    second = ProfessionalFactory(clinic=clinic, services=[service], hours=hours, name="B")
    starts = upcoming(hour=10, clinic=clinic)
    AppointmentFactory(professional=first, service=service, starts_at=starts)
    assert _book_new_patient(clinic, None, service, starts).professional == second
    with pytest.raises(DomainError) as error:
        _book_new_patient(clinic, None, service, starts)
    assert error.value.code == "SLOT_TAKEN"


def at_utc(*fields):
    return dt.datetime(*fields, tzinfo=dt.timezone.utc)


def test_an_appointment_across_the_autumn_clock_change_lasts_its_duration(clinic, patient, professional, service):
    from zoneinfo import ZoneInfo

    # 01:45 on the clock, the first time round (summer time): the clocks go back at 02:00 to 01:00.
    starts = dt.datetime(2027, 10, 31, 1, 45, tzinfo=ZoneInfo(clinic.timezone))
    appointment = book(clinic, patient, professional, service, starts)
    appointment.refresh_from_db()
    # (an ambiguous wall time never equals an instant of another zone: compare in UTC)
    assert appointment.starts_at == starts.astimezone(dt.timezone.utc) == at_utc(2027, 10, 31, 0, 45)
    assert appointment.ends_at - appointment.starts_at == dt.timedelta(minutes=30)
    assert appointment.occupied.upper - appointment.occupied.lower == dt.timedelta(minutes=30)


def test_a_time_in_the_past_is_refused_for_every_source(clinic, patient, professional, service):
    past = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(hours=1)
    for source in ("staff", "api", "online", "phone_agent"):
        with pytest.raises(DomainError) as error:
            book(clinic, patient, professional, service, past, source=source)
        assert error.value.code == "IN_THE_PAST"
    assert not Appointment.objects.exists()


def test_another_clinic_s_patient_professional_or_service_is_not_found(clinic, other_clinic, patient,
                                                                          professional, service):
    stranger = PatientFactory(clinic=other_clinic)
    foreign_service = ServiceFactory(clinic=other_clinic)
    foreign_professional = ProfessionalFactory(clinic=other_clinic, services=[foreign_service])
    starts = upcoming(clinic=clinic)
    for kwargs, code in (({"patient": stranger}, "PATIENT_NOT_FOUND"),
                         ({"patient": stranger.hash}, "PATIENT_NOT_FOUND"),
                         ({"patient": str(stranger.pk)}, "PATIENT_NOT_FOUND"),
                         ({"patient": patient, "professional": foreign_professional}, "NOT_FOUND"),
                         ({"patient": patient, "service": foreign_service}, "NOT_FOUND")):
        arguments = {"clinic": clinic, "professional": professional, "service": service, "starts_at": starts,
                     **kwargs}
        with pytest.raises(DomainError) as error:
            services.appointment_book(**arguments)
        assert error.value.code == code
    assert not Appointment.objects.exists()


def test_update_that_meets_a_taken_slot_changes_no_field(clinic, patient, professional, service):
    first = book(clinic, patient, professional, service, upcoming(clinic=clinic), notes="before")
    second = book(clinic, patient, professional, service, upcoming(hour=11, clinic=clinic))
    with pytest.raises(DomainError) as error:
        services.appointment_update(appointment=first, starts_at=second.starts_at, notes="after", status="confirmed")
    assert error.value.code == "SLOT_TAKEN"
    first.refresh_from_db()
    assert (first.starts_at, first.notes, first.status) == (upcoming(clinic=clinic), "before", "scheduled")


def test_booked_and_cancelled_are_announced_once_committed(clinic, patient, professional, service,
                                                           django_capture_on_commit_callbacks):
    from scheduling.signals import appointment_booked, appointment_cancelled

    heard = []

    def listen(sender, appointment, signal, **kwargs):
        heard.append((signal, appointment.pk))

    appointment_booked.connect(listen)
    appointment_cancelled.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            appointment = book(clinic, patient, professional, service, upcoming(clinic=clinic))
        assert heard == []  # nothing is said before the commit
        for callback in callbacks:
            callback()
        with django_capture_on_commit_callbacks(execute=True):
            services.appointment_cancel(appointment=appointment)
    finally:
        appointment_booked.disconnect(listen)
        appointment_cancelled.disconnect(listen)
    assert heard == [(appointment_booked, appointment.pk), (appointment_cancelled, appointment.pk)]


def test_closures_of_another_clinic_do_not_block_this_clinic(clinic, other_clinic, patient, professional, service):
    starts = upcoming(clinic=clinic)
    AvailabilityException.objects.create(clinic=other_clinic, kind="closure", starts_at=starts - dt.timedelta(days=1),
                                         ends_at=starts + dt.timedelta(days=1), reason="Feriado")
    assert book(clinic, patient, professional, service, starts).pk


def test_another_clinic_s_time_off_cannot_be_removed(clinic, other_clinic):
    foreign = AvailabilityException.objects.create(
        clinic=other_clinic, kind="closure", starts_at=upcoming(clinic=clinic),
        ends_at=upcoming(clinic=clinic) + dt.timedelta(hours=2))
    with pytest.raises(DomainError) as error:
        services.availability_exception_remove(clinic=clinic, exception=foreign.pk)
    assert error.value.code == "NOT_FOUND"
    assert AvailabilityException.objects.filter(pk=foreign.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_creations_of_the_same_person_make_one_patient():
    import threading

    from django.db import connection

    from clinics.tests.factories import ClinicFactory

    clinic = ClinicFactory()
    barrier = threading.Barrier(10)
    found, unexpected = [], []

    def attempt(index):
        try:
            barrier.wait()
            patient, _created = services.patient_find_or_create(
                clinic=clinic, name="Maria da Silva" if index % 2 else "MARIA  DA SÍLVA", phone="912 345 678")
            found.append(patient.pk)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            unexpected.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(index,)) for index in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not unexpected and len(found) == 10
    assert len(set(found)) == 1
    assert Patient.objects.filter(clinic=clinic).count() == 1


def test_booking_with_anyone_free_checks_once_and_writes_without_savepoints(clinic, django_assert_max_num_queries):
    """The booking's transaction (a savepoint here, BEGIN/COMMIT in production), one availability check (not the
    professionals, hours, exceptions, appointments and professionals again), the new patient's INSERT, the
    appointment's, one INSERT for both audit rows: no savepoint of their own."""
    service = ServiceFactory(clinic=clinic, duration_minutes=30)
    hours = [(d, "00:00", "23:45") for d in range(7)]
    first = ProfessionalFactory(clinic=clinic, services=[service], hours=hours, name="A")
    ProfessionalFactory(clinic=clinic, services=[service], hours=hours, name="B")
    starts = upcoming(clinic=clinic)
    with django_assert_max_num_queries(6):
        appointment = _book_new_patient(clinic, None, service, starts, source="phone_agent")
    assert appointment.professional == first
    assert Appointment.objects.get().patient.name == "Rui Costa"


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_of_one_time_fill_each_professional_once_and_leave_no_patient_of_the_refused():
    """Six new callers want the same time at once and two professionals are free: two bookings, four SLOT_TAKEN,
    and only the two booked callers exist as patients (a refusal at the check or at the database alike)."""
    import threading

    from django.db import connection

    from clinics.tests.factories import ClinicFactory

    clinic = ClinicFactory()
    service = ServiceFactory(clinic=clinic, duration_minutes=30)
    hours = [(d, "00:00", "23:45") for d in range(7)]
    professionals = {ProfessionalFactory(clinic=clinic, services=[service], hours=hours).pk for _ in range(2)}
    starts = upcoming(clinic=clinic)
    barrier = threading.Barrier(6)
    booked, refused, unexpected = [], [], []

    def attempt(index):
        try:
            barrier.wait()
            appointment = services.appointment_book(
                clinic=clinic, service=service, starts_at=starts, patient_name=f"Caller {index}",
                patient_phone=f"+35191600011{index}", source="phone_agent")
            booked.append(appointment.professional_id)
        except DomainError as error:
            refused.append(error.code)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            unexpected.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not unexpected
    assert set(booked) == professionals and len(booked) == 2
    assert refused == ["SLOT_TAKEN"] * 4
    assert Patient.objects.filter(clinic=clinic).count() == 2


def test_finding_an_existing_patient_writes_nothing(clinic):
    from clinics.models import AuditEvent

    first, _created = services.patient_find_or_create(clinic=clinic, name="Maria Silva", phone="912 345 678",
                                                      email="maria@example.test")
    events = AuditEvent.objects.count()
    again, created = services.patient_find_or_create(clinic=clinic, name="Maria Silva", phone="912345678",
                                                     email="other@example.test")
    assert (again.pk, created) == (first.pk, False)
    assert AuditEvent.objects.count() == events
    assert Patient.objects.get(pk=first.pk).email == "maria@example.test"
    assert Patient.objects.filter(clinic=clinic).count() == 1


# --- resizing (the agenda's handle): the end changes, the start stays ------------------------------------

def test_resize_to_a_longer_end_keeps_the_start_and_occupies_the_new_range(clinic, patient, professional, service):
    service.buffer_after_minutes = 5
    service.save()
    appointment = book(clinic, patient, professional, service, upcoming(clinic=clinic))
    later = appointment.starts_at + dt.timedelta(minutes=75)
    services.appointment_resize(appointment=appointment, ends_at=later)
    appointment.refresh_from_db()
    assert appointment.starts_at == upcoming(clinic=clinic) and appointment.ends_at == later
    assert appointment.occupied.upper == later + dt.timedelta(minutes=5)
    # The time it took is taken: a booking inside the longer part is refused.
    with pytest.raises(DomainError) as error:
        book(clinic, patient, professional, service, upcoming(hour=11, clinic=clinic))
    assert error.value.code == "SLOT_TAKEN"
    resized = AuditEvent.objects.get(clinic=clinic, action="appointment.resize", object_id=str(appointment.pk))
    assert ({key: dt.datetime.fromisoformat(resized.extra[key]) for key in ("from", "to")}
            == {"from": upcoming(minute=30, clinic=clinic), "to": later})


def test_resize_over_the_next_appointment_is_slot_taken_and_changes_nothing(clinic, patient, professional,
                                                                            service):
    appointment = book(clinic, patient, professional, service, upcoming(clinic=clinic))
    book(clinic, patient, professional, service, upcoming(hour=11, clinic=clinic))
    with pytest.raises(DomainError) as error:
        services.appointment_resize(appointment=appointment, ends_at=upcoming(hour=11, minute=15, clinic=clinic))
    assert error.value.code == "SLOT_TAKEN"
    assert Appointment.objects.get(pk=appointment.pk).ends_at == upcoming(minute=30, clinic=clinic)
    # Up to the next one's start is free.
    services.appointment_resize(appointment=appointment, ends_at=upcoming(hour=11, clinic=clinic))
    assert Appointment.objects.get(pk=appointment.pk).ends_at == upcoming(hour=11, clinic=clinic)


def test_resize_past_working_hours_is_refused(clinic, patient, service):
    professional = ProfessionalFactory(clinic=clinic, services=[service],
                                       hours=[(d, "09:00", "12:00") for d in range(7)])
    appointment = book(clinic, patient, professional, service, upcoming(hour=11, clinic=clinic))
    with pytest.raises(DomainError) as error:
        services.appointment_resize(appointment=appointment, ends_at=upcoming(hour=12, minute=15, clinic=clinic))
    assert error.value.code == "OUTSIDE_WORKING_HOURS"
    assert Appointment.objects.get(pk=appointment.pk).ends_at == upcoming(hour=11, minute=30, clinic=clinic)
    services.appointment_resize(appointment=appointment, ends_at=upcoming(hour=12, clinic=clinic))
    assert Appointment.objects.get(pk=appointment.pk).ends_at == upcoming(hour=12, clinic=clinic)


def test_resize_shorter_than_one_step_is_refused_and_one_step_is_not(clinic, patient, professional, service):
    clinic.booking_rules = {**(clinic.booking_rules or {}), "slot_step_minutes": 20}
    clinic.save()
    appointment = book(clinic, patient, professional, service, upcoming(clinic=clinic))
    for too_short in (dt.timedelta(minutes=19), dt.timedelta(0), dt.timedelta(minutes=-20)):
        with pytest.raises(DomainError) as error:
            services.appointment_resize(appointment=appointment, ends_at=appointment.starts_at + too_short)
        assert error.value.code == "VALIDATION_ERROR" and "endsAt" in error.value.details
    services.appointment_resize(appointment=appointment, ends_at=appointment.starts_at + dt.timedelta(minutes=20))
    assert Appointment.objects.get(pk=appointment.pk).ends_at == upcoming(minute=20, clinic=clinic)


def test_resize_of_a_cancelled_or_started_appointment_is_refused(clinic, patient, professional, service):
    cancelled = book(clinic, patient, professional, service, upcoming(clinic=clinic))
    services.appointment_cancel(appointment=cancelled)
    with pytest.raises(DomainError) as error:
        services.appointment_resize(appointment=cancelled, ends_at=upcoming(hour=11, clinic=clinic))
    assert error.value.code == "APPOINTMENT_NOT_ACTIVE"
    started = AppointmentFactory(professional=professional, service=service,
                                 starts_at=upcoming(days=-1, clinic=clinic))
    with pytest.raises(DomainError) as error:
        services.appointment_resize(appointment=started, ends_at=started.ends_at + dt.timedelta(minutes=30))
    assert error.value.code == "IN_THE_PAST"


def test_a_moved_appointment_keeps_its_resized_length(clinic, patient, professional, service):
    appointment = book(clinic, patient, professional, service, upcoming(clinic=clinic))
    services.appointment_resize(appointment=appointment, ends_at=upcoming(hour=11, clinic=clinic))
    moved = services.appointment_reschedule(appointment=appointment, starts_at=upcoming(hour=15, clinic=clinic))
    assert (moved.starts_at, moved.ends_at) == (upcoming(hour=15, clinic=clinic), upcoming(hour=16, clinic=clinic))


def test_database_refuses_a_longer_range_over_the_next_appointment(clinic, professional, service):
    """The exclusion constraint is on the occupied range, so it holds for a lengthened appointment written
    without the service too."""
    first = AppointmentFactory(professional=professional, service=service, starts_at=upcoming(clinic=clinic))
    AppointmentFactory(professional=professional, service=service, starts_at=upcoming(hour=11, clinic=clinic))
    longer = upcoming(hour=11, minute=15, clinic=clinic)
    with pytest.raises(IntegrityError, match="appointment_no_overlap"):
        Appointment.objects.filter(pk=first.pk).update(ends_at=longer, occupied=(first.starts_at, longer))
