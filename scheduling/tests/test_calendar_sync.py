"""Appointments mirrored into the connected calendar: the Google backend against a fake Calendar API v3 (with the
401 → refresh → retry dance), the offline backend, and the idempotent sync task hooked to appointment saves."""
from datetime import timedelta

import pytest
from django.utils import timezone
from werkzeug import Response

from scheduling import services as scheduling_services
from scheduling.calendar_sync import tasks
from scheduling.calendar_sync.backends import CALENDAR, EventGone
from scheduling.calendar_sync.models import CalendarConnection, CalendarEventLink, LocalCalendarEvent
from scheduling.calendar_sync.services import event_body, event_id_for
from scheduling.tests.calendar_support import (CLIENT_ID, CLIENT_SECRET, calendar_settings,  # noqa: F401
                                               connect, fake_google, form_of, json_of)
from scheduling.tests.conftest import upcoming
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db

EVENTS = "/calendar/v3/calendars/primary/events"


@pytest.fixture
def appointment(clinic, professional, service, patient):
    return scheduling_services.appointment_book(clinic=clinic, patient=patient, professional=professional,
                                                service=service,
                                    starts_at=upcoming(clinic=clinic))


START = timezone.now().replace(microsecond=0) + timedelta(days=1)


def _body(**overrides):
    start = START
    return {"id": "fd0123456789abcdef", "summary": "Consulta · Maria", "status": "confirmed",
            "start": {"dateTime": start.isoformat(), "timeZone": "Europe/Lisbon"},
            "end": {"dateTime": (start + timedelta(minutes=30)).isoformat(), "timeZone": "Europe/Lisbon"},
            **overrides}


# --- the google backend, request by request -------------------------------------------------------------------


def test_create_event_posts_the_body_with_the_access_token(clinic, fake_google):
    connection = connect(clinic, access_token="ya29.current")
    fake_google.expect_oneshot_request(EVENTS, method="POST").respond_with_json({"id": "fd0123456789abcdef"})

    event = CALENDAR.backend().create_event(connection, _body())

    assert event["id"] == "fd0123456789abcdef"
    (request, _answer), = fake_google.log
    assert request.headers["Authorization"] == "Bearer ya29.current"
    assert json_of(request) == _body()


def test_update_patches_and_delete_deletes_the_event(clinic, fake_google):
    connection = connect(clinic, calendar_id="agenda@group.calendar.google.com")
    events = "/calendar/v3/calendars/agenda@group.calendar.google.com/events"  # the fake matches decoded paths
    fake_google.expect_oneshot_request(f"{events}/fdabc", method="PATCH").respond_with_json({"id": "fdabc"})
    fake_google.expect_oneshot_request(f"{events}/fdabc", method="DELETE").respond_with_data("", status=204)
    backend = CALENDAR.backend()

    backend.update_event(connection, "fdabc", _body(summary="Moved"))
    backend.delete_event(connection, "fdabc")

    (patch, _a), (delete, _b) = fake_google.log
    assert patch.method == "PATCH" and json_of(patch)["summary"] == "Moved"
    assert delete.method == "DELETE" and delete.headers["Authorization"].startswith("Bearer ")


def test_a_401_refreshes_the_token_once_and_retries(clinic, fake_google):
    connection = connect(clinic, access_token="ya29.revoked", refresh_token="1//keep")
    fake_google.expect_ordered_request(EVENTS, method="POST").respond_with_json(
        {"error": {"code": 401, "message": "Invalid Credentials"}}, status=401)
    fake_google.expect_ordered_request("/token", method="POST").respond_with_json(
        {"access_token": "ya29.fresh", "expires_in": 3599, "token_type": "Bearer"})
    fake_google.expect_ordered_request(EVENTS, method="POST").respond_with_json({"id": "fd0123456789abcdef"})

    CALENDAR.backend().create_event(connection, _body())

    first, refresh, retry = (request for request, _answer in fake_google.log)
    assert first.headers["Authorization"] == "Bearer ya29.revoked"
    assert form_of(refresh) == {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                "refresh_token": "1//keep", "grant_type": "refresh_token"}
    assert retry.headers["Authorization"] == "Bearer ya29.fresh"
    stored = CalendarConnection.objects.get(pk=connection.pk)
    assert stored.access_token == "ya29.fresh" and stored.refresh_token == "1//keep"


def test_an_expired_access_token_is_refreshed_before_the_call(clinic, fake_google):
    connection = connect(clinic, access_token="ya29.old", expires_in=-10)
    fake_google.expect_ordered_request("/token", method="POST").respond_with_json(
        {"access_token": "ya29.new", "expires_in": 3599, "refresh_token": "1//rotated"})
    fake_google.expect_ordered_request(EVENTS, method="POST").respond_with_json({"id": "fd1"})

    CALENDAR.backend().create_event(connection, _body())

    assert fake_google.log[1][0].headers["Authorization"] == "Bearer ya29.new"
    assert CalendarConnection.objects.get(pk=connection.pk).refresh_token == "1//rotated"


def test_an_event_deleted_in_google_is_reported_gone(clinic, fake_google):
    connection = connect(clinic)
    fake_google.expect_oneshot_request(f"{EVENTS}/fdx", method="DELETE").respond_with_json(
        {"error": {"code": 410, "message": "Resource has been deleted"}}, status=410)

    with pytest.raises(EventGone):
        CALENDAR.backend().delete_event(connection, "fdx")


# --- the sync task ---------------------------------------------------------------------------------------------


def test_sync_creates_the_event_once_however_often_it_runs(clinic, appointment, fake_google):
    connect(clinic)
    fake_google.expect_oneshot_request(EVENTS, method="POST").respond_with_json({"id": event_id_for(appointment)})

    assert tasks.sync_appointment.delay(str(appointment.pk)).get() == "created"
    assert tasks.sync_appointment.delay(str(appointment.pk)).get() == "unchanged"

    assert len(fake_google.log) == 1
    sent = json_of(fake_google.log[0][0])
    assert sent == event_body(appointment)
    assert sent["start"] == {"dateTime": appointment.starts_at.isoformat(), "timeZone": "Europe/Lisbon"}
    assert sent["extendedProperties"]["private"]["frontdeskAppointmentId"] == str(appointment.pk)
    link = CalendarEventLink.objects.get(appointment=appointment)
    assert link.event_id == event_id_for(appointment) and link.synced_at


def test_a_create_whose_answer_was_lost_becomes_an_update_not_a_second_event(clinic, appointment, fake_google):
    connect(clinic)
    event_id = event_id_for(appointment)
    fake_google.expect_ordered_request(EVENTS, method="POST").respond_with_json(
        {"error": {"code": 409, "message": "The requested identifier already exists."}}, status=409)
    fake_google.expect_ordered_request(f"{EVENTS}/{event_id}", method="PATCH").respond_with_json({"id": event_id})

    assert tasks.sync_appointment.delay(str(appointment.pk)).get() == "created"

    assert CalendarEventLink.objects.get(appointment=appointment).event_id == event_id


def test_reschedule_updates_and_cancel_deletes_through_the_post_save_hook(
        clinic, appointment, fake_google, django_capture_on_commit_callbacks):
    connect(clinic)
    event_id = event_id_for(appointment)
    fake_google.expect_ordered_request(EVENTS, method="POST").respond_with_json({"id": event_id})
    fake_google.expect_ordered_request(f"{EVENTS}/{event_id}", method="PATCH").respond_with_json({"id": event_id})
    fake_google.expect_ordered_request(f"{EVENTS}/{event_id}", method="DELETE").respond_with_data("", status=204)
    new_start = upcoming(days=3, hour=15, clinic=clinic)

    with django_capture_on_commit_callbacks(execute=True):
        appointment.save(update_fields=["notes"])  # as after book(): the first save creates the event
    with django_capture_on_commit_callbacks(execute=True):
        scheduling_services.appointment_reschedule(appointment=appointment, starts_at=new_start)
    with django_capture_on_commit_callbacks(execute=True):
        scheduling_services.appointment_cancel(appointment=appointment)

    methods = [request.method for request, _answer in fake_google.log]
    assert methods == ["POST", "PATCH", "DELETE"]
    assert json_of(fake_google.log[1][0])["start"]["dateTime"] == new_start.isoformat()
    assert CalendarEventLink.objects.get(appointment=appointment).event_id == ""


def test_a_status_change_updates_the_event(clinic, appointment, fake_google):
    connect(clinic)
    event_id = event_id_for(appointment)
    fake_google.expect_ordered_request(EVENTS, method="POST").respond_with_json({"id": event_id})
    fake_google.expect_ordered_request(f"{EVENTS}/{event_id}", method="PATCH").respond_with_json({"id": event_id})
    tasks.sync_appointment.delay(str(appointment.pk))

    scheduling_services.appointment_update(appointment=appointment, status="confirmed")
    assert tasks.sync_appointment.delay(str(appointment.pk)).get() == "updated"

    assert json_of(fake_google.log[1][0])["extendedProperties"]["private"]["frontdeskStatus"] == "confirmed"


def test_booking_for_an_unconnected_clinic_sends_nothing(clinic, professional, service, patient, fake_google,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        scheduling_services.appointment_book(clinic=clinic, patient=patient, professional=professional,
                                                service=service,
                                 starts_at=upcoming(clinic=clinic))

    assert fake_google.log == []
    assert not CalendarEventLink.objects.exists()


def test_another_clinics_connection_never_receives_this_clinics_appointments(
        clinic, other_clinic, appointment, fake_google, django_capture_on_commit_callbacks):
    connect(other_clinic)

    with django_capture_on_commit_callbacks(execute=True):
        scheduling_services.appointment_update(appointment=appointment, status="confirmed")
    assert tasks.sync_appointment.delay(str(appointment.pk)).get() == "not_connected"

    assert fake_google.log == []


def test_a_refresh_token_google_no_longer_honours_asks_for_a_reconnect(clinic, appointment, fake_google):
    connection = connect(clinic, expires_in=-10)
    fake_google.expect_oneshot_request("/token", method="POST").respond_with_json(
        {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}, status=400)

    assert tasks.sync_appointment.delay(str(appointment.pk)).get() == "needs_reconnect"

    assert CalendarConnection.objects.get(pk=connection.pk).status == CalendarConnection.Status.NEEDS_RECONNECT
    assert tasks.sync_appointment.delay(str(appointment.pk)).get() == "not_connected"


def test_a_calendar_api_refusal_is_recorded_on_the_link(clinic, appointment, fake_google):
    connect(clinic)
    fake_google.expect_oneshot_request(EVENTS, method="POST").respond_with_response(
        Response('{"error": {"code": 403}}', status=403, content_type="application/json"))

    assert tasks.sync_appointment.delay(str(appointment.pk)).get() == "failed"

    assert "403" in CalendarEventLink.objects.get(appointment=appointment).last_error


# --- the offline backend ---------------------------------------------------------------------------------------


def test_the_local_backend_keeps_the_events_that_would_be_in_google(clinic, appointment):
    connect(clinic)

    tasks.sync_appointment.delay(str(appointment.pk))
    tasks.sync_appointment.delay(str(appointment.pk))

    event = LocalCalendarEvent.objects.get()
    assert event.event_id == event_id_for(appointment) and event.clinic == clinic
    assert event.starts_at == appointment.starts_at and event.status == "confirmed"

    scheduling_services.appointment_cancel(appointment=appointment)
    assert tasks.sync_appointment.delay(str(appointment.pk)).get() == "deleted"
    assert LocalCalendarEvent.objects.get().status == "cancelled"

    scheduling_services.appointment_update(appointment=appointment, status="scheduled")
    assert tasks.sync_appointment.delay(str(appointment.pk)).get() == "created"
    assert LocalCalendarEvent.objects.get().status == "confirmed"


def test_sync_of_a_missing_appointment_is_harmless(clinic):
    connect(clinic)
    appointment = AppointmentFactory(professional__clinic=clinic, starts_at=upcoming(clinic=clinic))
    appointment_id = str(appointment.pk)
    appointment.delete()

    assert tasks.sync_appointment.delay(appointment_id).get() == "missing"


@pytest.fixture
def worker_talks_to_fake_google(monkeypatch, httpserver):
    """Environment of the worker process started after it: the google backend pointed at the fake."""
    monkeypatch.setenv("CALENDAR_BACKEND", "google")
    monkeypatch.setenv("GOOGLE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("GOOGLE_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("GOOGLE_TOKEN_URL", httpserver.url_for("/token"))
    monkeypatch.setenv("GOOGLE_CALENDAR_API_BASE", httpserver.url_for("/calendar/v3"))
    return httpserver


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_creates_the_event_once(clinic, worker_talks_to_fake_google, celery_worker_queue):
    from conftest import wait_for

    fake = worker_talks_to_fake_google
    # Booked before connecting, so the post-save hook queues nothing on the default queue.
    appointment = AppointmentFactory(professional__clinic=clinic, starts_at=upcoming(clinic=clinic))
    connect(clinic)
    fake.expect_request(EVENTS, method="POST").respond_with_json({"id": event_id_for(appointment)})

    for _attempt in range(2):
        tasks.sync_appointment.apply_async(args=[str(appointment.pk)], queue=celery_worker_queue).get(timeout=60)

    assert wait_for(lambda: CalendarEventLink.objects.filter(appointment=appointment).exclude(event_id="").exists())
    assert len(fake.log) == 1


def test_erasing_a_patient_removes_their_name_from_the_calendar(clinic, appointment,
                                                               django_capture_on_commit_callbacks):
    from scheduling.patients import erase_patient

    connect(clinic)
    tasks.sync_appointment.delay(str(appointment.pk))
    name = appointment.patient.name
    assert name in LocalCalendarEvent.objects.get().summary

    with django_capture_on_commit_callbacks(execute=True):
        erase_patient(appointment.patient)

    assert name not in LocalCalendarEvent.objects.get().summary


def test_a_calendar_outage_schedules_a_retry_that_later_creates_the_event(clinic, appointment, fake_google):
    from celery.exceptions import Retry

    connect(clinic)
    fake_google.expect_ordered_request(EVENTS, method="POST").respond_with_response(
        Response('{"error": {"code": 503}}', status=503, content_type="application/json"))
    fake_google.expect_ordered_request(EVENTS, method="POST").respond_with_json({"id": event_id_for(appointment)})

    with pytest.raises(Retry):
        tasks.sync_appointment.delay(str(appointment.pk))
    assert "503" in CalendarEventLink.objects.get(appointment=appointment).last_error

    assert tasks.sync_appointment.delay(str(appointment.pk)).get() == "created"
    link = CalendarEventLink.objects.get(appointment=appointment)
    assert link.event_id == event_id_for(appointment) and link.last_error == ""
