"""The public booking's optional marketing consent (docs/api/public.md, `marketingConsent`): an unticked, labelled
box on the page; ticked, it is kept on the patient as pending (`marketing_pending`), in the booking's transaction,
and the clinic's SMS campaigns reach the patient only once they confirm it from the SMS link
(campaigns/tests/test_marketing_double_opt_in.py); a refused booking leaves no consent behind."""
import pytest

from campaigns import bulk
from clinics.models import AuditEvent
from scheduling.models import Patient
from scheduling.tests.conftest import upcoming
from scheduling.tests.factories import AppointmentFactory, PatientFactory
from scheduling.tests.test_public_booking import assert_public_error, booking_payload

pytestmark = pytest.mark.django_db


def consent_rows(patient=None):
    rows = AuditEvent.objects.filter(action="patient.consent")
    return rows.filter(object_id=str(patient.pk)) if patient is not None else rows


def test_the_page_offers_an_unticked_labelled_marketing_box_naming_the_clinic(client, clinic, service):
    page = client.get(f"/booking/{clinic.slug}", HTTP_ACCEPT="text/html").content.decode()
    box = page[page.index('name="marketingConsent"') - 60:page.index("by SMS (optional)") + 20]
    assert '<label class="choice"><input type="checkbox" name="marketingConsent">' in box
    assert f"Send me news and offers from {clinic.name} by SMS" in box and "checked" not in box


def test_a_ticked_box_keeps_the_marketing_consent_pending_and_campaigns_do_not_reach_the_patient_yet(
        client, clinic, professional, service):
    starts = upcoming(days=2, clinic=clinic)
    response = client.post(f"/booking/{clinic.slug}",
                           booking_payload(service, starts, privacyConsent=True, marketingConsent=True),
                           content_type="application/json")

    assert response.status_code == 201
    patient = Patient.objects.get(hash=response.json()["patientId"])
    assert set(patient.consents) == {"privacy", "marketing_pending"} and patient.consents["privacy"] is True
    assert sorted((row.extra["kind"], row.extra.get("granted"), row.extra.get("pending"), row.clinic_id)
                  for row in consent_rows(patient)) == [
        ("marketing", None, True, clinic.pk), ("privacy", True, None, clinic.pk)]
    assert bulk.audience_estimate(clinic=clinic, audience=bulk.Audience())["targets"] == 0


def test_an_unticked_box_records_nothing_and_keeps_an_earlier_refusal(client, clinic, professional, service):
    rita = PatientFactory(clinic=clinic, name="Rita Gomes", phone="+351914000333", consents={"marketing": False})
    response = client.post(f"/booking/{clinic.slug}",
                           booking_payload(service, upcoming(days=2, clinic=clinic), marketingConsent=False),
                           content_type="application/json")

    assert response.status_code == 201 and response.json()["patientId"] == rita.hash
    rita.refresh_from_db()
    assert rita.consents == {"marketing": False} and not consent_rows().exists()


def test_a_refused_booking_leaves_no_marketing_consent_behind(client, clinic, professional, service):
    rita = PatientFactory(clinic=clinic, name="Rita Gomes", phone="+351914000333", consents={})
    starts = upcoming(days=2, clinic=clinic)
    AppointmentFactory(professional=professional, service=service, starts_at=starts)

    response = client.post(f"/booking/{clinic.slug}",
                           booking_payload(service, starts, professional, marketingConsent=True),
                           content_type="application/json")

    assert_public_error(response, 409, "SLOT_TAKEN")
    rita.refresh_from_db()
    assert rita.consents == {} and not consent_rows().exists()
    assert bulk.audience_estimate(clinic=clinic, audience=bulk.Audience())["targets"] == 0


def test_a_malformed_marketing_consent_is_a_400_and_books_nothing(client, clinic, professional, service):
    response = client.post(f"/booking/{clinic.slug}",
                           booking_payload(service, upcoming(days=2, clinic=clinic), marketingConsent="perhaps"),
                           content_type="application/json")

    body = assert_public_error(response, 400, "VALIDATION_ERROR")
    assert "marketingConsent" in str(body)
    assert not Patient.objects.exists() and not consent_rows().exists()


def test_the_pending_consent_is_dated_by_the_bookings_clock(clinic, professional, service):
    """`appointment_book(now=...)` dates the request with the moment it is given, the one its link will name."""
    import datetime as dt

    from scheduling import services

    starts = upcoming(days=2, clinic=clinic)
    asked = starts - dt.timedelta(days=1, minutes=7)
    appointment = services.appointment_book(clinic=clinic, service=service, starts_at=starts,
                                            patient_name="Rita Gomes", patient_phone="+351912000441",
                                            source="online", now=asked, consents=("privacy", "marketing"))
    assert appointment.patient.consents == {"privacy": True, "marketing_pending": asked.isoformat()}
