"""`/booking/<slug>/check`: the booking page asks whether a time is still free before it sends the booking."""
import datetime as dt

import pytest

from scheduling.tests.conftest import upcoming
from scheduling.tests.factories import AppointmentFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def test_a_free_time_is_free_and_a_taken_one_is_not(client, clinic, professional, service):
    starts = upcoming(days=2, clinic=clinic)
    url = f"/booking/{clinic.slug}/check"
    params = {"serviceId": str(service.pk), "startsAt": starts.isoformat()}
    assert client.get(url, params).json() == {"free": True}
    AppointmentFactory(professional=professional, service=service, starts_at=starts)
    assert client.get(url, params).json() == {"free": False}
    assert client.get(url, {**params, "professionalId": str(professional.pk)}).json() == {"free": False}
    later = {**params, "startsAt": (starts + dt.timedelta(hours=1)).isoformat()}
    assert client.get(url, later).json() == {"free": True}


def test_bad_input_gets_the_public_error_and_another_clinics_service_is_404(client, clinic, other_clinic,
                                                                           professional, service):
    url = f"/booking/{clinic.slug}/check"
    for params in ({}, {"serviceId": str(service.pk)}, {"serviceId": str(service.pk), "startsAt": "noon"},
                   {"serviceId": str(service.pk), "startsAt": "2027-01-01T10:00:00"}):
        response = client.get(url, params)
        assert response.status_code == 400 and response.json()["code"] == "VALIDATION_ERROR"
    foreign = ServiceFactory(clinic=other_clinic)
    starts = upcoming(days=2, clinic=clinic).isoformat()
    response = client.get(url, {"serviceId": str(foreign.pk), "startsAt": starts})
    assert response.status_code == 404 and response.json()["code"]
    assert client.get(f"/booking/{other_clinic.slug}/check",
                      {"serviceId": str(service.pk), "startsAt": starts}).status_code == 404


def test_the_privacy_consent_given_with_a_booking_is_kept_and_audited(client, clinic, professional, service):
    from clinics.models import AuditEvent
    from scheduling.models import Patient
    from scheduling.tests.test_public_booking import booking_payload

    starts = upcoming(days=2, clinic=clinic)
    body = client.post(f"/booking/{clinic.slug}", booking_payload(service, starts, privacyConsent=True),
                       content_type="application/json").json()
    patient = Patient.objects.get(hash=body["patientId"])
    assert patient.consents == {"privacy": True}
    row = AuditEvent.objects.get(action="patient.consent", object_id=str(patient.pk))
    assert row.extra == {"kind": "privacy", "granted": True} and row.clinic_id == clinic.pk
    page = client.get(f"/booking/{clinic.slug}/privacy").content.decode()
    assert clinic.name in page
    assert client.get("/booking/nowhere/privacy").status_code == 404


def test_a_refused_booking_records_no_consent(client, clinic, professional, service):
    from clinics.models import AuditEvent
    from scheduling.tests.test_public_booking import booking_payload

    starts = upcoming(days=2, clinic=clinic)
    AppointmentFactory(professional=professional, service=service, starts_at=starts)
    response = client.post(f"/booking/{clinic.slug}", booking_payload(service, starts, privacyConsent=True),
                           content_type="application/json")
    assert response.status_code == 409
    assert not AuditEvent.objects.filter(action="patient.consent").exists()


def test_another_clinics_professional_is_404_on_the_slots_the_check_and_the_booking_and_books_nothing(
        client, clinic, other_clinic, professional, service):
    from scheduling.models import Appointment, Patient
    from scheduling.tests.factories import ProfessionalFactory
    from scheduling.tests.test_public_booking import booking_payload

    # Linked to this clinic's service and working all day: only the clinic of the row tells it apart.
    foreign = ProfessionalFactory(clinic=other_clinic, services=[service],
                                  hours=[(d, "00:00", "23:45") for d in range(7)])
    starts = upcoming(days=2, clinic=clinic)
    response = client.get(f"/booking/{clinic.slug}/slots", {
        "serviceId": str(service.pk), "professionalId": str(foreign.pk), "from": starts.date().isoformat()})
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"
    response = client.get(f"/booking/{clinic.slug}/check", {
        "serviceId": str(service.pk), "professionalId": str(foreign.pk), "startsAt": starts.isoformat()})
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"
    response = client.post(f"/booking/{clinic.slug}", booking_payload(service, starts, professional=foreign),
                           content_type="application/json")
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"
    assert not Appointment.objects.exists() and not Patient.objects.exists()
    # This clinic's own professional books at that time.
    response = client.post(f"/booking/{clinic.slug}", booking_payload(service, starts, professional=professional),
                           content_type="application/json")
    assert response.status_code == 201 and response.json()["professionalId"] == str(professional.pk)
