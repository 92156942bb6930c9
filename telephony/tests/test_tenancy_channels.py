"""Another clinic's ids, read and written, across telephony; and refused sends that leave nothing behind."""
import pytest

from clinics.errors import NotFound
from clinics.models import AuditEvent
from scheduling import patients
from scheduling.tests.factories import PatientFactory
from telephony import outbound_webhooks, services
from telephony.models import Call, Message, WebhookEndpoint, phone_index
from telephony.services import ERASED, MAX_CONTENT_VARIABLES

from .factories import CallFactory, MessageFactory

pytestmark = pytest.mark.django_db

PHONE = "+351912345678"
TEMPLATE_URL = "/api/v1/whatsapp/template"


def test_erasing_a_patient_wipes_only_this_clinics_calls_and_messages(clinic, other_clinic):
    patient = PatientFactory(clinic=clinic, phone=PHONE)
    ours_call, ours_message = CallFactory(clinic=clinic, phone_number=PHONE), MessageFactory(clinic=clinic,
                                                                                            to_phone=PHONE)
    theirs_call = CallFactory(clinic=other_clinic, phone_number=PHONE, summary="Marcação para terça")
    theirs_message = MessageFactory(clinic=other_clinic, to_phone=PHONE, body="Até terça!")

    patients.erase_patient(patient)

    ours_call.refresh_from_db()
    ours_message.refresh_from_db()
    theirs_call.refresh_from_db()
    theirs_message.refresh_from_db()
    assert (ours_call.phone_number, ours_call.transcript, ours_message.body) == ("", [], ERASED)
    assert theirs_call.phone_number == PHONE and theirs_call.summary == "Marcação para terça"
    assert theirs_call.phone_index == phone_index(PHONE)
    assert theirs_message.body == "Até terça!" and theirs_message.to_phone == PHONE


def test_contact_erase_counts_only_this_clinics_rows(clinic, other_clinic):
    CallFactory(clinic=clinic, phone_number=PHONE)
    CallFactory(clinic=other_clinic, phone_number=PHONE)
    MessageFactory(clinic=other_clinic, to_phone=PHONE)

    assert services.contact_erase(clinic=clinic, phone_index_value=phone_index(PHONE)) == {
        "messages": 0, "calls": 1, "webhook_deliveries": 0}
    assert Call.objects.for_clinic(other_clinic).get().phone_number == PHONE


def test_another_clinics_webhook_endpoint_is_404_to_delete_and_invisible(clinic, client_for, foreign_client):
    endpoint, _secret = outbound_webhooks.webhook_endpoint_create(
        clinic=clinic, url="https://integration.example/hook", events=["conversation.end_report"])

    deleted = foreign_client.delete(f"/api/v1/webhooks/{endpoint.id}")
    listed = foreign_client.get("/api/v1/webhooks").json()

    assert deleted.status_code == 404 and deleted.json()["success"] is False
    assert listed["data"] == []
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert not AuditEvent.objects.filter(action="webhook_endpoint.delete").exists()
    assert client_for.delete(f"/api/v1/webhooks/{endpoint.id}").status_code == 200


def test_webhook_endpoint_delete_refuses_another_clinics_endpoint(clinic, other_clinic):
    endpoint, _secret = outbound_webhooks.webhook_endpoint_create(
        clinic=other_clinic, url="https://integration.example/hook", events=["conversation.status"])

    with pytest.raises(NotFound):
        outbound_webhooks.webhook_endpoint_delete(clinic=clinic, endpoint=endpoint)
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_another_clinics_call_is_404_on_every_read(foreign_client, clinic):
    call = CallFactory(clinic=clinic, recording_path="recordings/a.mp3")

    assert foreign_client.get(f"/v1/calls/{call.id}").status_code == 404
    assert foreign_client.get(f"/v1/calls/{call.id}/recording").status_code == 404
    assert foreign_client.get(f"/api/analytics/conversation/{call.conversation_id}").status_code == 404
    assert foreign_client.get("/api/v1/transcriptions").json()["data"] == []


@pytest.mark.parametrize("payload", [
    {"to": "12", "templateName": "lembrete", "body": "Olá {{1}}", "variables": {"1": "Ana"}},
    {"to": PHONE, "templateName": "lembrete", "body": "Olá",
     "variables": {str(n): "x" for n in range(MAX_CONTENT_VARIABLES + 1)}},
    {"to": PHONE, "templateName": "lembrete", "body": "Olá", "variables": {"x" * 41: "y"}},
    {"to": PHONE, "templateName": "lembrete", "body": "Olá", "variables": {"1": "x" * 1001}},
])
def test_refused_whatsapp_send_leaves_no_message_and_no_audit_row(client_for, local_sms, payload):
    response = client_for.post(TEMPLATE_URL, payload, format="json")

    assert response.status_code == 400 and response.json()["success"] is False
    assert not Message.objects.exists()
    assert not AuditEvent.objects.filter(action="message.sent").exists()


def test_whatsapp_send_is_audited_once_the_provider_took_it(client_for, clinic, local_sms):
    response = client_for.post(TEMPLATE_URL, {"to": PHONE, "templateName": "lembrete", "body": "Olá {{1}}",
                                              "variables": {"1": "Ana"}}, format="json")

    assert response.status_code == 200
    message = Message.objects.for_clinic(clinic).get()
    assert message.body == "Olá Ana" and message.channel == Message.Channel.WHATSAPP
    assert AuditEvent.objects.filter(action="message.sent", object_id=str(message.id)).count() == 1
