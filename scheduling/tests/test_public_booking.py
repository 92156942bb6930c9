"""Public self-service booking at /booking/<slug>: JSON, the HTML page, slots, abuse protection, races."""
import datetime as dt
import threading

import pytest
from django.db import connection
from django.test import Client

from scheduling.models import Appointment, Patient
from scheduling.tests.conftest import upcoming
from scheduling.tests.factories import AppointmentFactory, ProfessionalFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def assert_public_error(response, status, code=None):
    body = response.json()
    assert response.status_code == status, body
    assert body["detail"] and body["code"]
    if code:
        assert body["code"] == code
    return body


def booking_payload(service, starts, professional=None, phone="+351914000333", **extra):
    payload = {"serviceId": str(service.pk), "startsAt": starts.isoformat(),
               "patient": {"name": "Rita Gomes", "phone": phone, "email": "rita@example.test"}, **extra}
    if professional is not None:
        payload["professionalId"] = str(professional.pk)
    return payload


def test_clinic_info_lists_only_bookable_services_and_professionals(client, clinic, professional, service):
    hidden = ServiceFactory(clinic=clinic, online_bookable=False)
    ProfessionalFactory(clinic=clinic, services=[hidden])
    body = client.get(f"/booking/{clinic.slug}", HTTP_ACCEPT="application/json").json()
    assert body["clinic"]["name"] == clinic.name and body["clinic"]["timezone"] == "Europe/Lisbon"
    assert [s["id"] for s in body["services"]] == [str(service.pk)]
    assert {"id", "name", "durationMinutes", "price", "currency"} <= set(body["services"][0])
    assert [(p["id"], p["serviceIds"]) for p in body["professionals"]] == [(str(professional.pk), [str(service.pk)])]


def test_browser_gets_the_booking_page(client, clinic, service):
    response = client.get(f"/booking/{clinic.slug}", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert clinic.name in page and service.name in page and 'name="website"' in page


def test_unknown_clinic_is_404_in_both_forms(client):
    assert_public_error(client.get("/booking/nowhere", HTTP_ACCEPT="application/json"), 404)
    assert client.get("/booking/nowhere", HTTP_ACCEPT="text/html").status_code == 404
    assert_public_error(client.get("/booking/nowhere/slots?serviceId=00000000-0000-4000-8000-000000000000"), 404)


def test_slots_shape_and_taken_times(client, clinic, professional, service):
    day = upcoming(days=3, clinic=clinic)
    AppointmentFactory(professional=professional, service=service, starts_at=day.replace(hour=10))
    body = client.get(f"/booking/{clinic.slug}/slots", {"serviceId": str(service.pk), "from": day.date().isoformat(),
                                                       "to": day.date().isoformat()}).json()
    starts = [dt.datetime.fromisoformat(slot["startsAt"]) for slot in body["slots"]]
    assert set(body["slots"][0]) == {"startsAt", "endsAt", "professionalId"}
    assert day.replace(hour=9, minute=30) in starts and day.replace(hour=10, minute=30) in starts
    assert day.replace(hour=10) not in starts and day.replace(hour=9, minute=45) not in starts


def test_slots_bad_input_gets_public_error(client, clinic, service, other_clinic):
    url = f"/booking/{clinic.slug}/slots"
    assert_public_error(client.get(url), 400, "VALIDATION_ERROR")
    assert_public_error(client.get(url, {"serviceId": "nope"}), 400)
    assert_public_error(client.get(url, {"serviceId": str(service.pk), "from": "2027-01-01", "to": "2027-03-01"}), 400)
    assert_public_error(client.get(url, {"serviceId": str(service.pk), "from": "tomorrow"}), 400)
    foreign_service = ServiceFactory(clinic=other_clinic)
    assert_public_error(client.get(url, {"serviceId": str(foreign_service.pk)}), 404)


def test_public_booking_creates_patient_appointment_and_sms(client, clinic, professional, service,
                                                            django_capture_on_commit_callbacks):
    from telephony.models import Message

    starts = upcoming(days=2, clinic=clinic)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/booking/{clinic.slug}", booking_payload(service, starts),
                               content_type="application/json")
    body = response.json()
    assert response.status_code == 201, body
    assert {"id", "patientId", "professionalId", "serviceId", "startsAt", "endsAt", "status"} <= set(body)
    assert (body["professionalId"], body["source"]) == (str(professional.pk), "online")
    patient = Patient.objects.get(hash=body["patientId"])
    assert patient.clinic == clinic and patient.phone == "+351914000333"
    sms = Message.objects.get(clinic=clinic, purpose="booking_confirmation")
    assert sms.to_phone == "+351914000333" and clinic.name in sms.body
    again = client.post(f"/booking/{clinic.slug}", booking_payload(service, starts + dt.timedelta(hours=2)),
                        content_type="application/json")
    assert again.json()["patientId"] == body["patientId"]


def test_public_booking_of_a_taken_slot_gets_409(client, clinic, professional, service):
    starts = upcoming(days=2, clinic=clinic)
    AppointmentFactory(professional=professional, service=service, starts_at=starts)
    assert_public_error(client.post(f"/booking/{clinic.slug}", booking_payload(service, starts, professional),
                                    content_type="application/json"), 409, "SLOT_TAKEN")
    assert_public_error(client.post(f"/booking/{clinic.slug}", booking_payload(service, starts),
                                    content_type="application/json"), 409, "SLOT_TAKEN")


def test_public_booking_inside_minimum_notice_is_refused(client, clinic, professional, service):
    soon = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0) + dt.timedelta(minutes=20)
    assert_public_error(client.post(f"/booking/{clinic.slug}", booking_payload(service, soon, professional),
                                    content_type="application/json"), 422, "TOO_SOON")


def test_honeypot_filled_is_rejected(client, clinic, professional, service):
    response = client.post(f"/booking/{clinic.slug}",
                           booking_payload(service, upcoming(clinic=clinic), website="http://spam.example"),
                           content_type="application/json")
    assert_public_error(response, 400, "REJECTED")
    assert not Appointment.objects.exists() and not Patient.objects.exists()


def test_bad_booking_input_gets_public_error(client, clinic, professional, service):
    url = f"/booking/{clinic.slug}"
    assert_public_error(client.post(url, {"serviceId": str(service.pk)}, content_type="application/json"), 400)
    assert_public_error(client.post(url, booking_payload(service, upcoming(clinic=clinic), phone="123"),
                                    content_type="application/json"), 400, "INVALID_PHONE_NUMBER")


def test_other_clinics_service_cannot_be_booked_here(client, clinic, other_clinic):
    foreign_service = ServiceFactory(clinic=other_clinic)
    ProfessionalFactory(clinic=other_clinic, services=[foreign_service])
    assert_public_error(client.post(f"/booking/{clinic.slug}", booking_payload(foreign_service, upcoming()),
                                    content_type="application/json"), 404)


def test_rate_limit_per_ip(client, clinic, settings):
    settings.BOOKING_RATE_LIMIT = (3, 600)
    for _ in range(3):
        assert client.post(f"/booking/{clinic.slug}", {}, content_type="application/json").status_code == 400
    response = client.post(f"/booking/{clinic.slug}", {}, content_type="application/json")
    assert_public_error(response, 429, "RATE_LIMIT_EXCEEDED")
    assert response["Retry-After"] == "600"
    other_ip = client.post(f"/booking/{clinic.slug}", {}, content_type="application/json", REMOTE_ADDR="10.0.0.9")
    assert other_ip.status_code == 400


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_bookings_of_one_slot_give_one_201_and_nineteen_409():
    from clinics.tests.factories import ClinicFactory

    clinic = ClinicFactory()
    service = ServiceFactory(clinic=clinic)
    professional = ProfessionalFactory(clinic=clinic, services=[service],
                                       hours=[(d, "00:00", "23:45") for d in range(7)])
    starts = upcoming(days=2, clinic=clinic)
    barrier = threading.Barrier(20)
    statuses = []
    unexpected = []

    def attempt(index):
        try:
            client = Client(REMOTE_ADDR=f"10.1.0.{index}")
            barrier.wait()
            response = client.post(f"/booking/{clinic.slug}",
                                   booking_payload(service, starts, professional, phone="+351915000444"),
                                   content_type="application/json")
            statuses.append(response.status_code)
            if response.status_code not in (201, 409):
                unexpected.append(response.content[:500])
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            unexpected.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(index,)) for index in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * 19, unexpected
    assert Appointment.objects.filter(professional=professional).count() == 1
    assert Patient.objects.filter(clinic=clinic).count() == 1
