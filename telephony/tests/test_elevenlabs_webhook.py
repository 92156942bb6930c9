"""ElevenLabs' post-call webhook: signed as ElevenLabs signs it, stored once per conversation, mapped by agent."""
import base64
import hashlib
import hmac
import json
import time

import pytest

from clinics.models import AuditEvent
from config.checks import provider_webhook_secrets
from telephony.agents import agent_for, agent_update
from telephony.models import Call, WebhookDelivery
from telephony.outbound_webhooks import webhook_endpoint_create
from scheduling.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

SECRET = "wsec_test_0123456789abcdef"
URL = "/api/webhooks/elevenlabs"


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.ELEVENLABS_WEBHOOK_SECRET = SECRET
    return settings


def elevenlabs_signature(body: bytes, timestamp=None, secret=SECRET) -> str:
    """What ElevenLabs sends: `t=<unix>,v0=<hex HMAC-SHA256(secret, "<t>.<body>")>`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{body.decode()}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v0={digest}"


def report(agent_id, conversation_id="conv_abc123", **data):
    return {"type": "post_call_transcription", "event_timestamp": int(time.time()), "data": {
        "agent_id": agent_id, "conversation_id": conversation_id, "status": "done",
        "transcript": [{"role": "agent", "message": "Bom dia", "time_in_call_secs": 0},
                       {"role": "user", "message": "Queria marcar", "time_in_call_secs": 2}],
        "metadata": {"start_time_unix_secs": int(time.time()) - 200, "call_duration_secs": 180,
                     "phone_call": {"direction": "inbound", "external_number": "+351912345678"}},
        "analysis": {"call_successful": "success", "transcript_summary": "Patient booked appointment.",
                     "call_summary_title": "Appointment Booking"},
        **data}}


def post(client, payload, signature=None):
    body = json.dumps(payload).encode()
    return client.post(URL, data=body, content_type="application/json",
                       HTTP_ELEVENLABS_SIGNATURE=signature if signature is not None else elevenlabs_signature(body))


def test_signed_report_is_stored_for_the_agents_clinic(client, clinic):
    agent = agent_for(clinic)
    response = post(client, report(agent.agent_id))
    assert response.status_code == 200
    call = Call.objects.get(conversation_id="conv_abc123")
    assert call.clinic == clinic and call.status == "completed" and call.duration_secs == 180
    assert call.summary == "Patient booked appointment." and call.phone_number == "+351912345678"
    assert response.json() == {"status": "ok", "call_id": str(call.id), "conversation_id": "conv_abc123"}


def test_the_documented_flat_report_with_the_elevenlabs_agent_id_maps_to_the_clinic(client, clinic):
    agent_update(agent=agent_for(clinic), elevenlabs_metadata={"agent_id": "J3Pbu5gP6NNKBscdCdwB"})
    payload = {"type": "post_call_transcription", "data": {
        "conversation_id": "conv_xxx", "agent_id": "J3Pbu5gP6NNKBscdCdwB", "duration_secs": 180,
        "call_successful": "success", "summary": "Patient booked appointment...", "transcript": [],
        "sentiment": "positive", "intent": "appointment"}}
    assert post(client, payload).status_code == 200
    call = Call.objects.get(conversation_id="conv_xxx")
    assert call.clinic == clinic and call.intent == "appointment" and call.agent_id == agent_for(clinic).agent_id


def test_a_replayed_report_updates_the_same_call(client, clinic):
    agent = agent_for(clinic)
    assert post(client, report(agent.agent_id)).status_code == 200
    assert post(client, report(agent.agent_id, sentiment="negative")).status_code == 200
    assert Call.objects.filter(conversation_id="conv_abc123").count() == 1
    assert Call.objects.get(conversation_id="conv_abc123").sentiment == "negative"


@pytest.mark.parametrize("signature", [
    "",
    "t=1700000000,v0=" + "0" * 64,
    "garbage",
])
def test_missing_or_wrong_signature_is_401_and_stores_nothing(client, clinic, signature):
    response = post(client, report(agent_for(clinic).agent_id), signature=signature)
    assert response.status_code == 401
    assert response.json()["detail"]
    assert not Call.objects.exists()


def test_with_no_secret_configured_every_event_is_503_naming_the_setting(client, clinic, settings, caplog):
    """The server's fault, not ElevenLabs': a 5xx that monitoring sees and ElevenLabs retries, as Stripe's."""
    settings.ELEVENLABS_WEBHOOK_SECRET = ""
    body = json.dumps(report(agent_for(clinic).agent_id)).encode()

    with caplog.at_level("ERROR", logger="telephony.api.voice"):
        # An event signed with the empty key proves nothing: refused too.
        response = client.post(URL, data=body, content_type="application/json",
                               HTTP_ELEVENLABS_SIGNATURE=elevenlabs_signature(body, secret=""))

    assert response.status_code == 503
    assert response.json()["code"] == "WEBHOOK_NOT_CONFIGURED"
    assert "ELEVENLABS_WEBHOOK_SECRET" in response.json()["detail"]
    assert "ELEVENLABS_WEBHOOK_SECRET" in caplog.text
    assert not Call.objects.exists()


def test_deploy_check_flags_elevenlabs_without_a_webhook_secret(settings):
    settings.PROVIDERS = {**settings.PROVIDERS, "voice": "elevenlabs"}
    settings.ELEVENLABS_WEBHOOK_SECRET = ""
    assert [problem.id for problem in provider_webhook_secrets(None)] == ["frontdesk.W006"]

    settings.ELEVENLABS_WEBHOOK_SECRET = SECRET
    assert provider_webhook_secrets(None) == []


def test_signature_with_another_secret_is_401(client, clinic):
    body = json.dumps(report(agent_for(clinic).agent_id)).encode()
    response = client.post(URL, data=body, content_type="application/json",
                           HTTP_ELEVENLABS_SIGNATURE=elevenlabs_signature(body, secret="wsec_other"))
    assert response.status_code == 401


def test_signature_older_than_thirty_minutes_is_401(client, clinic):
    body = json.dumps(report(agent_for(clinic).agent_id)).encode()
    stale = elevenlabs_signature(body, timestamp=int(time.time()) - 31 * 60)
    fresh_enough = elevenlabs_signature(body, timestamp=int(time.time()) - 29 * 60)
    assert client.post(URL, data=body, content_type="application/json",
                       HTTP_ELEVENLABS_SIGNATURE=stale).status_code == 401
    assert client.post(URL, data=body, content_type="application/json",
                       HTTP_ELEVENLABS_SIGNATURE=fresh_enough).status_code == 200


NOW = 1_800_000_000  # a fixed receiver clock (2027-01-15)


def test_a_signature_exactly_thirty_minutes_old_is_still_accepted_one_second_more_is_not():
    """The tolerance is inclusive, judged against the `now` given (never the wall clock)."""
    from telephony.backends.voice import ElevenLabsVoiceBackend

    body = b'{"type":"post_call_transcription"}'
    assert ElevenLabsVoiceBackend.verify_webhook(body, elevenlabs_signature(body, NOW - 30 * 60), now=NOW) is True
    assert ElevenLabsVoiceBackend.verify_webhook(body, elevenlabs_signature(body, NOW - 30 * 60 - 1), now=NOW) is False


def test_a_signature_exactly_five_minutes_ahead_is_still_accepted_one_second_more_is_not():
    """ElevenLabs' clock may run ahead of ours by up to five minutes, inclusive."""
    from telephony.backends.voice import ElevenLabsVoiceBackend

    body = b'{"type":"post_call_transcription"}'
    assert ElevenLabsVoiceBackend.verify_webhook(body, elevenlabs_signature(body, NOW + 5 * 60), now=NOW) is True
    assert ElevenLabsVoiceBackend.verify_webhook(body, elevenlabs_signature(body, NOW + 5 * 60 + 1), now=NOW) is False


def test_with_no_secret_verification_itself_refuses_even_a_signature_made_with_the_empty_key(settings):
    """The view refuses first (WebhookSecretMissing); the backend refuses on its own too, for any other caller."""
    from telephony.backends.voice import ElevenLabsVoiceBackend

    body = b'{"type":"post_call_transcription"}'
    settings.ELEVENLABS_WEBHOOK_SECRET = ""
    assert ElevenLabsVoiceBackend.verify_webhook(body, elevenlabs_signature(body, NOW, secret=""), now=NOW) is False
    settings.ELEVENLABS_WEBHOOK_SECRET = SECRET
    assert ElevenLabsVoiceBackend.verify_webhook(body, elevenlabs_signature(body, NOW), now=NOW) is True


def test_a_body_changed_after_signing_is_401(client, clinic):
    body = json.dumps(report(agent_for(clinic).agent_id)).encode()
    signature = elevenlabs_signature(body)
    tampered = body.replace(b"conv_abc123", b"conv_evil00")
    response = client.post(URL, data=tampered, content_type="application/json", HTTP_ELEVENLABS_SIGNATURE=signature)
    assert response.status_code == 401


def test_unknown_agent_is_404_and_stores_nothing(client, clinic):
    response = post(client, report("agent_nobody"))
    assert response.status_code == 404
    assert response.json()["detail"]
    assert not Call.objects.exists()


def test_report_without_conversation_id_is_400(client, clinic):
    response = post(client, report(agent_for(clinic).agent_id, conversation_id=""))
    assert response.status_code == 400
    assert response.json()["detail"]


def test_signed_body_that_is_not_json_is_400(client):
    body = b"not json"
    response = client.post(URL, data=body, content_type="application/json",
                           HTTP_ELEVENLABS_SIGNATURE=elevenlabs_signature(body))
    assert response.status_code == 400 and response.json()["detail"]


def test_call_initiation_failure_marks_our_outbound_call_failed(client, clinic):
    from telephony.tests.factories import CallFactory

    call = CallFactory(clinic=clinic, direction="outbound", status="initiated", conversation_id="conv_out_9")
    agent = agent_for(clinic)
    payload = {"type": "call_initiation_failure", "data": {"agent_id": agent.agent_id,
                                                            "conversation_id": "conv_out_9",
                                                            "failure_reason": "busy"}}
    response = post(client, payload)
    assert response.status_code == 200 and response.json() == {"status": "ok", "call_id": str(call.id)}
    call.refresh_from_db()
    assert call.status == "failed" and call.ended_at is not None
    unknown = post(client, {**payload, "data": {**payload["data"], "conversation_id": "conv_nobody"}})
    assert unknown.status_code == 200 and unknown.json()["status"] == "unknown_call"


def test_other_event_types_are_acknowledged_and_ignored(client, clinic):
    response = post(client, {"type": "conversation_rating", "data": {"agent_id": agent_for(clinic).agent_id,
                                                                     "conversation_id": "conv_1"}})
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert not Call.objects.exists()


@pytest.mark.usefixtures("local_webhook_receivers")
def test_a_completed_conversation_queues_the_end_report_once(client, clinic, django_capture_on_commit_callbacks,
                                                             httpserver):
    PatientFactory(clinic=clinic, name="John Doe", phone="+351912345678")
    endpoint, _secret = webhook_endpoint_create(clinic=clinic, url=httpserver.url_for("/hook"), events=["conversation.end_report"])
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    agent = agent_for(clinic)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, report(agent.agent_id, sentiment="positive"))
    with django_capture_on_commit_callbacks(execute=True):
        post(client, report(agent.agent_id, sentiment="positive"))
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "delivered" and delivery.event == "conversation.end_report"
    assert len(httpserver.log) == 1
    sent = json.loads(httpserver.log[0][0].get_data())
    assert sent["event"] == "conversation.end_report"
    assert set(sent["data"]) >= {"conversation_id", "agent_id", "direction", "participant", "duration_seconds",
                                 "status", "transcript_url", "recording_url", "sentiment", "summary"}
    assert sent["data"]["conversation_id"] == "conv_abc123" and sent["data"]["agent_id"] == agent.agent_id
    assert sent["data"]["participant"] == {"number": "+351912345678", "name": "John Doe"}
    assert sent["data"]["status"] == "completed" and sent["data"]["duration_seconds"] == 180


# --- post_call_audio: the call's recording (docs/api/public.md, ElevenLabs; docs/api/clinic-v1.md, Calls)
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 16


def audio_event(agent_id, conversation_id="conv_abc123", audio=MP3):
    """ElevenLabs' post-call audio webhook: the whole call as base64 MP3 in data.full_audio."""
    return {"type": "post_call_audio", "event_timestamp": int(time.time()), "data": {
        "agent_id": agent_id, "conversation_id": conversation_id,
        "full_audio": base64.b64encode(audio).decode()}}


def download(api_client, url):
    response = api_client.get(url.removeprefix("http://testserver"))
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_post_call_audio_is_served_at_the_documented_recording_route(client, client_for, api_client, clinic,
                                                                     local_media):
    agent = agent_for(clinic)
    assert post(client, report(agent.agent_id)).status_code == 200

    response = post(client, audio_event(agent.agent_id))

    assert response.status_code == 200
    call = Call.objects.get(conversation_id="conv_abc123")
    assert response.json() == {"status": "ok", "call_id": str(call.id), "conversation_id": "conv_abc123"}
    link = client_for.get(f"/v1/calls/{call.id}/recording")
    assert link.status_code == 200
    assert download(api_client, link.json()["url"]) == MP3
    assert AuditEvent.objects.filter(clinic=clinic, action="call.recording_read", object_id=str(call.id)).exists()
    assert client_for.get(f"/v1/calls/{call.id}").json()["hasRecording"] is True


def test_audio_before_the_transcription_report_makes_one_call(client, client_for, api_client, clinic, local_media):
    agent = agent_for(clinic)
    assert post(client, audio_event(agent.agent_id)).status_code == 200
    assert post(client, report(agent.agent_id)).status_code == 200
    # A replayed audio event replaces the file, it does not add another.
    assert post(client, audio_event(agent.agent_id, audio=MP3[::-1])).status_code == 200

    call = Call.objects.get(conversation_id="conv_abc123")
    assert call.status == "completed" and call.summary == "Patient booked appointment."
    assert download(api_client, client_for.get(f"/v1/calls/{call.id}/recording").json()["url"]) == MP3[::-1]
    assert len(list((local_media / "recordings" / str(clinic.id)).iterdir())) == 1


def test_audio_larger_than_the_form_upload_limit_is_stored(client, clinic, settings, local_media):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    assert post(client, audio_event(agent_for(clinic).agent_id)).status_code == 200
    assert Call.objects.get(conversation_id="conv_abc123").recording_path


def test_recording_of_another_clinics_call_is_404(client, foreign_client, clinic, local_media):
    assert post(client, audio_event(agent_for(clinic).agent_id)).status_code == 200
    call = Call.objects.get(conversation_id="conv_abc123")

    response = foreign_client.get(f"/v1/calls/{call.id}/recording")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert not AuditEvent.objects.filter(action="call.recording_read").exists()


@pytest.mark.parametrize("full_audio", ["", "not base64 at all!", None])
def test_audio_event_without_decodable_audio_is_400_and_stores_nothing(client, clinic, local_media, full_audio):
    payload = audio_event(agent_for(clinic).agent_id)
    payload["data"]["full_audio"] = full_audio

    response = post(client, payload)

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert not Call.objects.exists()


def test_audio_event_of_an_unknown_agent_is_404(client, clinic, local_media):
    assert post(client, audio_event("agent_nobody")).status_code == 404
    assert not Call.objects.exists()


def test_an_event_over_the_webhook_limit_is_413_and_stores_nothing(client, clinic, local_media, monkeypatch):
    from telephony.api import voice

    monkeypatch.setattr(voice, "MAX_WEBHOOK_BYTES", 1024)

    response = post(client, audio_event(agent_for(clinic).agent_id))

    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert not Call.objects.exists()
