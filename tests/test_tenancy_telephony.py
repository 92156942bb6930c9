"""Tenancy of the voice agent's provider events: conversation ids are unique per clinic only, so an event for this
clinic's agent never changes another clinic's call that carries the same conversation id."""
import pytest

from clinics.tests.factories import ClinicFactory
from telephony.agents import agent_for, call_failure_record
from telephony.models import Call
from telephony.tests.factories import CallFactory, MessageFactory

pytestmark = pytest.mark.django_db


def test_a_failed_call_event_of_this_clinics_agent_never_fails_another_clinics_call_with_the_same_conversation_id():
    clinic, other = ClinicFactory(), ClinicFactory()
    foreign = CallFactory(clinic=other, direction="outbound", status="initiated", conversation_id="conv_shared")

    assert call_failure_record(agent=agent_for(clinic), conversation_id="conv_shared") is None

    assert Call.objects.get(pk=foreign.pk).status == Call.Status.INITIATED


def test_a_failed_call_event_fails_this_clinics_call_of_that_conversation():
    clinic, other = ClinicFactory(), ClinicFactory()
    CallFactory(clinic=other, direction="outbound", status="initiated", conversation_id="conv_shared")
    own = CallFactory(clinic=clinic, direction="outbound", status="initiated", conversation_id="conv_shared")

    assert call_failure_record(agent=agent_for(clinic), conversation_id="conv_shared") == own

    assert Call.objects.get(pk=own.pk).status == Call.Status.FAILED


def test_the_end_report_names_this_clinics_patient_of_the_number_never_another_clinics():
    from scheduling.tests.factories import PatientFactory
    from telephony.outbound_webhooks import end_report_data

    clinic, other = ClinicFactory(), ClinicFactory()
    PatientFactory(clinic=other, name="Paciente Alheio", phone="+351912345678")
    call = CallFactory(clinic=clinic, phone_number="+351912345678", status="completed")

    assert end_report_data(call)["participant"] == {"number": "+351912345678", "name": None}

    PatientFactory(clinic=clinic, name="Paciente Própria", phone="+351912345678")
    assert end_report_data(call)["participant"]["name"] == "Paciente Própria"


def test_an_rgpd_export_lists_the_calls_and_messages_of_the_patients_number_in_this_clinic_only():
    from scheduling.patients import export_patient
    from scheduling.tests.factories import PatientFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    patient = PatientFactory(clinic=clinic, phone="+351912345678")
    own = CallFactory(clinic=clinic, phone_number="+351912345678")
    CallFactory(clinic=other, phone_number="+351912345678", summary="Chamada de outra clínica")

    own_message = MessageFactory(clinic=clinic, to_phone="+351912345678")
    MessageFactory(clinic=other, to_phone="+351912345678")

    exported = export_patient(patient)

    assert [call["id"] for call in exported["calls"]] == [str(own.pk)]
    assert [message["id"] for message in exported["messages"]] == [str(own_message.pk)]


def test_erasing_a_patient_scrubs_this_clinics_webhook_deliveries_only():
    from scheduling.patients import erase_patient
    from scheduling.tests.factories import PatientFactory
    from telephony.models import WebhookDelivery, WebhookEndpoint

    clinic, other = ClinicFactory(), ClinicFactory()
    payload = {"participant": {"number": "+351912345678", "name": "Maria Homónima"}}
    endpoint = WebhookEndpoint.objects.create(clinic=other, url="https://hooks.other.example/frontdesk",
                                              events=["conversation.end_report"])
    foreign = WebhookDelivery.objects.create(endpoint=endpoint, event="conversation.end_report", event_id="evt_1",
                                             payload=payload)
    patient = PatientFactory(clinic=clinic, name="Maria Homónima", phone="+351912345678")

    erase_patient(patient)

    assert WebhookDelivery.objects.get(pk=foreign.pk).payload == payload


def test_the_patients_timeline_shows_the_calls_and_messages_of_their_number_in_this_clinic_only():
    from scheduling.tests.factories import PatientFactory
    from telephony.tests.factories import MessageFactory
    from telephony.timeline import patient_events

    clinic, other = ClinicFactory(), ClinicFactory()
    patient = PatientFactory(clinic=clinic, phone="+351912345678")
    CallFactory(clinic=other, phone_number="+351912345678")
    MessageFactory(clinic=other, to_phone="+351912345678")

    assert patient_events(patient, full=True) == []

    CallFactory(clinic=clinic, phone_number="+351912345678")
    MessageFactory(clinic=clinic, to_phone="+351912345678")
    assert sorted(entry.kind for entry in patient_events(patient, full=True)) == ["call", "message"]


def test_a_meeting_titled_with_another_clinics_referral_id_never_becomes_that_referrals_meeting(client_for, clinic):
    from scheduling.tests.factories import PatientFactory, ProfessionalFactory
    from telephony.models import Referral

    other = ClinicFactory()
    foreign = Referral.objects.create(
        clinic=other, requesting_professional=ProfessionalFactory(clinic=other),
        specialist=ProfessionalFactory(clinic=other), patient=PatientFactory(clinic=other), reason="Dor torácica")

    response = client_for.post("/api/dyte/meeting", {"titleMeet": str(foreign.id)}, format="json")

    assert response.status_code == 201, response.content
    assert Referral.objects.get(pk=foreign.pk).meeting_id is None


def test_the_phone_agent_never_finds_another_clinics_service_by_name(clinic, other_clinic):
    from rest_framework.test import APIClient

    from scheduling.tests.factories import ServiceFactory

    ServiceFactory(clinic=clinic, name="Consulta geral")
    ServiceFactory(clinic=other_clinic, name="Dermatologia")
    agent = agent_for(clinic)
    client = APIClient()
    client.credentials(HTTP_X_AGENT_TOKEN=agent.token_encrypted)

    body = client.post(f"/api/agent-actions/services/{agent.agent_id}",
                       {"conversation_id": "conv_1", "query": "dermatologia"}, format="json").json()

    assert body["status"] == "unknown" and body["code"] == "UNKNOWN_SERVICE"
    assert "Dermatologia" not in str(body["services"] if "services" in body else body)


def _pending_number(clinic, phone="+351210000002", code="123456"):
    from django.utils import timezone

    from clinics.models import hash_secret
    from telephony.models import MessagingNumber

    return MessagingNumber.objects.create(clinic=clinic, phone=phone, code_digest=hash_secret(code),
                                          code_sent_at=timezone.now())


def test_verifying_another_clinics_pending_number_with_its_code_is_not_found_and_verifies_nothing():
    from clinics.errors import NotFound
    from telephony.models import MessagingNumber
    from telephony.numbers import messaging_number_verify

    clinic, other = ClinicFactory(), ClinicFactory()
    foreign = _pending_number(other)

    with pytest.raises(NotFound):
        messaging_number_verify(clinic=clinic, number_id=foreign.id, code="123456")

    assert MessagingNumber.objects.get(pk=foreign.pk).status == MessagingNumber.Status.PENDING


def test_the_verify_command_looks_for_the_number_in_the_named_clinic_only():
    from django.core.management import CommandError, call_command

    from telephony.models import MessagingNumber

    clinic, other = ClinicFactory(), ClinicFactory()
    foreign = _pending_number(other)

    with pytest.raises(CommandError, match="add it first"):
        call_command("messaging_number", "verify", clinic.slug, "+351210000002", "123456")

    assert MessagingNumber.objects.get(pk=foreign.pk).status == MessagingNumber.Status.PENDING
