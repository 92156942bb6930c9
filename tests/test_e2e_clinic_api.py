"""The clinic API end to end, in the order an integrator follows docs/api/clinic-v1.md: a key from the dashboard,
the tenant, a service and a professional, a booking, the phone agent's call (ElevenLabs' signed post-call report,
docs/api/public.md), a call back placed through ElevenLabs' outbound-call API (a local fake of it,
pytest-httpserver), the call back completed by its own report, its recording, and the dashboard stats.

Every request goes over HTTP with the documents' example bodies; ElevenLabs' side is faked only at its HTTP API and
its webhooks are signed exactly as the document says ElevenLabs signs them.
"""
import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from rest_framework.test import APIClient

from clinics.models import Membership
from telephony.agents import agent_for, agent_update
from telephony.backends.voice import VOICE

pytestmark = pytest.mark.django_db

WEBHOOK_SECRET = "wsec_e2e_0123456789abcdef"
CALLER = "+351912345678"
AUDIO = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 64  # an MP3's first bytes


@pytest.fixture
def elevenlabs(settings, httpserver, tmp_path):
    """ElevenLabs as the voice provider, its API a local fake; recordings on a temporary disk."""
    settings.PROVIDERS = {**settings.PROVIDERS, "voice": "elevenlabs"}
    settings.ELEVENLABS_API_KEY = "xi-e2e-key"
    settings.ELEVENLABS_API_BASE = httpserver.url_for("/")
    settings.ELEVENLABS_AGENT_PHONE_NUMBER_ID = "phnum_e2e"
    settings.ELEVENLABS_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    settings.SITE_URL = "http://testserver"
    yield httpserver
    VOICE.reset()


def _signed_post(payload):
    """POST to /api/webhooks/elevenlabs as ElevenLabs does: `ElevenLabs-Signature: t=<unix>,v0=<hex HMAC-SHA256(
    secret, "<t>.<raw body>")>` (docs/api/public.md, ElevenLabs)."""
    body = json.dumps(payload).encode()
    timestamp = int(time.time())
    digest = hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return Client().post("/api/webhooks/elevenlabs", data=body, content_type="application/json",
                         HTTP_ELEVENLABS_SIGNATURE=f"t={timestamp},v0={digest}")


def _report(agent_id, conversation_id, direction, summary):
    return {"type": "post_call_transcription", "event_timestamp": int(time.time()), "data": {
        "agent_id": agent_id, "conversation_id": conversation_id, "status": "done",
        "transcript": [{"role": "agent", "message": "Clínica Sol, bom dia.", "time_in_call_secs": 0},
                       {"role": "user", "message": "Queria confirmar a consulta.", "time_in_call_secs": 3}],
        "metadata": {"start_time_unix_secs": int(time.time()) - 120, "call_duration_secs": 95,
                     "phone_call": {"direction": direction, "external_number": CALLER}},
        "analysis": {"call_successful": "success", "transcript_summary": summary,
                     "call_summary_title": "Appointment confirmation"}}}


def _next_day_at(clinic_timezone, hour):
    day = datetime.now(ZoneInfo(clinic_timezone)).date() + timedelta(days=2)
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(clinic_timezone))


def test_book_call_callback_completed_recording_stats(clinic, jwt_client_for, elevenlabs,
                                                      django_capture_on_commit_callbacks):
    # The clinic's phone agent, as set up on the dashboard (docs/api/dashboard.md, Agents).
    agent = agent_update(agent=agent_for(clinic), elevenlabs_metadata={"agent_id": "el_agent_e2e",
                                                                       "agent_phone_number_id": "phnum_sol"})

    # Authentication: a clinic admin creates the integration's key; the integrator sends it as Bearer.
    admin = jwt_client_for(clinic, role=Membership.Role.ADMIN)
    created = admin.post("/api/settings/api-keys", {"name": "Zapier"}, format="json")
    assert created.status_code == 201, created.json()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {created.json()['full_key']}")

    # Tenants.
    tenant = api.get("/v1/tenants/me")
    assert tenant.status_code == 200
    assert {"id", "name", "slug", "timezone", "locale", "bookingRules", "createdAt"} <= set(tenant.json())
    zone = tenant.json()["timezone"]

    # Services and professionals, with the documents' example bodies.
    service = api.post("/v1/services", {"name": "Consulta", "durationMinutes": 30, "price": 4500, "currency": "EUR",
                                        "bufferBeforeMinutes": 0, "bufferAfterMinutes": 5, "onlineBookable": True,
                                        "active": True}, format="json")
    assert service.status_code == 201, service.json()
    assert service.json()["durationMinutes"] == 30 and service.json()["price"] == 4500
    week = {day: [["09:00", "13:00"], ["14:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    professional = api.post("/v1/professionals", {
        "name": "Dra. Ana Lopes", "specialty": "Dentistry", "colour": "#3b82f6",
        "serviceIds": [service.json()["id"]], "workingHours": week}, format="json")
    assert professional.status_code == 201, professional.json()
    assert professional.json()["serviceIds"] == [service.json()["id"]]

    # Book: a patient found or created by phone.
    starts_at = _next_day_at(zone, 10)
    booked = api.post("/v1/appointments", {
        "patient": {"name": "Maria Silva", "phone": CALLER}, "professionalId": professional.json()["id"],
        "serviceId": service.json()["id"], "startsAt": starts_at.isoformat()}, format="json")
    assert booked.status_code == 201, booked.json()
    appointment = booked.json()
    assert {"id", "patientId", "professionalId", "serviceId", "startsAt", "endsAt", "status", "source", "notes",
            "createdAt", "updatedAt"} <= set(appointment)
    assert appointment["status"] == "scheduled" and appointment["source"] == "api"
    assert datetime.fromisoformat(appointment["endsAt"]) - datetime.fromisoformat(appointment["startsAt"]) == \
        timedelta(minutes=30)
    same_slot = api.post("/v1/appointments", {
        "patient": {"name": "Rui Costa", "phone": "+351912000111"}, "professionalId": professional.json()["id"],
        "serviceId": service.json()["id"], "startsAt": starts_at.isoformat()}, format="json")
    assert same_slot.status_code == 409 and same_slot.json()["error"]["code"] == "SLOT_TAKEN"
    patient = api.get(f"/v1/patients/{appointment['patientId']}").json()
    assert (patient["name"], patient["phone"], patient["masked"]) == ("Maria Silva", CALLER, False)

    # Call: the patient phones the agent; ElevenLabs posts its signed post-call report.
    with django_capture_on_commit_callbacks(execute=True):
        report = _signed_post(_report("el_agent_e2e", "conv_in_e2e", "inbound", "Maria confirmed her visit."))
    assert report.status_code == 200, report.content
    assert report.json()["status"] == "ok" and report.json()["conversation_id"] == "conv_in_e2e"
    calls = api.get("/v1/calls").json()
    assert set(calls) == {"items", "nextCursor", "hasMore"}
    assert [(item["direction"], item["status"], item["phoneNumber"]) for item in calls["items"]] == [
        ("inbound", "completed", CALLER)]
    inbound_id = calls["items"][0]["id"]
    detail = api.get(f"/v1/calls/{inbound_id}").json()
    assert detail["transcript"][1]["message"] == "Queria confirmar a consulta."
    assert detail["summary"] == "Maria confirmed her visit." and detail["agentId"] == agent.agent_id

    # Callback: placed at once through ElevenLabs' outbound-call API.
    elevenlabs.expect_request("/v1/convai/twilio/outbound-call", method="POST").respond_with_json(
        {"success": True, "message": "Success", "conversation_id": "conv_out_e2e", "callSid": "CA0001"})
    with django_capture_on_commit_callbacks(execute=True):
        callback = api.post(f"/v1/calls/{inbound_id}/callback", {}, format="json")
    assert callback.status_code == 201, callback.json()
    assert callback.json()["callbackOf"] == inbound_id and callback.json()["direction"] == "outbound"
    callback_id = callback.json()["id"]
    dialled = json.loads(elevenlabs.log[0][0].get_data())
    assert elevenlabs.log[0][0].headers["xi-api-key"] == "xi-e2e-key"
    assert (dialled["agent_id"], dialled["agent_phone_number_id"], dialled["to_number"]) == (
        "el_agent_e2e", "phnum_sol", CALLER)
    assert dialled["conversation_initiation_client_data"]["dynamic_variables"]["frontdesk_call_id"] == callback_id
    placed = api.get(f"/v1/calls/{callback_id}").json()
    assert (placed["status"], placed["conversationId"]) == ("initiated", "conv_out_e2e")

    # -> completed: the call back's own post-call report completes that call (not a new one).
    with django_capture_on_commit_callbacks(execute=True):
        done = _signed_post(_report("el_agent_e2e", "conv_out_e2e", "outbound", "Called Maria back."))
    assert done.status_code == 200 and done.json()["call_id"] == callback_id
    completed = api.get(f"/v1/calls/{callback_id}").json()
    assert (completed["status"], completed["durationSecs"], completed["callbackOf"]) == ("completed", 95, inbound_id)
    assert len(api.get("/v1/calls").json()["items"]) == 2

    # Recording: ElevenLabs' post_call_audio, then a 24-hour link that serves the audio.
    assert api.get(f"/v1/calls/{callback_id}/recording").json()["error"]["code"] == "RECORDING_NOT_FOUND"
    audio = _signed_post({"type": "post_call_audio", "event_timestamp": int(time.time()), "data": {
        "agent_id": "el_agent_e2e", "conversation_id": "conv_out_e2e",
        "full_audio": base64.b64encode(AUDIO).decode()}})
    assert audio.status_code == 200 and audio.json()["call_id"] == callback_id
    assert api.get(f"/v1/calls/{callback_id}").json()["hasRecording"] is True
    link = api.get(f"/v1/calls/{callback_id}/recording")
    assert link.status_code == 200 and set(link.json()) == {"url", "expiresAt"}
    expires = datetime.fromisoformat(link.json()["expiresAt"])
    assert timedelta(hours=23) < expires - datetime.now(expires.tzinfo) <= timedelta(hours=24)
    served = Client().get(link.json()["url"].removeprefix("http://testserver"))
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == AUDIO

    # Stats: two calls, one booking made over the API.
    stats = api.get("/v1/dashboard/stats")
    assert stats.status_code == 200, stats.json()
    body = stats.json()
    assert {"calls", "callsWithBooking", "bookings", "phoneBookings", "conversion", "noShows", "noShowRate",
            "completed", "cancelled", "nps", "npsByProfessional", "openTasks"} <= set(body)
    assert (body["calls"], body["bookings"], body["phoneBookings"]) == (2, 1, 0)
    assert body["conversion"] == 0.5
