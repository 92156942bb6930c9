"""Sending text messages through each backend, faked only at the provider's HTTP boundary."""
import base64

import pytest

from clinics.api.authentication import Credential
from clinics.errors import DomainError
from clinics.models import AuditEvent
from config.providers import SMS
from telephony.backends.sms import LocalSMSBackend, TwilioSMSBackend
from telephony.exceptions import InvalidPhoneNumber, MessageDeliveryFailed
from telephony.models import Message, phone_index
from telephony.services import MAX_BODY_LENGTH, MAX_CONTENT_VARIABLES, message_enqueue, message_send
from telephony.tasks import send_sms_task

from .conftest import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER

pytestmark = pytest.mark.django_db

SID = "SM" + "a1b2c3d4e5f60718" * 2


def twilio_message_json(to, body, status="queued", sid=SID, from_=FROM_NUMBER, messaging_service_sid=None):
    """What Twilio's Messages.json answers on create (trimmed to the documented fields)."""
    return {
        "account_sid": ACCOUNT_SID, "api_version": "2010-04-01", "body": body,
        "date_created": "Wed, 25 Nov 2026 20:00:00 +0000", "date_sent": None,
        "date_updated": "Wed, 25 Nov 2026 20:00:00 +0000", "direction": "outbound-api", "error_code": None,
        "error_message": None, "from": from_, "messaging_service_sid": messaging_service_sid, "num_media": "0",
        "num_segments": "1", "price": None, "price_unit": "USD", "sid": sid, "status": status,
        "subresource_uris": {"media": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}/Media.json"},
        "to": to, "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
    }


def basic_auth(request):
    scheme, _, encoded = request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(encoded).decode()


def test_registry_picks_backend_from_setting_and_follows_changes(settings):
    settings.PROVIDERS = {**settings.PROVIDERS, "sms": "local"}
    assert isinstance(SMS.backend(), LocalSMSBackend)
    assert SMS.backend() is SMS.backend()
    settings.PROVIDERS = {**settings.PROVIDERS, "sms": "twilio"}
    assert isinstance(SMS.backend(), TwilioSMSBackend)


def test_twilio_sms_reaches_the_api_with_form_fields_and_credentials(clinic, twilio_settings, httpserver,
                                                                      messages_path):
    httpserver.expect_oneshot_request(messages_path, method="POST").respond_with_json(
        twilio_message_json("+351912345678", "Lembrete: consulta amanhã às 10:00"), status=201)

    message = message_send(clinic=clinic, to="912 345 678", body="Lembrete: consulta amanhã às 10:00", purpose="reminder")

    httpserver.check_assertions()
    (request, _response), = httpserver.log
    assert request.path == messages_path
    assert basic_auth(request) == f"{ACCOUNT_SID}:{AUTH_TOKEN}"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.form.to_dict() == {
        "To": "+351912345678",
        "From": FROM_NUMBER,
        "Body": "Lembrete: consulta amanhã às 10:00",
        "StatusCallback": "https://frontdesk.example/api/webhooks/twilio/status",
    }
    message.refresh_from_db()
    assert message.provider == "twilio"
    assert message.provider_message_id == SID
    assert message.status == Message.Status.SENT
    assert message.to_phone == "+351912345678"
    assert message.to_phone_index == phone_index("+351912345678")
    assert message.purpose == "reminder"
    assert message.sent_at is not None


def test_twilio_uses_messaging_service_instead_of_from_when_set(clinic, twilio_settings, httpserver,
                                                                 messages_path):
    twilio_settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "9" * 32
    httpserver.expect_oneshot_request(messages_path, method="POST").respond_with_json(
        twilio_message_json("+351912345678", "Olá", status="accepted", from_=None,
                            messaging_service_sid="MG" + "9" * 32), status=201)

    message_send(clinic=clinic, to="+351912345678", body="Olá")

    (request, _response), = httpserver.log
    assert request.form["MessagingServiceSid"] == "MG" + "9" * 32
    assert "From" not in request.form


def test_whatsapp_goes_through_twilio_with_prefixed_numbers(clinic, twilio_settings, httpserver, messages_path):
    twilio_settings.TWILIO_WHATSAPP_FROM_NUMBER = "+14155238886"
    httpserver.expect_oneshot_request(messages_path, method="POST").respond_with_json(
        twilio_message_json("whatsapp:+351912345678", "Olá", from_="whatsapp:+14155238886"), status=201)

    message = message_send(channel=Message.Channel.WHATSAPP, clinic=clinic, to="+351912345678", body="Olá")

    (request, _response), = httpserver.log
    assert request.form["To"] == "whatsapp:+351912345678"
    assert request.form["From"] == "whatsapp:+14155238886"
    assert message.channel == Message.Channel.WHATSAPP
    assert message.provider_message_id == SID


def test_twilio_server_error_marks_message_failed_with_reason(clinic, twilio_settings, httpserver, messages_path):
    httpserver.expect_oneshot_request(messages_path, method="POST").respond_with_json(
        {"code": 20500, "message": "Internal Server Error", "more_info": "https://www.twilio.com/docs/errors/20500",
         "status": 500}, status=500)

    with pytest.raises(MessageDeliveryFailed) as raised:
        message_send(clinic=clinic, to="+351912345678", body="Olá")

    message = Message.objects.get()
    assert raised.value.message_row.id == message.id
    assert message.status == Message.Status.FAILED
    assert "500" in message.error and "Internal Server Error" in message.error
    assert message.body == "Olá"
    assert message.provider_message_id == ""


def test_unreachable_twilio_marks_message_failed(clinic, twilio_settings):
    twilio_settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"

    with pytest.raises(MessageDeliveryFailed):
        message_send(clinic=clinic, to="+351912345678", body="Olá")

    message = Message.objects.get()
    assert message.status == Message.Status.FAILED
    assert "unreachable" in message.error


def test_local_backend_lands_in_outbox_as_delivered(clinic, local_sms):
    message = message_send(clinic=clinic, to="+351 912 345 678", body="Olá", purpose="booking_confirmation")

    stored = Message.objects.get(clinic=clinic)
    assert stored.id == message.id
    assert stored.provider == "local"
    assert stored.provider_message_id.startswith("local-")
    assert stored.status == Message.Status.DELIVERED
    assert stored.delivered_at is not None
    assert stored.to_phone == "+351912345678"
    assert stored.body == "Olá"


def test_phone_and_body_are_encrypted_at_rest(clinic, local_sms):
    from django.db import connection

    message = message_send(clinic=clinic, to="+351912345678", body="Resultado da análise disponível")

    with connection.cursor() as cursor:
        cursor.execute("select to_phone, body from telephony_message where id = %s", [message.id])
        raw_phone, raw_body = cursor.fetchone()
    assert "912345678" not in raw_phone and raw_phone.startswith("v1:")
    assert "análise" not in raw_body


def test_invalid_number_is_refused_and_nothing_is_stored(clinic, local_sms):
    with pytest.raises(InvalidPhoneNumber):
        message_send(clinic=clinic, to="12", body="Olá")
    assert not Message.objects.exists()


@pytest.mark.parametrize("body, variables", [
    ("", None), ("   ", None), ("x" * (MAX_BODY_LENGTH + 1), None), ("Olá", {"1": {"nested": "object"}}),
    ("Olá", {str(n): "x" for n in range(MAX_CONTENT_VARIABLES + 1)}),
])
def test_refused_message_stores_nothing_and_audits_nothing(clinic, local_sms, body, variables):
    with pytest.raises(DomainError):
        message_send(clinic=clinic, to="+351912345678", body=body, content_variables=variables,
                     actor=Credential(clinic, frozenset({"read", "write"}), "key", "test-key"))
    assert not Message.objects.exists()
    assert not AuditEvent.objects.filter(action="message.sent").exists()


def test_local_number_takes_the_clinic_country(clinic, local_sms):
    clinic.phone = "+5511987654321"
    clinic.save()

    message = message_send(clinic=clinic, to="(11) 91234-5678", body="Olá")

    assert message.to_phone == "+5511912345678"


@pytest.fixture
def eager_tasks():
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def test_queued_message_is_sent_once_by_the_task(clinic, local_sms, eager_tasks,
                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = message_enqueue(clinic=clinic, to="+351912345678", body="Olá", purpose="reminder")
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED
    first_id = message.provider_message_id

    assert send_sms_task(str(message.id)) == Message.Status.DELIVERED

    message.refresh_from_db()
    assert message.provider_message_id == first_id


def test_task_does_not_resend_a_failed_message(clinic, twilio_settings, httpserver, messages_path):
    httpserver.expect_oneshot_request(messages_path, method="POST").respond_with_json(
        {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}, status=400)
    with pytest.raises(MessageDeliveryFailed):
        message_send(clinic=clinic, to="+351912345678", body="Olá")
    message = Message.objects.get()

    assert send_sms_task(str(message.id)) == Message.Status.FAILED
    assert len(httpserver.log) == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_real_worker_sends_a_queued_message(clinic, celery_worker_queue):
    from conftest import wait_for

    from telephony.services import message_queue

    message = message_queue(clinic=clinic, to="+351912345678", body="Olá", purpose="reminder")
    send_sms_task.apply_async(args=[str(message.id)], queue=celery_worker_queue)

    delivered = wait_for(lambda: Message.objects.filter(pk=message.id, status=Message.Status.DELIVERED).exists(),
                         timeout=30)
    assert delivered
    assert Message.objects.get(pk=message.id).provider == "local"


def test_erasing_a_contact_wipes_their_messages_and_calls_only(clinic, other_clinic):
    from telephony.models import Call
    from telephony.services import contact_erase

    from .factories import CallFactory, MessageFactory

    theirs = MessageFactory(clinic=clinic, to_phone="+351912345678", body="Resultado disponível")
    reply = MessageFactory(clinic=clinic, direction=Message.Direction.INBOUND, to_phone="+351210000000",
                           from_phone="+351912345678", from_phone_index=phone_index("+351912345678"), body="Ok")
    someone_else = MessageFactory(clinic=clinic, to_phone="+351933333333", body="Outro")
    other_clinics = MessageFactory(clinic=other_clinic, to_phone="+351912345678", body="Noutra clínica")
    call = CallFactory(clinic=clinic, phone_number="+351912345678")

    wiped = contact_erase(clinic=clinic, phone_index_value=phone_index("+351912345678"))

    assert wiped == {"messages": 2, "calls": 1, "webhook_deliveries": 0}
    for message in (theirs, reply):
        message.refresh_from_db()
        assert message.body == "[erased]" and message.to_phone == "" and message.from_phone == ""
    someone_else.refresh_from_db()
    other_clinics.refresh_from_db()
    assert someone_else.body == "Outro" and other_clinics.body == "Noutra clínica"
    call = Call.objects.get(pk=call.pk)
    assert call.phone_number == "" and call.transcript == [] and call.summary == ""



def test_erasing_a_contact_deletes_their_call_recordings(clinic, local_media, django_capture_on_commit_callbacks):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from telephony.services import contact_erase

    from .factories import CallFactory

    theirs = default_storage.save(f"recordings/{clinic.id}/theirs.mp3", ContentFile(b"their voice"))
    kept = default_storage.save(f"recordings/{clinic.id}/kept.mp3", ContentFile(b"another voice"))
    CallFactory(clinic=clinic, phone_number="+351912345678", recording_path=theirs)
    CallFactory(clinic=clinic, phone_number="+351933333333", recording_path=kept)

    with django_capture_on_commit_callbacks(execute=True):
        contact_erase(clinic=clinic, phone_index_value=phone_index("+351912345678"))

    assert not default_storage.exists(theirs)
    assert default_storage.exists(kept)


ELEVENLABS_REPORT = {
    "type": "post_call_transcription",
    "event_timestamp": 1779724800,
    "data": {
        "agent_id": "agent_clinic_receptionist",
        "conversation_id": "conv_abc123",
        "status": "done",
        "transcript": [
            {"role": "agent", "message": "Clínica, bom dia.", "time_in_call_secs": 0, "tool_calls": []},
            {"role": "user", "message": "Queria marcar para terça.", "time_in_call_secs": 4, "tool_calls": []},
            {"role": "agent", "message": "Vou ver.", "time_in_call_secs": 7,
             "tool_calls": [{"tool_name": "check_availability", "params_as_json": "{\"date\": \"2026-12-01\"}"}]},
        ],
        "metadata": {"start_time_unix_secs": 1779724620, "call_duration_secs": 180,
                     "phone_call": {"direction": "inbound", "external_number": "+351912345678",
                                    "agent_number": "+351210000000"}},
        "analysis": {"call_successful": "success", "transcript_summary": "Patient booked for Tuesday.",
                     "call_summary_title": "Appointment Booking"},
    },
}


def test_post_call_report_becomes_a_call_once(clinic):
    from telephony.models import Call
    from telephony.services import conversation_record

    first = conversation_record(clinic=clinic, payload=ELEVENLABS_REPORT)
    again = conversation_record(clinic=clinic, payload=ELEVENLABS_REPORT)

    assert first.pk == again.pk and Call.objects.count() == 1
    call = Call.objects.get()
    assert call.conversation_id == "conv_abc123" and call.agent_id == "agent_clinic_receptionist"
    assert call.status == Call.Status.COMPLETED and call.direction == Call.Direction.INBOUND
    assert call.duration_secs == 180 and call.call_successful == "success"
    assert call.title == "Appointment Booking" and call.summary == "Patient booked for Tuesday."
    assert call.phone_number == "+351912345678" and call.phone_index == phone_index("+351912345678")
    assert call.tool_calls[0]["tool_name"] == "check_availability"
    assert call.appointment_booked is False
    assert (call.ended_at - call.started_at).total_seconds() == 180
    assert call.webhook_payload["type"] == "post_call_transcription"


def test_post_call_report_in_the_documented_flat_shape(clinic):
    from telephony.services import conversation_record

    call = conversation_record(clinic=clinic, payload={"type": "post_call_transcription", "data": {
        "conversation_id": "conv_xxx", "agent_id": "agent_xxx", "duration_secs": 180, "call_successful": "success",
        "summary": "Patient booked appointment...", "transcript": [], "sentiment": "positive",
        "intent": "appointment"}})

    assert call.sentiment == "positive" and call.intent == "appointment" and call.duration_secs == 180


def test_post_call_report_with_a_booking_tool_call_counts_as_booked(clinic):
    from telephony.services import conversation_record

    call = conversation_record(clinic=clinic, payload={"data": {"conversation_id": "conv_booked", "transcript": [
        {"role": "agent", "message": "Marcado.", "tool_calls": [{"tool_name": "book_appointment"}]}]}})

    assert call.appointment_booked is True


def test_post_call_report_without_conversation_id_is_refused(clinic):
    from telephony.exceptions import MissingConversationId
    from telephony.services import conversation_record

    with pytest.raises(MissingConversationId):
        conversation_record(clinic=clinic, payload={"type": "post_call_transcription", "data": {}})
