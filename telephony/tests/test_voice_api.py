"""The voice and messaging API (docs/api/voice.md): outbound calls, WhatsApp templates, transcriptions."""
import json
from urllib.parse import parse_qs

import pytest

from clinics.models import AuditEvent
from config.providers import SMS
from telephony.agents import agent_for, agent_update
from telephony.backends.voice import VOICE
from telephony.models import Call, Message
from telephony.tests.conftest import ACCOUNT_SID
from telephony.tests.factories import CallFactory

pytestmark = pytest.mark.django_db

DOCUMENTED_CALL = {
    "agentId": None,
    "prompt": {"overwrite": True, "content": "You are Michael from the support team..."},
    "participant": {"number": "+1 (415) 555-0123", "about": "Customer named John Doe. Order #12345."},
    "message": {"start": "Hello! This is Michael from support."},
}


@pytest.fixture
def local_voice(settings):
    settings.PROVIDERS = {**settings.PROVIDERS, "voice": "local"}
    yield settings
    VOICE.reset()


@pytest.fixture
def elevenlabs(settings, httpserver):
    settings.PROVIDERS = {**settings.PROVIDERS, "voice": "elevenlabs"}
    settings.ELEVENLABS_API_KEY = "xi-test-key"
    settings.ELEVENLABS_API_BASE = httpserver.url_for("/")
    settings.ELEVENLABS_AGENT_PHONE_NUMBER_ID = "phnum_default"
    yield httpserver
    VOICE.reset()


def documented_call(agent_id):
    return {**DOCUMENTED_CALL, "agentId": agent_id}


def test_local_call_is_recorded_as_initiated_in_the_documented_shape(client_for, clinic, local_voice):
    agent = agent_for(clinic)
    response = client_for.post("/api/v1/call", documented_call(str(agent.id)), format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["message"] == "Operation completed successfully"
    assert body["data"]["status"] == "initiated"
    call = Call.objects.get(pk=body["data"]["callId"])
    assert call.clinic == clinic and call.direction == "outbound" and call.status == "initiated"
    assert call.phone_number == "+14155550123" and call.agent_id == agent.agent_id


def test_call_accepts_the_agents_public_id(client_for, clinic, local_voice):
    response = client_for.post("/api/v1/call", {"agentId": agent_for(clinic).agent_id,
                                                "participant": {"number": "+351912345678"}}, format="json")
    assert response.status_code == 200


def test_elevenlabs_call_sends_the_documented_outbound_request(client_for, clinic, elevenlabs):
    agent = agent_update(agent=agent_for(clinic), elevenlabs_metadata={"agent_id": "el_agent_1",
                                                                 "agent_phone_number_id": "phnum_clinic"})
    elevenlabs.expect_request("/v1/convai/twilio/outbound-call", method="POST").respond_with_json(
        {"success": True, "message": "Success", "conversation_id": "conv_out_1", "callSid": "CA123"})
    response = client_for.post("/api/v1/call", documented_call(agent.agent_id), format="json")
    assert response.status_code == 200, response.content
    request = elevenlabs.log[0][0]
    assert request.headers["xi-api-key"] == "xi-test-key"
    sent = json.loads(request.get_data())
    call = Call.objects.get(pk=response.json()["data"]["callId"])
    assert sent == {
        "agent_id": "el_agent_1", "agent_phone_number_id": "phnum_clinic", "to_number": "+14155550123",
        "conversation_initiation_client_data": {
            "dynamic_variables": {"frontdesk_call_id": str(call.id),
                                  "participant_about": "Customer named John Doe. Order #12345."},
            "conversation_config_override": {"agent": {
                "prompt": {"prompt": "You are Michael from the support team..."},
                "first_message": "Hello! This is Michael from support."}}},
    }
    assert call.conversation_id == "conv_out_1" and call.status == "initiated"


def test_elevenlabs_prompt_without_overwrite_travels_as_a_dynamic_variable(client_for, clinic, elevenlabs):
    elevenlabs.expect_request("/v1/convai/twilio/outbound-call").respond_with_json(
        {"success": True, "conversation_id": "conv_out_2"})
    client_for.post("/api/v1/call", {"agentId": agent_for(clinic).agent_id,
                                     "participant": {"number": "+351912345678"},
                                     "prompt": {"content": "Mention the flu vaccine.", "overwrite": False}},
                    format="json")
    sent = json.loads(elevenlabs.log[0][0].get_data())
    assert sent["agent_phone_number_id"] == "phnum_default"
    assert sent["conversation_initiation_client_data"]["dynamic_variables"]["additional_instructions"] == \
        "Mention the flu vaccine."
    assert "conversation_config_override" not in sent["conversation_initiation_client_data"]


def test_elevenlabs_refusal_marks_the_call_failed_and_answers_502(client_for, clinic, elevenlabs):
    elevenlabs.expect_request("/v1/convai/twilio/outbound-call").respond_with_json(
        {"detail": "Invalid phone number id"}, status=422)
    response = client_for.post("/api/v1/call", documented_call(agent_for(clinic).agent_id), format="json")
    assert response.status_code == 502
    body = response.json()
    assert body["success"] is False and body["code"] == "CALL_FAILED"
    assert Call.objects.get(pk=body["errors"]["callId"]).status == "failed"


def test_a_refused_call_is_audited_as_failed_never_as_placed(client_for, clinic, elevenlabs):
    elevenlabs.expect_request("/v1/convai/twilio/outbound-call").respond_with_json(
        {"detail": "Invalid phone number id"}, status=422)

    response = client_for.post("/api/v1/call", documented_call(agent_for(clinic).agent_id), format="json")

    call_id = response.json()["errors"]["callId"]
    assert list(AuditEvent.objects.filter(object_id=call_id).values_list("action", flat=True)) == ["call.failed"]


def test_a_placed_call_is_audited_once(client_for, clinic, local_voice):
    response = client_for.post("/api/v1/call", documented_call(agent_for(clinic).agent_id), format="json")

    call_id = response.json()["data"]["callId"]
    assert list(AuditEvent.objects.filter(object_id=call_id).values_list("action", flat=True)) == ["call.placed"]


@pytest.mark.parametrize("payload, field", [
    ({"participant": {"number": "+351912345678"}}, "agentId"),
    ({"agentId": "AGENT", "participant": {}}, "participant"),
    ({"agentId": "AGENT", "participant": {"number": "12"}}, "participant.number"),
    ({"agentId": "AGENT", "participant": {"number": "+351912345678"}, "prompt": {"overwrite": "maybe"}}, "prompt"),
])
def test_bad_call_body_is_400_in_the_voice_shape(client_for, clinic, local_voice, payload, field):
    payload = json.loads(json.dumps(payload).replace("AGENT", agent_for(clinic).agent_id))
    response = client_for.post("/api/v1/call", payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and body["data"] is None and field in body["errors"]
    assert not Call.objects.exists()


def test_another_clinics_agent_is_404(foreign_client, clinic, local_voice):
    agent = agent_for(clinic)
    for identifier in (str(agent.id), agent.agent_id):
        response = foreign_client.post("/api/v1/call", documented_call(identifier), format="json")
        assert response.status_code == 404 and response.json()["success"] is False
    assert not Call.objects.exists()


def test_a_paused_agent_places_no_call(client_for, clinic, local_voice):
    agent = agent_update(agent=agent_for(clinic), status="paused")
    response = client_for.post("/api/v1/call", documented_call(agent.agent_id), format="json")
    assert response.status_code == 409 and response.json()["code"] == "AGENT_PAUSED"


# --- WhatsApp templates -------------------------------------------------------------------------------------

def test_whatsapp_template_lands_in_the_local_outbox(client_for, clinic, local_sms):
    response = client_for.post("/api/v1/whatsapp/template", {
        "to": "+351 912 345 678", "templateName": "appointment_reminder",
        "body": "Olá {{1}}, a sua consulta é às {{2}}.", "variables": {"1": "Maria", "2": "10:00"}}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True and body["data"]["channel"] == "whatsapp" and body["data"]["to"] == "+351912345678"
    message = Message.objects.get(pk=body["data"]["messageId"])
    assert message.clinic == clinic and message.channel == "whatsapp" and message.status == "delivered"
    assert message.body == "Olá Maria, a sua consulta é às 10:00."
    assert message.content_variables == {"1": "Maria", "2": "10:00"}


def test_whatsapp_template_goes_to_twilio_with_content_sid_and_variables(client_for, clinic, twilio_settings,
                                                                         httpserver, messages_path):
    twilio_settings.TWILIO_WHATSAPP_FROM_NUMBER = "+351300000009"
    httpserver.expect_request(messages_path, method="POST").respond_with_json(
        {"sid": "SM" + "a" * 32, "status": "queued", "account_sid": ACCOUNT_SID}, status=201)
    sid = "HX" + "b" * 32
    response = client_for.post("/api/v1/whatsapp/template", {
        "to": "+351912345678", "templateSid": sid, "variables": {"1": "Maria", "2": "10:00"}}, format="json")
    assert response.status_code == 200, response.content
    sent = parse_qs(httpserver.log[0][0].get_data(as_text=True))
    assert sent["To"] == ["whatsapp:+351912345678"] and sent["From"] == ["whatsapp:+351300000009"]
    assert sent["ContentSid"] == [sid]
    assert json.loads(sent["ContentVariables"][0]) == {"1": "Maria", "2": "10:00"}
    assert "Body" not in sent
    SMS.reset()


@pytest.mark.parametrize("payload, field", [
    ({"templateName": "x", "body": "hi"}, "to"),
    ({"to": "+351912345678"}, "templateName"),
    ({"to": "+351912345678", "templateSid": "HX123"}, "templateSid"),
    ({"to": "+351912345678", "templateName": "reminder"}, "body"),
    ({"to": "not-a-number", "templateName": "reminder", "body": "hi"}, "to"),
])
def test_bad_whatsapp_body_is_400_in_the_voice_shape(client_for, local_sms, payload, field):
    response = client_for.post("/api/v1/whatsapp/template", payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and field in body["errors"]
    assert not Message.objects.exists()


# --- transcriptions -----------------------------------------------------------------------------------------

def test_transcriptions_list_calls_with_transcripts_of_the_clinic_only(client_for, clinic, other_clinic):
    with_transcript = CallFactory(clinic=clinic)
    CallFactory(clinic=clinic, transcript=[])
    CallFactory(clinic=other_clinic)
    response = client_for.get("/api/v1/transcriptions?page=1&per_page=10")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["meta"] == {"total": 1, "page": 1, "per_page": 10}
    row = body["data"][0]
    assert row["callId"] == str(with_transcript.id) and row["transcript"] == with_transcript.transcript
    assert set(row) == {"callId", "conversationId", "agentId", "direction", "status", "phoneNumber", "durationSecs",
                        "summary", "sentiment", "intent", "transcript", "createdAt"}


def test_transcriptions_hide_another_clinics_calls(foreign_client, clinic):
    CallFactory(clinic=clinic)
    assert foreign_client.get("/api/v1/transcriptions").json()["meta"]["total"] == 0


def test_transcriptions_bad_page_is_400(client_for):
    response = client_for.get("/api/v1/transcriptions?per_page=abc")
    assert response.status_code == 400 and response.json()["success"] is False


def test_a_read_only_key_cannot_place_a_call(make_client, clinic, local_voice):
    response = make_client(clinic, permissions=("read",)).post("/api/v1/call", documented_call(agent_for(clinic).agent_id),
                                                               format="json")
    assert response.status_code == 403 and response.json()["success"] is False
    assert not Call.objects.exists()


def test_transcriptions_queries_do_not_grow_with_calls(client_for, clinic, django_assert_max_num_queries):
    CallFactory.create_batch(5, clinic=clinic)
    with django_assert_max_num_queries(10):
        response = client_for.get("/api/v1/transcriptions")
    assert response.json()["meta"]["total"] == 5


@pytest.mark.usefixtures("local_webhook_receivers")
def test_initiating_a_call_tells_subscribed_endpoints(client_for, clinic, local_voice, httpserver,
                                                      django_capture_on_commit_callbacks):
    from telephony.outbound_webhooks import webhook_endpoint_create

    webhook_endpoint_create(clinic=clinic, url=httpserver.url_for("/hook"), events=["conversation.status"])
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for.post("/api/v1/call", documented_call(agent_for(clinic).agent_id), format="json")
    sent = json.loads(httpserver.log[0][0].get_data())
    assert sent["event"] == "conversation.status"
    assert sent["data"]["status"] == "initiated" and sent["data"]["call_id"] == response.json()["data"]["callId"]


def test_unreachable_elevenlabs_fails_the_call_with_502(client_for, clinic, elevenlabs, settings):
    settings.ELEVENLABS_API_BASE = "http://127.0.0.1:9"
    response = client_for.post("/api/v1/call", documented_call(agent_for(clinic).agent_id), format="json")
    assert response.status_code == 502 and "unreachable" in response.json()["message"]
    assert Call.objects.get().status == "failed"


def test_elevenlabs_without_an_api_key_places_nothing(client_for, clinic, elevenlabs, settings):
    settings.ELEVENLABS_API_KEY = ""
    response = client_for.post("/api/v1/call", documented_call(agent_for(clinic).agent_id), format="json")
    assert response.status_code == 502 and response.json()["code"] == "CALL_FAILED"
    assert elevenlabs.log == []
