"""Every edge that books (console, /v1, /api/v1, public page) goes through the one booking service: a refused
booking leaves no new patient, a stranger is never booked as someone else sharing their phone, ids of another
clinic in a body are 404, and every number a form or serializer takes is bounded."""
import datetime as dt

import pytest
from django.urls import reverse

from clinics.models import Membership
from clinics.tests.factories import MembershipFactory, UserFactory
from scheduling.models import Appointment, Patient, Service
from scheduling.tests.conftest import upcoming
from scheduling.tests.factories import AppointmentFactory, PatientFactory, ProfessionalFactory, ServiceFactory

pytestmark = pytest.mark.django_db

MARIA_PHONE = "+351912345678"


@pytest.fixture
def maria(clinic):
    return PatientFactory(clinic=clinic, name="Maria da Silva", phone=MARIA_PHONE, email="maria@example.test")


@pytest.fixture
def editor_client(client, clinic):
    membership = MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR, user=UserFactory())
    client.force_login(membership.user)
    return client


def console_booking(professional, service, starts, **patient):
    return {"professional": professional.pk, "service": service.pk, "date": starts.date().isoformat(),
            "time": starts.strftime("%H:%M"), "notes": "", **patient}


def v1_booking(professional, service, starts, **extra):
    return {"professionalId": str(professional.pk), "serviceId": str(service.pk), "startsAt": starts.isoformat(),
            **extra}


def public_booking(service, starts, name, phone, email=""):
    return {"serviceId": str(service.pk), "startsAt": starts.isoformat(),
            "patient": {"name": name, "phone": phone, "email": email}}


def taken(professional, service, clinic):
    starts = upcoming(clinic=clinic)
    AppointmentFactory(professional=professional, service=service, starts_at=starts)
    return starts


# --- a refused booking leaves no patient behind, on every edge ---------------------------------------------

def test_console_booking_refused_as_taken_leaves_no_new_patient(editor_client, clinic, professional, service):
    starts = taken(professional, service, clinic)
    before = Patient.objects.count()
    response = editor_client.post(reverse("scheduling:appointment_new"), console_booking(
        professional, service, starts, patient_name="Novo Paciente", patient_phone="916 555 444"))
    assert response.status_code == 400 and "no longer available" in response.content.decode()
    assert Patient.objects.count() == before


def test_v1_booking_refused_as_taken_leaves_no_new_patient(client_for, clinic, professional, service):
    starts = taken(professional, service, clinic)
    before = Patient.objects.count()
    response = client_for.post("/v1/appointments", v1_booking(
        professional, service, starts, patient={"name": "Novo Paciente", "phone": "+351916555444"}), format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "SLOT_TAKEN"
    assert Patient.objects.count() == before


def test_voice_booking_refused_as_taken_leaves_no_new_patient(client_for, clinic, professional, service):
    starts = taken(professional, service, clinic)
    before = Patient.objects.count()
    response = client_for.post("/api/v1/appointments", v1_booking(
        professional, service, starts, patient={"name": "Novo Paciente", "phone": "+351916555444"}), format="json")
    assert response.status_code == 409 and response.json()["code"] == "SLOT_TAKEN"
    assert Patient.objects.count() == before


def test_public_booking_refused_as_taken_leaves_no_new_patient(client, clinic, professional, service):
    starts = taken(professional, service, clinic)
    before = Patient.objects.count()
    response = client.post(f"/booking/{clinic.slug}", public_booking(service, starts, "Novo Paciente", "916555444"),
                           content_type="application/json")
    assert response.status_code == 409 and response.json()["code"] == "SLOT_TAKEN"
    assert Patient.objects.count() == before


# --- a console edit is all or nothing --------------------------------------------------------------------

def test_console_edit_that_hits_a_taken_slot_changes_no_field(editor_client, clinic, professional, service):
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=upcoming(clinic=clinic),
                                     notes="Antes")
    other = AppointmentFactory(professional=professional, service=service, starts_at=upcoming(hour=15, clinic=clinic))
    response = editor_client.post(reverse("scheduling:appointment_edit", args=[appointment.pk]), {
        "professional": professional.pk, "date": other.starts_at.date().isoformat(), "time": "15:00",
        "status": "confirmed", "notes": "Depois"})
    assert response.status_code == 400
    appointment.refresh_from_db()
    assert (appointment.starts_at, appointment.status, appointment.notes) == (
        upcoming(clinic=clinic), "scheduled", "Antes")


def test_console_edit_reactivating_into_a_taken_slot_keeps_the_old_notes(editor_client, clinic, professional,
                                                                        service):
    starts = upcoming(clinic=clinic)
    cancelled = AppointmentFactory(professional=professional, service=service, starts_at=starts,
                                   status="cancelled", notes="Antes")
    AppointmentFactory(professional=professional, service=service, starts_at=starts)  # took the freed time
    response = editor_client.post(reverse("scheduling:appointment_edit", args=[cancelled.pk]), {
        "professional": professional.pk, "date": starts.date().isoformat(), "time": starts.strftime("%H:%M"),
        "status": "confirmed", "notes": "Depois"})
    assert response.status_code == 400 and "no longer available" in response.content.decode()
    cancelled.refresh_from_db()
    assert (cancelled.status, cancelled.notes) == ("cancelled", "Antes")


# --- one phone, several people -----------------------------------------------------------------------------

def test_console_books_rui_costa_with_maria_s_phone_as_rui(editor_client, clinic, professional, service, maria):
    response = editor_client.post(reverse("scheduling:appointment_new"), console_booking(
        professional, service, upcoming(clinic=clinic), patient_name="Rui Costa", patient_phone="912 345 678"))
    assert response.status_code == 302, response.content.decode()[:1000]
    appointment = Appointment.objects.get()
    assert appointment.patient != maria and appointment.patient.name == "Rui Costa"
    assert appointment.patient.phone == MARIA_PHONE
    maria.refresh_from_db()
    assert (maria.name, maria.email) == ("Maria da Silva", "maria@example.test")


def test_console_offers_the_patients_with_a_phone_and_books_the_one_chosen(editor_client, clinic, professional,
                                                                          service, maria, other_clinic):
    PatientFactory(clinic=other_clinic, name="Outra Clínica", phone=MARIA_PHONE)
    page = editor_client.get(reverse("scheduling:appointment_new")).content.decode()
    assert 'id="patient-matches"' in page and 'name="patient"' in page and "patient_matches" not in page
    matches = editor_client.get(reverse("scheduling:patient_matches"), {"phone": "912 345 678"}).json()
    assert matches == {"patients": [{"id": str(maria.pk), "name": "Maria da Silva"}]}
    response = editor_client.post(reverse("scheduling:appointment_new"), console_booking(
        professional, service, upcoming(clinic=clinic), patient=str(maria.pk), patient_name="",
        patient_phone="912 345 678"))
    assert response.status_code == 302
    assert Appointment.objects.get().patient == maria
    assert Patient.objects.filter(clinic=clinic).count() == 1


def test_console_refuses_another_clinic_s_patient_id(editor_client, clinic, professional, service, other_clinic):
    stranger = PatientFactory(clinic=other_clinic)
    response = editor_client.post(reverse("scheduling:appointment_new"), console_booking(
        professional, service, upcoming(clinic=clinic), patient=str(stranger.pk), patient_name="X",
        patient_phone=stranger.phone))
    assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_public_page_books_rui_costa_with_maria_s_phone_and_leaves_maria_alone(client, clinic, professional,
                                                                               service, maria):
    response = client.post(f"/booking/{clinic.slug}", public_booking(
        service, upcoming(clinic=clinic), "Rui Costa", "912345678", "rui@example.test"),
        content_type="application/json")
    body = response.json()
    assert response.status_code == 201, body
    assert body["patientId"] != maria.hash
    rui = Patient.objects.get(hash=body["patientId"])
    assert (rui.name, rui.email, rui.phone) == ("Rui Costa", "rui@example.test", MARIA_PHONE)
    maria.refresh_from_db()
    assert (maria.name, maria.email) == ("Maria da Silva", "maria@example.test")


def test_public_page_never_changes_an_existing_patient_s_email(client, clinic, professional, service, maria):
    maria.email = ""
    maria.save()
    response = client.post(f"/booking/{clinic.slug}", public_booking(
        service, upcoming(clinic=clinic), "MARIA DA SILVA", MARIA_PHONE, "attacker@example.test"),
        content_type="application/json")
    assert response.status_code == 201
    assert set(response.json()) & {"patient", "name", "email", "phone"} == set()
    maria.refresh_from_db()
    assert maria.email == ""


def test_v1_books_rui_costa_with_maria_s_phone_as_rui(client_for, clinic, professional, service, maria):
    response = client_for.post("/v1/appointments", v1_booking(
        professional, service, upcoming(clinic=clinic), patient={"name": "Rui Costa", "phone": "912345678"}),
        format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["patientId"] != maria.hash
    assert Patient.objects.get(hash=response.json()["patientId"]).name == "Rui Costa"


# --- the real reason of a refusal -----------------------------------------------------------------------------

def test_v1_gives_the_real_reason_of_a_refusal(client_for, clinic, professional, service, patient):
    newcomer = ProfessionalFactory(clinic=clinic)
    cases = [
        (v1_booking(newcomer, service, upcoming(clinic=clinic), patientId=patient.hash), "SERVICE_NOT_OFFERED"),
        (v1_booking(professional, service, upcoming(hour=23, minute=45, clinic=clinic), patientId=patient.hash),
         "OUTSIDE_WORKING_HOURS"),
        (v1_booking(professional, service, upcoming(days=-1, clinic=clinic), patientId=patient.hash),
         "IN_THE_PAST"),
    ]
    for payload, code in cases:
        response = client_for.post("/v1/appointments", payload, format="json")
        assert (response.status_code, response.json()["error"]["code"]) == (422, code)
    assert not Appointment.objects.exists()


# --- tenancy of ids in bodies --------------------------------------------------------------------------------

def test_v1_booking_with_another_clinic_s_ids_in_the_body_is_404(client_for, clinic, other_clinic, professional,
                                                                 service, patient):
    foreign_service = ServiceFactory(clinic=other_clinic)
    foreign_professional = ProfessionalFactory(clinic=other_clinic, services=[foreign_service])
    stranger = PatientFactory(clinic=other_clinic)
    starts = upcoming(clinic=clinic)
    for payload in (v1_booking(foreign_professional, service, starts, patientId=patient.hash),
                    v1_booking(professional, foreign_service, starts, patientId=patient.hash),
                    v1_booking(professional, service, starts, patientId=stranger.hash),
                    v1_booking(professional, service, starts, patientId=str(stranger.pk))):
        response = client_for.post("/v1/appointments", payload, format="json")
        assert response.status_code == 404, response.json()
    assert not Appointment.objects.exists()


def test_v1_reschedule_to_another_clinic_s_professional_is_404(client_for, clinic, other_clinic, professional,
                                                               service):
    appointment = AppointmentFactory(professional=professional, service=service, starts_at=upcoming(clinic=clinic))
    foreign = ProfessionalFactory(clinic=other_clinic, services=[service])
    response = client_for.patch(f"/v1/appointments/{appointment.pk}", {"professionalId": str(foreign.pk)},
                                format="json")
    assert response.status_code == 404
    appointment.refresh_from_db()
    assert appointment.professional == professional


def test_console_cannot_remove_another_clinic_s_time_off(editor_client, clinic, other_clinic):
    from scheduling.models import AvailabilityException

    foreign_professional = ProfessionalFactory(clinic=other_clinic)
    foreign = AvailabilityException.objects.create(
        clinic=other_clinic, professional=foreign_professional, kind="time_off", starts_at=upcoming(clinic=clinic),
        ends_at=upcoming(clinic=clinic) + dt.timedelta(hours=3))
    response = editor_client.post(reverse("scheduling:exception_remove", args=[foreign.pk]))
    assert response.status_code == 404
    assert AvailabilityException.objects.filter(pk=foreign.pk).exists()


def test_another_clinic_s_closure_does_not_hide_this_clinic_s_slots(client, clinic, other_clinic, professional,
                                                                   service):
    from scheduling.models import AvailabilityException

    day = upcoming(days=3, clinic=clinic)
    AvailabilityException.objects.create(clinic=other_clinic, kind="closure", starts_at=day - dt.timedelta(days=1),
                                         ends_at=day + dt.timedelta(days=1), reason="Feriado municipal")
    body = client.get(f"/booking/{clinic.slug}/slots", {"serviceId": str(service.pk), "from": day.date().isoformat(),
                                                       "to": day.date().isoformat()}).json()
    assert day in [dt.datetime.fromisoformat(slot["startsAt"]) for slot in body["slots"]]


# --- bounded input -------------------------------------------------------------------------------------------

def test_patch_service_with_a_twenty_digit_price_is_a_v1_400(client_for, clinic):
    service = ServiceFactory(clinic=clinic, price=4500)
    for field, value in (("price", 10 ** 20), ("durationMinutes", 10 ** 12), ("bufferAfterMinutes", 10 ** 9),
                         ("name", "x" * 5000)):
        response = client_for.patch(f"/v1/services/{service.pk}", {field: value}, format="json")
        body = response.json()
        assert response.status_code == 400, body
        assert body["error"]["code"] == "VALIDATION_ERROR" and field in body["error"]["details"]
    service.refresh_from_db()
    assert service.price == 4500


def test_console_service_form_refuses_numbers_the_database_cannot_hold(editor_client, clinic):
    response = editor_client.post(reverse("scheduling:service_new"), {
        "name": "Consulta", "duration_minutes": 30, "price": "9" * 20, "currency": "EUR",
        "buffer_before_minutes": 0, "buffer_after_minutes": 10 ** 10})
    assert response.status_code == 400
    assert not Service.objects.filter(clinic=clinic).exists()


# --- search by prefix ----------------------------------------------------------------------------------------

def test_mar_finds_maria_da_silva_in_the_api_search(client_for, clinic, maria):
    PatientFactory(clinic=clinic, name="João Pereira", phone="+351913000111")
    for search in ("Mar", "mar sil", "MARIA", "maria da silva", "912345678"):
        items = client_for.get("/v1/patients", {"search": search}).json()["items"]
        assert [item["hash"] for item in items] == [maria.hash], search
    assert client_for.get("/v1/patients", {"search": "Mariana"}).json()["items"] == []


def test_viewers_cannot_look_patients_up_by_phone(client, clinic, maria):
    viewer = MembershipFactory(clinic=clinic, role=Membership.Role.VIEWER, user=UserFactory())
    client.force_login(viewer.user)
    assert client.get(reverse("scheduling:patient_matches"), {"phone": MARIA_PHONE}).status_code == 403


def test_dates_at_the_end_of_the_calendar_are_refused_not_500(client_for, client, editor_client, clinic,
                                                              professional, service, patient):
    far = "9999-12-31T23:50:00+00:00"
    response = client_for.post("/v1/appointments", {"professionalId": str(professional.pk),
                                                    "serviceId": str(service.pk), "startsAt": far,
                                                    "patientId": patient.hash}, format="json")
    assert (response.status_code, response.json()["error"]["code"]) == (422, "TOO_FAR_AHEAD")
    response = client.post(f"/booking/{clinic.slug}", public_booking(service, dt.datetime.fromisoformat(far),
                                                                     "Ana", "916555444"),
                           content_type="application/json")
    assert response.status_code == 422
    slots = client.get(f"/booking/{clinic.slug}/slots", {"serviceId": str(service.pk), "from": "9999-12-30",
                                                         "to": "9999-12-31"})
    assert slots.status_code == 200 and slots.json()["slots"] == []
    page = editor_client.post(reverse("scheduling:appointment_new"), {
        "professional": professional.pk, "service": service.pk, "date": "9999-12-31", "time": "23:50",
        "patient_name": "Ana", "patient_phone": "916555444"})
    assert page.status_code == 400


def test_list_filters_at_the_end_of_the_calendar_are_400_not_500(client_for):
    for path in ("/v1/appointments", "/api/v1/appointments", "/api/v1/schedules"):
        response = client_for.get(path, {"from": "9999-12-31", "to": "9999-12-31"})
        assert response.status_code in (200, 400), (path, response.status_code)
    assert client_for.get("/v1/appointments", {"to": "9999-12-31"}).status_code == 400
    assert client_for.get("/v1/appointments", {"from": "yesterday"}).status_code == 400
