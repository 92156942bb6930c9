"""Tenancy of the Google Calendar integration: another clinic's connection, event links and calendar events (with
the same event ids, on the same calendar id "primary") are never read, changed, counted or synced from this
clinic's console pages, services, backend calls or save hooks. Each test kills one tenancy mutant of
scripts/mutate_tenancy.py (docs/testing.md, "Tenancy survivors of the coverage-guided run")."""
import pytest
from celery.signals import task_prerun
from django.utils import timezone

from clinics.models import Membership
from clinics.tests.factories import MembershipFactory, sign_in_verified
from scheduling.calendar_sync import services, tasks
from scheduling.calendar_sync.backends import CALENDAR, EventGone
from scheduling.calendar_sync.models import CalendarConnection, CalendarEventLink, LocalCalendarEvent
from scheduling.calendar_sync.services import event_body, event_id_for
from scheduling.tests.calendar_support import calendar_settings, connect  # noqa: F401
from scheduling.tests.conftest import upcoming
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client, clinic):
    clinic.locale = "en"
    clinic.save(update_fields=["locale"])
    return sign_in_verified(client, MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN).user)


def _appointment(clinic, hour=10, name="Ana Própria"):
    return AppointmentFactory(professional__clinic=clinic, patient__name=name,
                              starts_at=upcoming(clinic=clinic, hour=hour))


def _synced(clinic, hours=(10,), name="Zacarias Alheio"):
    """`clinic` connected, with one appointment per hour mirrored into its (offline) calendar."""
    connect(clinic)
    appointments = [_appointment(clinic, hour, name) for hour in hours]
    for appointment in appointments:
        assert tasks.sync_appointment.delay(str(appointment.pk)).get() == "created"
    return appointments


@pytest.fixture
def syncs_run():
    """The appointment ids the calendar sync task ran for (Celery's task_prerun signal, eager tasks included)."""
    ran = []

    def record(sender=None, args=None, **_kwargs):
        if sender is not None and sender.name == tasks.sync_appointment.name:
            ran.append(args[0])

    task_prerun.connect(record, weak=False)
    yield ran
    task_prerun.disconnect(record)


# --- the offline backend: events are keyed by clinic, calendar id and event id ----------------------------------


def _foreign_event(other_clinic, event_id):
    return LocalCalendarEvent.objects.create(
        clinic=other_clinic, calendar_id="primary", event_id=event_id, summary="Evento Alheio",
        starts_at=timezone.now(), ends_at=timezone.now())


def test_an_event_id_another_clinic_holds_does_not_stop_this_clinic_from_creating_its_own(clinic, other_clinic):
    connection = connect(clinic)
    appointment = _appointment(clinic)
    foreign = _foreign_event(other_clinic, event_id_for(appointment))

    event = CALENDAR.backend().create_event(connection, event_body(appointment))

    assert event["id"] == event_id_for(appointment)
    assert LocalCalendarEvent.objects.get(clinic=clinic).event_id == event_id_for(appointment)
    assert LocalCalendarEvent.objects.get(pk=foreign.pk).summary == "Evento Alheio"


def test_updating_an_event_id_only_another_clinic_holds_is_gone_and_changes_nothing(clinic, other_clinic):
    connection = connect(clinic)
    appointment = _appointment(clinic)
    foreign = _foreign_event(other_clinic, "fdshared")

    with pytest.raises(EventGone):
        CALENDAR.backend().update_event(connection, "fdshared", event_body(appointment))

    assert LocalCalendarEvent.objects.get(pk=foreign.pk).summary == "Evento Alheio"
    assert not LocalCalendarEvent.objects.filter(clinic=clinic).exists()


def test_deleting_an_event_id_only_another_clinic_holds_is_gone_and_cancels_nothing(clinic, other_clinic):
    connection = connect(clinic)
    foreign = _foreign_event(other_clinic, "fdshared")

    with pytest.raises(EventGone):
        CALENDAR.backend().delete_event(connection, "fdshared")

    assert LocalCalendarEvent.objects.get(pk=foreign.pk).status == LocalCalendarEvent.Status.CONFIRMED


# --- services: connect, disconnect, backfill ---------------------------------------------------------------------


def test_connecting_this_clinic_keeps_another_clinics_event_links(admin, clinic, other_clinic):
    foreign = _synced(other_clinic)

    response = admin.post("/integrations/google/connect/", follow=True)

    assert response.status_code == 200
    assert CalendarConnection.objects.get(clinic=clinic).is_active
    assert CalendarEventLink.objects.get(appointment=foreign[0]).event_id == event_id_for(foreign[0])


def test_disconnecting_this_clinic_keeps_another_clinics_connection_and_event_links(admin, clinic, other_clinic):
    _synced(clinic, name="Ana Própria")
    foreign = _synced(other_clinic)

    admin.post("/integrations/google/disconnect/")

    assert not CalendarConnection.objects.filter(clinic=clinic).exists()
    assert not CalendarEventLink.objects.filter(clinic=clinic).exists()
    assert CalendarConnection.objects.filter(clinic=other_clinic).exists()
    assert CalendarEventLink.objects.get(appointment=foreign[0]).event_id == event_id_for(foreign[0])


def test_the_backfill_after_connecting_writes_only_this_clinics_appointments(clinic, other_clinic):
    own = _appointment(clinic)
    foreign = _appointment(other_clinic, name="Zacarias Alheio")
    connect(clinic)
    connect(other_clinic)  # connected too: a leak would even find a calendar to write to

    assert list(services.upcoming_appointments(clinic.pk)) == [own]
    assert tasks.sync_upcoming(str(clinic.pk)) == 1

    assert CalendarEventLink.objects.filter(appointment=own).exists()
    assert not CalendarEventLink.objects.filter(appointment=foreign).exists()
    assert not LocalCalendarEvent.objects.filter(clinic=other_clinic).exists()


# --- save hooks: another clinic's active connection queues nothing here ------------------------------------------


def test_a_booking_of_an_unconnected_clinic_queues_no_sync_when_another_clinic_is_connected(
        clinic, other_clinic, syncs_run, django_capture_on_commit_callbacks):
    connect(other_clinic)

    with django_capture_on_commit_callbacks(execute=True):
        appointment = _appointment(clinic)

    assert syncs_run == []
    assert not CalendarEventLink.objects.filter(appointment=appointment).exists()


def test_renaming_a_patient_queues_no_sync_while_this_clinic_must_reconnect_whatever_another_clinic_has(
        clinic, other_clinic, syncs_run, django_capture_on_commit_callbacks):
    (appointment,) = _synced(clinic, name="Ana Própria")
    CalendarConnection.objects.filter(clinic=clinic).update(status=CalendarConnection.Status.NEEDS_RECONNECT)
    connect(other_clinic)
    patient = appointment.patient
    patient.name = "Ana Renomeada"
    syncs_run.clear()  # the syncs that wrote the events above

    with django_capture_on_commit_callbacks(execute=True):
        patient.save()

    assert syncs_run == []


def test_renaming_a_patient_of_a_connected_clinic_rewrites_its_events(
        clinic, syncs_run, django_capture_on_commit_callbacks):
    """The positive side of the test above: the hook does queue a sync when this clinic is connected."""
    (appointment,) = _synced(clinic, name="Ana Própria")
    patient = appointment.patient
    patient.name = "Ana Renomeada"
    syncs_run.clear()  # the syncs that wrote the events above

    with django_capture_on_commit_callbacks(execute=True):
        patient.save()

    assert syncs_run == [str(appointment.pk)]
    assert "Ana Renomeada" in LocalCalendarEvent.objects.get(clinic=clinic).summary


# --- the Integrations page -----------------------------------------------------------------------------------------


def test_the_integrations_page_counts_and_lists_only_this_clinics_events(admin, clinic, other_clinic):
    _synced(clinic, name="Ana Própria")
    _synced(other_clinic, hours=(10, 11), name="Zacarias Alheio")

    page = admin.get("/integrations/").content.decode()

    assert "1 appointment is in the calendar." in page
    assert "Ana Própria" in page
    assert "Zacarias Alheio" not in page
