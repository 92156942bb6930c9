"""/api/v1/appointments and /api/v1/schedules in the voice surface envelope (docs/api/voice.md)."""
import pytest

from scheduling.models import AvailabilityException
from scheduling.tests.conftest import upcoming
from scheduling.tests.factories import AppointmentFactory, AvailabilityExceptionFactory, ProfessionalFactory

pytestmark = pytest.mark.django_db


def assert_voice_error(response, status):
    body = response.json()
    assert response.status_code == status, body
    assert body["success"] is False and body["data"] is None and body["message"]
    return body


def test_voice_lists_appointments_in_envelope(client_for, clinic, professional, service):
    AppointmentFactory(professional=professional, service=service, starts_at=upcoming(clinic=clinic))
    body = client_for.get("/api/v1/appointments").json()
    assert body["success"] is True and body["meta"]["total"] == 1
    assert {"id", "patientId", "professionalId", "serviceId", "startsAt", "endsAt", "status"} <= set(body["data"][0])


def test_voice_books_an_appointment(client_for, clinic, professional, service):
    response = client_for.post("/api/v1/appointments", {
        "professionalId": str(professional.pk), "serviceId": str(service.pk),
        "startsAt": upcoming(clinic=clinic).isoformat(), "source": "phone_agent",
        "patient": {"name": "Ana Costa", "phone": "+351913000222"}}, format="json")
    body = response.json()
    assert response.status_code == 201, body
    assert body["success"] is True and body["data"]["source"] == "phone_agent"


def test_voice_taken_slot_and_bad_input_use_voice_error_body(client_for, clinic, professional, service, patient):
    payload = {"patientId": patient.hash, "professionalId": str(professional.pk), "serviceId": str(service.pk),
               "startsAt": upcoming(clinic=clinic).isoformat()}
    assert client_for.post("/api/v1/appointments", payload, format="json").status_code == 201
    assert assert_voice_error(client_for.post("/api/v1/appointments", payload, format="json"), 409)["code"] == \
        "SLOT_TAKEN"
    assert assert_voice_error(client_for.post("/api/v1/appointments", {"serviceId": "x"}, format="json"),
                              400)["code"] == "VALIDATION_ERROR"


def test_voice_foreign_clinic_sees_nothing(foreign_client, clinic, professional, service, patient):
    AppointmentFactory(professional=professional, service=service, starts_at=upcoming(clinic=clinic))
    assert foreign_client.get("/api/v1/appointments").json()["data"] == []
    assert foreign_client.get("/api/v1/schedules").json()["data"] == []
    payload = {"patientId": patient.hash, "professionalId": str(professional.pk), "serviceId": str(service.pk),
               "startsAt": upcoming(clinic=clinic).isoformat()}
    assert_voice_error(foreign_client.post("/api/v1/appointments", payload, format="json"), 404)


def test_schedules_list_hours_and_exceptions_per_professional(client_for, clinic):
    professional = ProfessionalFactory(clinic=clinic, hours=[(0, "09:00", "13:00"), (0, "14:00", "18:00")])
    AvailabilityExceptionFactory(professional=professional, starts_at=upcoming(hour=9, clinic=clinic),
                                 ends_at=upcoming(hour=12, clinic=clinic), reason="Formação")
    AvailabilityExceptionFactory(professional=None, clinic=clinic, kind=AvailabilityException.Kind.CLOSURE,
                                 starts_at=upcoming(days=5, hour=0, clinic=clinic),
                                 ends_at=upcoming(days=6, hour=0, clinic=clinic))
    body = client_for.get("/api/v1/schedules").json()
    assert body["success"] is True
    entry, = body["data"]
    assert entry["professionalId"] == str(professional.pk)
    assert entry["workingHours"]["mon"] == [["09:00", "13:00"], ["14:00", "18:00"]]
    assert [(item["kind"], item["professionalId"]) for item in entry["exceptions"]] == [
        ("time_off", str(professional.pk)), ("closure", None)]


def test_schedules_bad_date_gets_voice_error(client_for):
    assert_voice_error(client_for.get("/api/v1/schedules", {"from": "soon"}), 400)


def test_voice_requires_a_key(api_client):
    assert_voice_error(api_client.get("/api/v1/schedules"), 401)
