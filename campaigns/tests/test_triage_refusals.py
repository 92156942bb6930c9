"""A triage link that cannot be texted is not created: the send is one use case, and a refusal leaves nothing."""
import pytest

from campaigns.models import PatientLink
from campaigns.tests.factories import AppointmentFactory
from clinics.models import AuditEvent
from config.providers import SMS

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def unreachable_twilio(settings):
    settings.PROVIDERS = {**settings.PROVIDERS, "sms": "twilio"}
    settings.TWILIO_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
    settings.TWILIO_AUTH_TOKEN = "fake-twilio-auth-token"
    settings.TWILIO_FROM_NUMBER = "+351300000001"
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"
    yield settings
    SMS.reset()


def test_triage_link_that_cannot_be_texted_leaves_no_link_and_no_audit_row(clinic, client_for, unreachable_twilio):
    appointment = AppointmentFactory(clinic=clinic)

    response = client_for.post(f"/v1/appointments/{appointment.id}/triage/send")

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "MESSAGE_DELIVERY_FAILED"
    assert not PatientLink.objects.exists()
    assert not AuditEvent.objects.filter(action="triage.sent").exists()


def test_triage_link_for_another_clinics_appointment_stores_nothing(clinic, foreign_client):
    appointment = AppointmentFactory(clinic=clinic)

    response = foreign_client.post(f"/v1/appointments/{appointment.id}/triage/send")

    assert response.status_code == 404
    assert not PatientLink.objects.exists()
