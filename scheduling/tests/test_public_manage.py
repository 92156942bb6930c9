"""The patient's link from the booking confirmation: the .ics file and the manage page (cancel, reschedule)."""
import datetime as dt

import pytest
from django.core import signing
from django.test import override_settings

from clinics.models import AuditEvent
from scheduling import public_manage
from scheduling.models import Appointment
from scheduling.tests.conftest import upcoming
from scheduling.tests.test_public_booking import booking_payload

pytestmark = pytest.mark.django_db


def book(client, clinic, service, starts):
    response = client.post(f"/booking/{clinic.slug}", booking_payload(service, starts),
                           content_type="application/json")
    assert response.status_code == 201, response.json()
    return response.json()


def unfold(text):
    return text.replace("\r\n ", "")


def test_confirmation_links_carry_no_patient_data_and_give_an_rfc5545_calendar_file(client, clinic, professional,
                                                                                     service):
    clinic.address = "Rua das Flores, 12; 4050-262 Porto"
    clinic.save(update_fields=["address"])
    starts = upcoming(days=2, clinic=clinic)
    body = book(client, clinic, service, starts)
    for url in (body["manageUrl"], body["calendarUrl"]):
        assert url.startswith(f"http://testserver/booking/{clinic.slug}/manage/")
        assert "Rita" not in url and "914000333" not in url and "rita" not in url.lower()
    response = client.get(body["calendarUrl"])
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    raw = response.content.decode()
    assert raw.endswith("\r\n") and "\n" not in raw.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in raw.split("\r\n"))
    fields = dict(line.split(":", 1) for line in unfold(raw).split("\r\n") if line)
    appointment = Appointment.objects.get(pk=body["id"])
    assert fields["UID"] == f"{appointment.pk}@frontdesk"
    assert fields["DTSTART"] == starts.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    assert fields["DTEND"] == (starts + dt.timedelta(minutes=30)).astimezone(dt.timezone.utc).strftime(
        "%Y%m%dT%H%M%SZ")
    assert fields["DTSTAMP"].endswith("Z") and fields["STATUS"] == "CONFIRMED"
    assert fields["LOCATION"] == "Rua das Flores\\, 12\\; 4050-262 Porto"
    assert service.name in fields["SUMMARY"]
    # The same page as the booking's manageUrl: the token is signed again per request (its timestamp may differ
    # by a second), so it is compared by what it opens.
    prefix = f"http://testserver/booking/{clinic.slug}/manage/"
    assert fields["URL"].startswith(prefix) and "/" not in fields["URL"][len(prefix):]
    assert public_manage.appointment_from_token(clinic, fields["URL"][len(prefix):]) == appointment
    assert public_manage.appointment_from_token(clinic, body["manageUrl"][len(prefix):]) == appointment


def test_long_lines_fold_without_splitting_a_character():
    line = "SUMMARY:" + "Consulta de ortodontia — " * 8
    folded = public_manage._ics_fold(line)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == line


def test_manage_page_masks_the_patient_and_cancels_once_with_the_patients_reason(client, clinic, professional,
                                                                                  service):
    starts = upcoming(days=2, clinic=clinic)
    body = book(client, clinic, service, starts)
    page = client.get(body["manageUrl"])
    html = page.content.decode()
    assert page.status_code == 200 and "R. G." in html and "Rita Gomes" not in html and service.name in html
    assert client.post(body["manageUrl"], {"action": "cancel"}).status_code == 200
    assert client.post(body["manageUrl"], {"action": "cancel"}).status_code == 200  # idempotent
    appointment = Appointment.objects.get(pk=body["id"])
    assert appointment.status == Appointment.Status.CANCELLED
    rows = AuditEvent.objects.filter(action="appointment.status", object_id=str(appointment.pk))
    assert rows.count() == 1
    assert rows.get().extra["reason"] == "cancelled by patient" and rows.get().clinic_id == clinic.pk
    slots = client.get(f"/booking/{clinic.slug}/slots", {"serviceId": str(service.pk),
                                                       "from": starts.date().isoformat(),
                                                       "to": starts.date().isoformat()}).json()["slots"]
    assert starts in [dt.datetime.fromisoformat(slot["startsAt"]) for slot in slots]


def test_manage_page_reschedules_to_a_free_time_and_refuses_a_taken_one(client, clinic, professional, service):
    starts = upcoming(days=2, clinic=clinic)
    first = book(client, clinic, service, starts)
    other = book(client, clinic, service, starts + dt.timedelta(hours=2))
    html = client.get(first["manageUrl"], {"day": starts.date().isoformat()}).content.decode()
    new_time = starts + dt.timedelta(hours=1)
    assert new_time.isoformat() in html
    response = client.post(first["manageUrl"], {"action": "reschedule", "startsAt": new_time.isoformat()})
    assert response.status_code == 302
    assert Appointment.objects.get(pk=first["id"]).starts_at == new_time
    assert AuditEvent.objects.filter(action="appointment.reschedule", object_id=first["id"]).count() == 1
    taken = client.post(first["manageUrl"], {"action": "reschedule", "startsAt": other["startsAt"]})
    assert taken.status_code == 409 and Appointment.objects.get(pk=first["id"]).starts_at == new_time
    assert client.post(first["manageUrl"], {"action": "reschedule", "startsAt": "soon"}).status_code == 400
    assert client.post(first["manageUrl"], {"action": "explode"}).status_code == 400


def test_tampered_token_is_404_and_expired_token_is_410(client, clinic, professional, service):
    body = book(client, clinic, service, upcoming(days=2, clinic=clinic))
    tampered = body["manageUrl"][:-3] + ("xyz" if not body["manageUrl"].endswith("xyz") else "abc")
    assert client.get(tampered).status_code == 404
    assert client.get(f"/booking/{clinic.slug}/manage/garbage/calendar.ics").status_code == 404
    with override_settings(BOOKING_MANAGE_MAX_AGE=-1):
        expired = client.get(body["manageUrl"])
        assert expired.status_code == 410 and "expired" in expired.content.decode()
        assert client.post(body["manageUrl"], {"action": "cancel"}).status_code == 410
    assert Appointment.objects.get(pk=body["id"]).status != Appointment.Status.CANCELLED


def test_another_clinics_token_on_this_clinics_url_is_404(client, clinic, other_clinic, professional, service):
    body = book(client, clinic, service, upcoming(days=2, clinic=clinic))
    token = body["manageUrl"].rsplit("/", 1)[1]
    assert client.get(f"/booking/{other_clinic.slug}/manage/{token}").status_code == 404
    assert client.post(f"/booking/{other_clinic.slug}/manage/{token}", {"action": "cancel"}).status_code == 404
    assert client.get(f"/booking/{other_clinic.slug}/manage/{token}/calendar.ics").status_code == 404
    assert Appointment.objects.get(pk=body["id"]).status != Appointment.Status.CANCELLED


def test_a_token_signed_with_another_salt_is_refused(client, clinic, professional, service):
    body = book(client, clinic, service, upcoming(days=2, clinic=clinic))
    forged = signing.dumps({"a": body["id"]}, salt="campaigns.triage")
    assert client.get(f"/booking/{clinic.slug}/manage/{forged}").status_code == 404
