"""The agent's tool calls (X-Agent-Token): availability from the slot engine, booking, today's list."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from clinics.models import AuditEvent

from scheduling.models import Appointment, Patient
from scheduling.tests.factories import AppointmentFactory, PatientFactory, ProfessionalFactory, ServiceFactory
from telephony.agents import agent_for

pytestmark = pytest.mark.django_db

LISBON = ZoneInfo("Europe/Lisbon")


@pytest.fixture
def service(clinic):
    return ServiceFactory(clinic=clinic, duration_minutes=30, name="Consulta geral")


@pytest.fixture
def professional(clinic, service):
    return ProfessionalFactory(clinic=clinic, services=[service], hours=[(d, "09:00", "11:00") for d in range(7)])


def in_days(days):
    """The Lisbon date `days` from now. Its 09:00-11:00 (open every weekday here) is past the 60-minute notice
    and inside the 90-day horizon (or, for days < 0, in the past) whatever the time of day."""
    return (dt.datetime.now(LISBON) + dt.timedelta(days=days)).date()


@pytest.fixture
def noon(monkeypatch):
    """A fixed clock at noon in Lisbon (UTC in December): "today" is one day for the test and for the view,
    even when the suite runs across midnight."""
    moment = dt.datetime(2026, 12, 9, 12, 0, tzinfo=dt.timezone.utc)
    monkeypatch.setattr("django.utils.timezone.now", lambda: moment)
    return moment


def test_check_availability_lists_free_slots_in_the_documented_shape(agent_client, agent, clinic, professional,
                                                                     service):
    day = in_days(3)
    AppointmentFactory(professional=professional, service=service,
                       starts_at=dt.datetime.combine(day, dt.time(9, 30), tzinfo=LISBON))
    response = agent_client.post(f"/api/agent-actions/check-availability/{agent.agent_id}",
                                 {"date": day.isoformat(), "duration_minutes": 30}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["date"] == day.isoformat()
    starts = [slot["start_time"] for slot in body["slots"]]
    # 09:00-11:00 on a 15-minute grid, minus what the 09:30 appointment covers.
    assert starts == ["09:00", "10:00", "10:15", "10:30"]
    assert body["slots"][0] == {"start_time": "09:00", "end_time": "09:30", "available": True}
    assert body["available_slots"] == 4


def test_check_availability_merges_professionals_free_at_the_same_time(agent_client, agent, clinic, professional,
                                                                       service):
    ProfessionalFactory(clinic=clinic, services=[service], hours=[(d, "09:00", "11:00") for d in range(7)])
    response = agent_client.post(f"/api/agent-actions/check-availability/{agent.agent_id}",
                                 {"date": in_days(3).isoformat(), "duration_minutes": 30}, format="json")
    starts = [slot["start_time"] for slot in response.json()["slots"]]
    assert starts == sorted(set(starts))
    assert len(starts) == 7


def test_check_availability_with_bad_date_answers_400_detail(agent_client, agent, professional):
    response = agent_client.post(f"/api/agent-actions/check-availability/{agent.agent_id}",
                                 {"date": "15/11/2025", "duration_minutes": 30}, format="json")
    assert response.status_code == 400
    assert "date" in response.json()["detail"]


def test_check_availability_for_a_length_no_service_has_answers_422(agent_client, agent, professional):
    response = agent_client.post(f"/api/agent-actions/check-availability/{agent.agent_id}",
                                 {"date": in_days(3).isoformat(), "duration_minutes": 45}, format="json")
    assert response.status_code == 422
    assert response.json()["code"] == "NO_MATCHING_SERVICE"


def test_book_appointment_books_through_scheduling_as_phone_agent(agent_client, agent, clinic, professional):
    day = in_days(4)
    response = agent_client.post(f"/api/agent-actions/book-appointment/{agent.agent_id}", {
        "patient_name": "John Doe", "patient_phone": "+351912345678", "patient_email": "john@example.com",
        "date": day.isoformat(), "time": "10:00", "duration_minutes": 30, "reason": "Annual checkup",
    }, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["success"] is True
    appointment = Appointment.objects.get(pk=body["appointment_id"])
    assert appointment.clinic == clinic and appointment.source == "phone_agent"
    assert appointment.starts_at == dt.datetime.combine(day, dt.time(10), tzinfo=LISBON)
    assert appointment.notes == "Annual checkup"
    assert appointment.patient.name == "John Doe" and appointment.patient.email == "john@example.com"
    # In the clinic's language (its locale, pt-PT here), with the date as Portuguese says it.
    assert body["confirmation"].startswith("Marcação feita para ") and "às 10:00" in body["confirmation"]
    assert "AM" not in body["confirmation"] and "th " not in body["confirmation"]


def test_booking_a_taken_slot_answers_409_detail_and_keeps_no_new_patient(agent_client, agent, clinic,
                                                                          professional, service):
    day = in_days(4)
    AppointmentFactory(professional=professional, service=service,
                       starts_at=dt.datetime.combine(day, dt.time(10), tzinfo=LISBON))
    patients = Patient.objects.count()
    response = agent_client.post(f"/api/agent-actions/book-appointment/{agent.agent_id}", {
        "patient_name": "Jane Roe", "phone": "+351912000111", "date": day.isoformat(), "time": "10:00",
        "duration_minutes": 30,
    }, format="json")
    assert response.status_code == 409
    assert response.json()["detail"]
    assert Patient.objects.count() == patients


def agent_booking(agent_client, agent, day, time, **extra):
    return agent_client.post(f"/api/agent-actions/book-appointment/{agent.agent_id}", {
        "patient_name": "Jane Roe", "phone": "+351912000111", "date": day.isoformat(), "time": time,
        "duration_minutes": 30, **extra}, format="json")


def assert_readable_refusal(response, status, code):
    body = response.json()
    assert (response.status_code, body["code"]) == (status, code), body
    # A sentence the voice agent can read out, not a code.
    assert body["detail"].endswith(".") and " " in body["detail"] and code not in body["detail"]
    return body


def test_a_new_professional_without_services_is_service_not_offered_not_slot_taken(agent_client, agent, clinic,
                                                                                  service):
    ProfessionalFactory(clinic=clinic, hours=[(d, "09:00", "11:00") for d in range(7)])
    patients = Patient.objects.count()
    assert_readable_refusal(agent_booking(agent_client, agent, in_days(4), "10:00"), 422, "SERVICE_NOT_OFFERED")
    assert Patient.objects.count() == patients


def test_a_time_outside_working_hours_is_outside_working_hours_not_slot_taken(agent_client, agent, professional):
    assert_readable_refusal(agent_booking(agent_client, agent, in_days(4), "15:00"), 422, "OUTSIDE_WORKING_HOURS")
    # 10:45 + 30 minutes runs past the end of the day at 11:00.
    assert_readable_refusal(agent_booking(agent_client, agent, in_days(4), "10:45"), 422, "OUTSIDE_WORKING_HOURS")
    assert not Appointment.objects.exists()


def test_a_time_in_the_past_is_in_the_past(agent_client, agent, professional):
    assert_readable_refusal(agent_booking(agent_client, agent, in_days(-1), "10:00"), 422, "IN_THE_PAST")
    assert not Patient.objects.exists()


def test_a_taken_time_is_slot_taken_with_a_readable_message(agent_client, agent, clinic, professional, service):
    day = in_days(4)
    AppointmentFactory(professional=professional, service=service,
                       starts_at=dt.datetime.combine(day, dt.time(10), tzinfo=LISBON))
    assert_readable_refusal(agent_booking(agent_client, agent, day, "10:00"), 409, "SLOT_TAKEN")


def test_another_clinic_s_service_id_in_the_body_is_404(agent_client, agent, other_clinic, professional):
    foreign = ServiceFactory(clinic=other_clinic)
    response = agent_booking(agent_client, agent, in_days(4), "10:00", service_id=str(foreign.pk))
    assert response.status_code == 404
    assert not Appointment.objects.exists()


def test_book_appointment_without_phone_answers_400(agent_client, agent, professional):
    response = agent_client.post(f"/api/agent-actions/book-appointment/{agent.agent_id}", {
        "patient_name": "John Doe", "date": in_days(4).isoformat(), "time": "25:00"}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"]
    assert {"patient_phone", "time"} & set(response.json()["errors"])


def test_today_lists_the_clinics_active_appointments_as_times_without_names_or_notes(agent_client, agent, clinic,
                                                                                   professional, service, noon):
    today = noon.astimezone(LISBON).date()
    patient = PatientFactory(clinic=clinic, name="John Doe")
    AppointmentFactory(professional=professional, service=service, patient=patient, notes="Annual checkup",
                       starts_at=dt.datetime.combine(today, dt.time(9), tzinfo=LISBON))
    AppointmentFactory(professional=professional, service=service, status="cancelled",
                       starts_at=dt.datetime.combine(today, dt.time(10), tzinfo=LISBON))
    AppointmentFactory(professional=professional, service=service,
                       starts_at=dt.datetime.combine(today + dt.timedelta(days=1), dt.time(9), tzinfo=LISBON))
    response = agent_client.get(f"/api/agent-actions/appointments/{agent.agent_id}/today")
    assert response.status_code == 200
    assert response.json() == {"date": today.isoformat(), "total_appointments": 1, "appointments": [
        {"time": "09:00", "end_time": "09:30", "reason": "Consulta geral"}]}
    assert "John Doe" not in response.content.decode() and "Annual checkup" not in response.content.decode()


def test_another_agents_id_in_the_path_is_404(agent_client, other_clinic, professional):
    foreign = agent_for(other_clinic)
    for method, path, body in (
            ("post", f"/api/agent-actions/check-availability/{foreign.agent_id}", {"date": "2030-01-01"}),
            ("post", f"/api/agent-actions/book-appointment/{foreign.agent_id}", {}),
            ("get", f"/api/agent-actions/appointments/{foreign.agent_id}/today", None)):
        response = getattr(agent_client, method)(path, body, format="json")
        assert response.status_code == 404, path
        assert response.json()["detail"]


def test_missing_or_wrong_token_is_401_and_api_keys_do_not_work_here(agent, client_for):
    path = f"/api/agent-actions/appointments/{agent.agent_id}/today"
    assert APIClient().get(path).status_code == 401
    wrong = APIClient().get(path, HTTP_X_AGENT_TOKEN="fd_agent_not-a-real-token")
    assert wrong.status_code == 401 and wrong.json()["detail"]
    assert client_for.get(path).status_code == 401


def test_a_paused_agent_cannot_act(agent_client, agent):
    agent.status = "paused"
    agent.save()
    assert agent_client.get(f"/api/agent-actions/appointments/{agent.agent_id}/today").status_code == 401


def test_check_availability_queries_stay_bounded_with_many_professionals(agent_client, agent, clinic, service,
                                                                         django_assert_max_num_queries):
    for _ in range(5):
        ProfessionalFactory(clinic=clinic, services=[service], hours=[(d, "09:00", "11:00") for d in range(7)])
    with django_assert_max_num_queries(6):  # token, service, the slot search's four
        response = agent_client.post(f"/api/agent-actions/check-availability/{agent.agent_id}",
                                     {"date": in_days(3).isoformat(), "duration_minutes": 30}, format="json")
    assert response.status_code == 200 and response.json()["available_slots"] == 7


def test_today_queries_do_not_grow_with_appointments(agent_client, agent, clinic, professional, service, noon,
                                                     django_assert_max_num_queries):
    today = noon.astimezone(LISBON).date()
    for hour in (9, 10):
        AppointmentFactory(professional=professional, service=service,
                           starts_at=dt.datetime.combine(today, dt.time(hour), tzinfo=LISBON))
    with django_assert_max_num_queries(8):
        response = agent_client.get(f"/api/agent-actions/appointments/{agent.agent_id}/today")
    assert response.json()["total_appointments"] == 2


def test_an_agent_booking_takes_at_most_eight_queries(agent_client, agent, clinic, professional, service,
                                                      django_assert_max_num_queries):
    """The token, the service, the booking's transaction (a savepoint here, BEGIN/COMMIT in production), ONE
    availability check (not a slot search and a second check), the new patient's INSERT, the appointment's,
    and one INSERT for both audit rows."""
    with django_assert_max_num_queries(8):
        response = agent_booking(agent_client, agent, in_days(4), "10:00")
    assert response.status_code == 201, response.content
    appointment = Appointment.objects.get()
    assert appointment.professional == professional and appointment.patient.name == "Jane Roe"
    assert set(AuditEvent.objects.values_list("action", flat=True)) == {"patient.created", "appointment.create"}
