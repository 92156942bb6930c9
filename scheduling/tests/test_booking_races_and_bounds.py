"""Booking at the exact bounds of its time rules (with a fixed `now` given to the service), and bookings that lose
a race to another transaction at the database (the exclusion constraint, a deadlock): `appointment_book` answers
SLOT_TAKEN only when nobody else is free, and otherwise books again (docs/api/clinic-v1.md, Appointments)."""
import datetime as dt
import threading
import time

import pytest
from django.db import connection, transaction

from clinics.errors import DomainError
from scheduling import services
from scheduling.models import Appointment, AvailabilityException, Patient
from scheduling.tests.factories import AppointmentFactory, PatientFactory, ProfessionalFactory, ServiceFactory

# A Wednesday morning, far from midnight in the clinic's zone (Europe/Lisbon: UTC+0 in March).
NOW = dt.datetime(2031, 3, 12, 10, 0, tzinfo=dt.UTC)
EVERY_DAY = [(day, "00:00", "23:45") for day in range(7)]


def _bookable(clinic, *names):
    service = ServiceFactory(clinic=clinic, duration_minutes=30)
    return service, [ProfessionalFactory(clinic=clinic, services=[service], hours=EVERY_DAY, name=name)
                     for name in names]


def _refusal(call):
    with pytest.raises(DomainError) as error:
        call()
    return error.value


# --- the time rules, at their bounds ------------------------------------------------------------------------

@pytest.mark.django_db
def test_staff_may_book_exactly_now_but_not_a_minute_before(clinic):
    service, (professional,) = _bookable(clinic, "Ana")
    patient = PatientFactory(clinic=clinic)

    def book(starts_at):
        return services.appointment_book(clinic=clinic, service=service, professional=professional, patient=patient,
                                         starts_at=starts_at, now=NOW)

    assert _refusal(lambda: book(NOW - dt.timedelta(minutes=1))).code == "IN_THE_PAST"
    assert book(NOW).starts_at == NOW


@pytest.mark.django_db
def test_staff_may_book_exactly_at_the_agendas_horizon_but_not_a_minute_after(clinic):
    service, (professional,) = _bookable(clinic, "Ana")
    patient = PatientFactory(clinic=clinic)
    horizon = NOW + services.STAFF_HORIZON

    def book(starts_at):
        return services.appointment_book(clinic=clinic, service=service, professional=professional, patient=patient,
                                         starts_at=starts_at, now=NOW)

    assert _refusal(lambda: book(horizon + dt.timedelta(minutes=1))).code == "TOO_FAR_AHEAD"
    assert book(horizon).starts_at == horizon


@pytest.mark.django_db
def test_an_exception_of_no_length_is_refused_on_its_end_and_one_of_a_minute_is_kept(clinic):
    _service, (professional,) = _bookable(clinic, "Ana")

    def create(ends_at):
        return services.availability_exception_create(clinic=clinic, kind="time_off", professional=professional,
                                                      starts_at=NOW, ends_at=ends_at, reason="Formação")

    error = _refusal(lambda: create(NOW))
    assert error.code == "VALIDATION_ERROR" and "endsAt" in error.details
    assert not AvailabilityException.objects.exists()
    assert create(NOW + dt.timedelta(minutes=1)).reason == "Formação"


# --- lost races -------------------------------------------------------------------------------------------

class Rival(threading.Thread):
    """Another transaction, on its own connection: `first()` runs in it, then it waits until some other backend
    waits for one of its locks, runs `then()` (if any) and commits (or rolls back). `error` is what it raised."""

    def __init__(self, first, then=None, commit=True):
        super().__init__()
        self.first, self.then, self.commit = first, then, commit
        self.ready, self.saw_a_waiter, self.error = threading.Event(), False, None

    def run(self):
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    # The test's own booking should be a deadlock's victim, never this transaction (1 s by default).
                    cursor.execute("SET LOCAL deadlock_timeout = '10s'")
                    self.first()
                    self.ready.set()
                    self.saw_a_waiter = self._wait_for_a_waiter(cursor)
                if self.then is not None:
                    self.then()
                transaction.set_rollback(not self.commit)
        except Exception as error:  # noqa: BLE001 - the test asserts on it
            self.error = error
        finally:
            self.ready.set()
            connection.close()

    @staticmethod
    def _wait_for_a_waiter(cursor, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted "
                           "AND pg_backend_pid() = ANY(pg_blocking_pids(pid)))")
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.01)
        return False


def _race(rival, book):
    """`book()` in this thread while `rival` holds its first write; returns the booking or its DomainError."""
    rival.start()
    assert rival.ready.wait(5)
    try:
        return book()
    except DomainError as error:
        return error
    finally:
        rival.join(10)


def _setup(*names):
    from clinics.tests.factories import ClinicFactory

    clinic = ClinicFactory()
    service, professionals = _bookable(clinic, *names)
    return clinic, service, professionals, PatientFactory(clinic=clinic, name="Joana Reis")


def _book_new_caller(clinic, service):
    return services.appointment_book(clinic=clinic, service=service, starts_at=NOW + dt.timedelta(days=2),
                                     patient_name="Rui Costa", patient_phone="+351916000111", now=NOW)


@pytest.mark.django_db(transaction=True)
def test_a_booking_that_loses_the_only_free_professional_at_the_database_is_slot_taken_and_leaves_no_patient():
    clinic, service, (ana,), joana = _setup("Ana")
    starts = NOW + dt.timedelta(days=2)
    rival = Rival(lambda: AppointmentFactory(professional=ana, service=service, patient=joana, starts_at=starts))
    outcome = _race(rival, lambda: _book_new_caller(clinic, service))
    assert rival.error is None and rival.saw_a_waiter  # our insert waited for the rival's, then met it
    assert isinstance(outcome, DomainError) and outcome.code == "SLOT_TAKEN"
    assert list(Appointment.objects.values_list("patient__name", flat=True)) == ["Joana Reis"]
    assert list(Patient.objects.filter(clinic=clinic)) == [joana]


@pytest.mark.django_db(transaction=True)
def test_a_booking_that_loses_one_of_two_free_professionals_at_the_database_books_the_other():
    clinic, service, (ana, bruno), joana = _setup("Ana", "Bruno")
    starts = NOW + dt.timedelta(days=2)
    rival = Rival(lambda: AppointmentFactory(professional=ana, service=service, patient=joana, starts_at=starts))
    outcome = _race(rival, lambda: _book_new_caller(clinic, service))
    assert rival.error is None and rival.saw_a_waiter
    assert isinstance(outcome, Appointment), outcome
    assert (outcome.professional_id, outcome.patient.name, outcome.starts_at) == (bruno.pk, "Rui Costa", starts)
    assert sorted(Appointment.objects.values_list("patient__name", flat=True)) == ["Joana Reis", "Rui Costa"]
    assert Patient.objects.filter(clinic=clinic).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_booking_that_loses_a_deadlock_books_again_and_gets_the_time_its_rival_gave_up():
    """The only professional free: our booking inserts the caller, then waits for the rival's appointment; the
    rival then inserts the same caller and waits for ours. PostgreSQL aborts ours (the first to wait); the rival
    rolls back, so booking again finds the time free: a deadlock is not a taken slot."""
    clinic, service, (ana,), joana = _setup("Ana")
    starts = NOW + dt.timedelta(days=2)
    rival = Rival(lambda: AppointmentFactory(professional=ana, service=service, patient=joana, starts_at=starts),
                  then=lambda: services.patient_find_or_create(clinic=clinic, name="Rui Costa",
                                                               phone="+351916000111"),
                  commit=False)
    outcome = _race(rival, lambda: _book_new_caller(clinic, service))
    assert rival.error is None and rival.saw_a_waiter  # the rival was not the victim: ours was
    assert isinstance(outcome, Appointment), outcome
    assert (outcome.professional_id, outcome.patient.name, outcome.starts_at) == (ana.pk, "Rui Costa", starts)
    assert list(Appointment.objects.values_list("patient__name", flat=True)) == ["Rui Costa"]
    assert Patient.objects.filter(clinic=clinic).count() == 2
