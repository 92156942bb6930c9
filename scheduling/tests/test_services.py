"""Domain rules of booking, enforced by scheduling.services and the database."""
import datetime as dt

import pytest
from django.db import IntegrityError

from clinics.phones import InvalidPhoneNumber

from config.surfaces.errors import ApiError
from scheduling import services
from scheduling.models import Appointment, Patient, WorkingHours
from scheduling.tests.conftest import daytime_zone, upcoming
from scheduling.tests.factories import AppointmentFactory, ProfessionalFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def book(clinic, patient, professional, service, starts_at, **kwargs):
    return services.book(clinic=clinic, patient=patient, professional=professional, service=service,
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
    with pytest.raises(ApiError) as error:
        book(clinic, patient, professional, service, starts + dt.timedelta(minutes=15))
    assert (error.value.status_code, error.value.code) == (409, "SLOT_TAKEN")
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
    with pytest.raises(ApiError) as error:
        book(clinic, patient, split, service, upcoming(hour=12, minute=30, clinic=clinic))
    assert (error.value.status_code, error.value.code) == (422, "OUTSIDE_WORKING_HOURS")
    assert book(clinic, patient, split, service, upcoming(hour=12, clinic=clinic)).pk


def test_online_booking_inside_minimum_notice_is_refused_but_staff_may(clinic, patient, professional, service):
    clinic.timezone = daytime_zone()
    clinic.save()
    soon = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0) + dt.timedelta(minutes=30)
    with pytest.raises(ApiError) as error:
        book(clinic, patient, professional, service, soon, source="online")
    assert error.value.code == "TOO_SOON"
    assert book(clinic, patient, professional, service, soon, source="staff").source == "staff"


def test_booking_beyond_horizon_is_refused(clinic, patient, professional, service):
    with pytest.raises(ApiError) as error:
        book(clinic, patient, professional, service, upcoming(days=91, clinic=clinic), source="phone_agent")
    assert (error.value.status_code, error.value.code) == (422, "TOO_FAR_AHEAD")


def test_service_the_professional_does_not_offer_is_refused(clinic, patient, professional):
    other = ServiceFactory(clinic=clinic)
    with pytest.raises(ApiError) as error:
        book(clinic, patient, professional, other, upcoming(clinic=clinic))
    assert error.value.code == "SERVICE_NOT_OFFERED"


def test_cancel_frees_the_time_and_keeps_the_row(clinic, patient, professional, service):
    starts = upcoming(clinic=clinic)
    first = book(clinic, patient, professional, service, starts)
    services.cancel(first)
    second = book(clinic, patient, professional, service, starts)
    assert Appointment.objects.filter(pk=first.pk, status="cancelled").exists()
    assert second.status == "scheduled"
    with pytest.raises(ApiError) as error:
        services.set_status(first, "confirmed")
    assert error.value.code == "SLOT_TAKEN"


def test_reschedule_moves_the_appointment_and_refuses_a_taken_time(clinic, patient, professional, service):
    first = book(clinic, patient, professional, service, upcoming(clinic=clinic))
    second = book(clinic, patient, professional, service, upcoming(hour=11, clinic=clinic))
    services.reschedule(first, starts_at=upcoming(hour=15, clinic=clinic))
    first.refresh_from_db()
    assert first.starts_at == upcoming(hour=15, clinic=clinic)
    with pytest.raises(ApiError) as error:
        services.reschedule(first, starts_at=second.starts_at)
    assert error.value.code == "SLOT_TAKEN"


def test_new_professional_works_the_clinic_opening_hours(clinic):
    professional = services.create_professional(clinic, name="Dra. Ana")
    rows = list(WorkingHours.objects.filter(professional=professional).values_list("weekday", "start", "end"))
    assert rows == [(day, dt.time(9), dt.time(18)) for day in range(5)]


def test_patient_is_found_again_by_phone_in_any_format(clinic):
    first = services.find_or_create_patient(clinic, name="Maria Silva", phone="912 345 678")
    again = services.find_or_create_patient(clinic, name="Maria Silva", phone="+351912345678",
                                            email="maria@example.test")
    assert first.pk == again.pk
    stored = Patient.objects.get(pk=first.pk)
    assert (stored.phone, stored.email) == ("+351912345678", "maria@example.test")


def test_invalid_phone_is_refused(clinic):
    with pytest.raises(InvalidPhoneNumber) as error:
        services.find_or_create_patient(clinic, name="X", phone="12")
    assert error.value.code == "INVALID_PHONE_NUMBER"
    assert error.value.details == {"phone": [error.value.message]}


def test_removing_a_service_with_future_appointments_is_refused_and_with_past_ones_archives(
        clinic, patient, professional, service):
    appointment = book(clinic, patient, professional, service, upcoming(clinic=clinic))
    with pytest.raises(ApiError) as error:
        services.remove_service(service)
    assert (error.value.status_code, error.value.code) == (409, "HAS_FUTURE_APPOINTMENTS")
    services.cancel(appointment)
    assert services.remove_service(service) == "archived"
    service.refresh_from_db()
    assert service.active is False
    assert services.remove_service(ServiceFactory(clinic=clinic)) == "deleted"
