"""/v1 professionals, services and appointments (docs/api/clinic-v1.md): shapes, tenancy, errors."""
import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scheduling.models import Appointment, Patient, Professional, Service
from scheduling.tests.conftest import daytime_zone, upcoming
from scheduling.tests.factories import AppointmentFactory, PatientFactory, ProfessionalFactory, ServiceFactory

pytestmark = pytest.mark.django_db

SERVICE_FIELDS = {"id", "name", "durationMinutes", "price", "currency", "bufferBeforeMinutes", "bufferAfterMinutes",
                  "onlineBookable"}
PROFESSIONAL_FIELDS = {"id", "name", "specialty", "email", "phone", "active", "serviceIds", "workingHours"}
APPOINTMENT_FIELDS = {"id", "patientId", "professionalId", "serviceId", "startsAt", "endsAt", "status", "source",
                      "notes"}


def assert_v1_error(response, status, code=None):
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])
    if code:
        assert body["error"]["code"] == code
    return body["error"]


# --- services ---

def test_create_and_list_services(client_for):
    response = client_for.post("/v1/services", {"name": "Consulta geral", "durationMinutes": 30, "price": 4500,
                                                "currency": "EUR", "bufferAfterMinutes": 5}, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert SERVICE_FIELDS <= set(created)
    assert (created["price"], created["bufferAfterMinutes"], created["onlineBookable"]) == (4500, 5, True)
    listing = client_for.get("/v1/services").json()
    assert set(listing) == {"items", "nextCursor", "hasMore"}
    assert [item["id"] for item in listing["items"]] == [created["id"]]


def test_service_bad_input_gets_v1_error(client_for):
    error = assert_v1_error(client_for.post("/v1/services", {"name": "X", "durationMinutes": 0}, format="json"),
                            400, "VALIDATION_ERROR")
    assert "durationMinutes" in error["details"]


def test_patch_and_delete_service(client_for, clinic):
    service = ServiceFactory(clinic=clinic)
    response = client_for.patch(f"/v1/services/{service.pk}", {"price": 6000, "onlineBookable": False},
                                format="json")
    assert response.status_code == 200 and response.json()["price"] == 6000
    assert client_for.delete(f"/v1/services/{service.pk}").status_code == 204
    assert not Service.objects.filter(pk=service.pk).exists()


def test_delete_service_with_future_appointment_is_refused(client_for, clinic, professional, service):
    AppointmentFactory(professional=professional, service=service, starts_at=upcoming(clinic=clinic))
    assert_v1_error(client_for.delete(f"/v1/services/{service.pk}"), 409, "HAS_FUTURE_APPOINTMENTS")


def test_foreign_clinic_cannot_see_or_touch_services(foreign_client, clinic):
    service = ServiceFactory(clinic=clinic)
    assert foreign_client.get("/v1/services").json()["items"] == []
    assert_v1_error(foreign_client.patch(f"/v1/services/{service.pk}", {"price": 1}, format="json"), 404)
    assert_v1_error(foreign_client.delete(f"/v1/services/{service.pk}"), 404)


# --- professionals ---

def test_new_professional_gets_opening_hours_and_services(client_for, clinic, service):
    response = client_for.post("/v1/professionals", {"name": "Dra. Ana Lopes", "specialty": "Pediatria",
                                                     "serviceIds": [str(service.pk)]}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert PROFESSIONAL_FIELDS <= set(body)
    assert body["serviceIds"] == [str(service.pk)]
    assert body["workingHours"]["mon"] == [["09:00", "18:00"]]
    assert body["workingHours"]["sat"] == [] and body["workingHours"]["sun"] == []


def test_patch_professional_working_hours_replaces_the_week(client_for, clinic):
    professional = ProfessionalFactory(clinic=clinic)
    week = {"mon": [["09:00", "13:00"], ["14:00", "18:00"]], "sat": [["10:00", "12:00"]]}
    response = client_for.patch(f"/v1/professionals/{professional.pk}", {"workingHours": week}, format="json")
    assert response.status_code == 200, response.json()
    hours = response.json()["workingHours"]
    assert hours["mon"] == week["mon"] and hours["sat"] == week["sat"] and hours["tue"] == []


def test_professional_bad_working_hours_and_unknown_service_get_400(client_for, clinic, other_clinic):
    professional = ProfessionalFactory(clinic=clinic)
    error = assert_v1_error(client_for.patch(f"/v1/professionals/{professional.pk}",
                                             {"workingHours": {"mon": [["18:00", "09:00"]]}}, format="json"), 400)
    assert "workingHours" in error["details"]
    foreign_service = ServiceFactory(clinic=other_clinic)
    assert_v1_error(client_for.post("/v1/professionals", {"name": "X", "serviceIds": [str(foreign_service.pk)]},
                                    format="json"), 400)


def test_delete_professional_archives_when_history_exists(client_for, clinic, professional, service):
    AppointmentFactory(professional=professional, service=service,
                       starts_at=upcoming(days=-3, clinic=clinic), status="completed")
    assert client_for.delete(f"/v1/professionals/{professional.pk}").status_code == 204
    professional.refresh_from_db()
    assert professional.active is False
    listed = client_for.get("/v1/professionals").json()["items"]
    assert [(item["id"], item["active"]) for item in listed] == [(str(professional.pk), False)]


def test_foreign_clinic_cannot_touch_professionals(foreign_client, clinic):
    professional = ProfessionalFactory(clinic=clinic)
    assert foreign_client.get("/v1/professionals").json()["items"] == []
    assert_v1_error(foreign_client.patch(f"/v1/professionals/{professional.pk}", {"name": "Y"}, format="json"), 404)
    assert_v1_error(foreign_client.delete(f"/v1/professionals/{professional.pk}"), 404)
    assert Professional.objects.filter(pk=professional.pk, name=professional.name).exists()


def count_queries(callable_):
    with CaptureQueriesContext(connection) as captured:
        callable_()
    return len(captured.captured_queries)


def test_professional_list_queries_do_not_grow_with_rows(client_for, clinic):
    ProfessionalFactory(clinic=clinic, services=[ServiceFactory(clinic=clinic)])
    client_for.get("/v1/professionals")
    one = count_queries(lambda: client_for.get("/v1/professionals"))
    for _ in range(8):
        ProfessionalFactory(clinic=clinic, services=[ServiceFactory(clinic=clinic)])
    many = count_queries(lambda: client_for.get("/v1/professionals"))
    assert many == one


# --- appointments ---

def test_create_appointment_with_new_patient(client_for, clinic, professional, service):
    starts = upcoming(clinic=clinic)
    response = client_for.post("/v1/appointments", {
        "professionalId": str(professional.pk), "serviceId": str(service.pk), "startsAt": starts.isoformat(),
        "patient": {"name": "João Pereira", "phone": "+351 912 000 111", "email": "joao@example.test"},
        "notes": "Primeira consulta"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert APPOINTMENT_FIELDS <= set(body)
    assert dt.datetime.fromisoformat(body["startsAt"]) == starts
    assert body["startsAt"].endswith(("+00:00", "+01:00"))
    assert (body["status"], body["source"], body["notes"]) == ("scheduled", "api", "Primeira consulta")
    patient = Patient.objects.get(hash=body["patientId"])
    assert patient.phone == "+351912000111"


def test_create_appointment_with_patient_id_and_taken_slot_gets_409(client_for, clinic, professional, service,
                                                                     patient):
    payload = {"patientId": patient.hash, "professionalId": str(professional.pk), "serviceId": str(service.pk),
               "startsAt": upcoming(clinic=clinic).isoformat()}
    assert client_for.post("/v1/appointments", payload, format="json").status_code == 201
    assert_v1_error(client_for.post("/v1/appointments", payload, format="json"), 409, "SLOT_TAKEN")


def test_create_appointment_bad_input(client_for, clinic, professional, service, patient):
    base = {"patientId": patient.hash, "professionalId": str(professional.pk), "serviceId": str(service.pk)}
    error = assert_v1_error(client_for.post("/v1/appointments", {**base, "startsAt": "2027-01-11T10:00:00"},
                                            format="json"), 400, "VALIDATION_ERROR")
    assert "startsAt" in error["details"]
    assert_v1_error(client_for.post("/v1/appointments", {k: v for k, v in base.items() if k != "patientId"}
                                    | {"startsAt": upcoming(clinic=clinic).isoformat()}, format="json"), 400)


def test_foreign_clinic_cannot_book_with_or_see_our_objects(foreign_client, clinic, professional, service, patient):
    payload = {"patientId": patient.hash, "professionalId": str(professional.pk), "serviceId": str(service.pk),
               "startsAt": upcoming(clinic=clinic).isoformat()}
    assert_v1_error(foreign_client.post("/v1/appointments", payload, format="json"), 404)
    appointment = AppointmentFactory(professional=professional, service=service, patient=patient,
                                     starts_at=upcoming(clinic=clinic))
    assert foreign_client.get("/v1/appointments").json()["items"] == []
    for method in ("get", "patch", "delete"):
        assert_v1_error(getattr(foreign_client, method)(f"/v1/appointments/{appointment.pk}", {"notes": "x"},
                                                        format="json"), 404)
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"


def test_list_filters_and_cursor_pagination(client_for, clinic, professional, service):
    other = ProfessionalFactory(clinic=clinic, services=[service])
    for hour in (9, 10, 11, 12, 13):
        AppointmentFactory(professional=professional, service=service, starts_at=upcoming(hour=hour, clinic=clinic))
    AppointmentFactory(professional=other, service=service, starts_at=upcoming(hour=9, clinic=clinic),
                       status="cancelled")
    day = upcoming(clinic=clinic).date().isoformat()
    first = client_for.get("/v1/appointments", {"from": day, "to": day, "professionalId": str(professional.pk),
                                                "limit": 3}).json()
    assert len(first["items"]) == 3 and first["hasMore"] is True
    second = client_for.get("/v1/appointments", {"from": day, "to": day, "professionalId": str(professional.pk),
                                                 "limit": 3, "cursor": first["nextCursor"]}).json()
    assert len(second["items"]) == 2 and second["hasMore"] is False and second["nextCursor"] is None
    starts = [item["startsAt"] for item in first["items"] + second["items"]]
    assert starts == sorted(starts)
    cancelled = client_for.get("/v1/appointments", {"status": "cancelled"}).json()["items"]
    assert [item["professionalId"] for item in cancelled] == [str(other.pk)]
    assert_v1_error(client_for.get("/v1/appointments", {"status": "maybe"}), 400)
    assert_v1_error(client_for.get("/v1/appointments", {"from": "yesterday"}), 400)


def test_patch_reschedules_changes_status_and_notes(client_for, clinic, professional, service):
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=upcoming(clinic=clinic))
    new_start = upcoming(hour=15, clinic=clinic)
    response = client_for.patch(f"/v1/appointments/{appointment.pk}", {
        "startsAt": new_start.isoformat(), "status": "confirmed", "notes": "Trazer exames"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert dt.datetime.fromisoformat(body["startsAt"]) == new_start
    assert dt.datetime.fromisoformat(body["endsAt"]) == new_start + dt.timedelta(minutes=30)
    assert (body["status"], body["notes"]) == ("confirmed", "Trazer exames")


def test_patch_into_a_taken_time_changes_nothing(client_for, clinic, professional, service):
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=upcoming(clinic=clinic))
    blocker = AppointmentFactory(professional=professional, service=service,
                                 starts_at=upcoming(hour=15, clinic=clinic))
    assert_v1_error(client_for.patch(f"/v1/appointments/{appointment.pk}", {
        "startsAt": blocker.starts_at.isoformat(), "notes": "moved"}, format="json"), 409, "SLOT_TAKEN")
    appointment.refresh_from_db()
    assert appointment.notes == "" and appointment.starts_at == upcoming(clinic=clinic)
    assert_v1_error(client_for.patch(f"/v1/appointments/{appointment.pk}", {"status": "gone"}, format="json"), 400)
    assert_v1_error(client_for.patch(f"/v1/appointments/{appointment.pk}", {}, format="json"), 400)


def test_delete_cancels_and_keeps_the_row(client_for, clinic, professional, service):
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=upcoming(clinic=clinic))
    response = client_for.delete(f"/v1/appointments/{appointment.pk}")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert Appointment.objects.get(pk=appointment.pk).status == "cancelled"
    detail = client_for.get(f"/v1/appointments/{appointment.pk}").json()
    assert APPOINTMENT_FIELDS <= set(detail) and detail["status"] == "cancelled"


def test_read_only_key_cannot_book(make_client, clinic, professional, service, patient):
    reader = make_client(clinic, permissions=("read",))
    assert_v1_error(reader.post("/v1/appointments", {}, format="json"), 403)


def test_appointment_list_queries_do_not_grow(client_for, clinic, professional, service):
    AppointmentFactory(professional=professional, service=service, starts_at=upcoming(hour=7, clinic=clinic))
    client_for.get("/v1/appointments")
    one = count_queries(lambda: client_for.get("/v1/appointments"))
    for hour in range(8, 20):
        AppointmentFactory(professional=professional, service=service, starts_at=upcoming(hour=hour, clinic=clinic),
                           patient=PatientFactory(clinic=clinic))
    many = count_queries(lambda: client_for.get("/v1/appointments"))
    assert many == one


def test_every_appointment_change_is_audited_with_the_caller(client_for, clinic, professional, service, patient):
    from clinics.models import AuditEvent

    response = client_for.post("/v1/appointments", {
        "patientId": patient.hash, "professionalId": str(professional.pk), "serviceId": str(service.pk),
        "startsAt": upcoming(clinic=clinic).isoformat()}, format="json")
    appointment_id = response.json()["id"]
    client_for.patch(f"/v1/appointments/{appointment_id}", {
        "startsAt": upcoming(hour=15, clinic=clinic).isoformat(), "status": "confirmed"}, format="json")
    client_for.delete(f"/v1/appointments/{appointment_id}")
    events = AuditEvent.objects.filter(clinic=clinic, object_id=appointment_id).order_by("created_at")
    assert [event.action for event in events] == [
        "appointment.create", "appointment.reschedule", "appointment.status", "appointment.status"]
    assert {event.actor_kind for event in events} == {"key"}
    assert events[3].extra == {"from": "confirmed", "to": "cancelled"}


def test_staff_may_move_an_online_booking_inside_the_notice_window(client_for, clinic, professional, service):
    clinic.timezone = daytime_zone()
    clinic.save()
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=upcoming(clinic=clinic),
                                     source="online")
    soon = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0) + dt.timedelta(minutes=30)
    response = client_for.patch(f"/v1/appointments/{appointment.pk}", {"startsAt": soon.isoformat()}, format="json")
    assert response.status_code == 200, response.json()
    assert dt.datetime.fromisoformat(response.json()["startsAt"]) == soon
