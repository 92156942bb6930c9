"""The voice and messaging API end to end, in the order an integrator follows docs/api/voice.md: an OAuth 2.0
confidential client (authorization code, the client authenticating with its secret), a webhook endpoint, contacts,
a WhatsApp template through Twilio, an outbound call through ElevenLabs, and the events sent to the endpoint,
delivered and signed, checked as the integrator's receiver would check them.

Twilio and ElevenLabs are local fakes of their HTTP APIs (pytest-httpserver), so the Twilio SDK and our ElevenLabs
client run. The receiver is a pytest-httpserver too: the endpoint is registered over HTTP with the document's
public URL and then pointed at the local receiver, since the API refuses local addresses (as documented).
"""
import hashlib
import hmac
import json
import time
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from oauth2_provider.models import Application
from rest_framework.test import APIClient

from clinics.models import Membership
from clinics.tests.factories import MembershipFactory, sign_in_verified
from config.providers import SMS
from telephony.agents import agent_for, agent_update
from telephony.backends.voice import VOICE
from telephony.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
REDIRECT = "https://integrator.example/callback"
ELEVENLABS_SECRET = "wsec_e2e_voice_0123456789"


@pytest.fixture
def providers(settings, httpserver):
    """Twilio for messaging and ElevenLabs for calls, both local fakes on one pytest-httpserver."""
    settings.PROVIDERS = {**settings.PROVIDERS, "sms": "twilio", "voice": "elevenlabs"}
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = "fake-twilio-auth-token-0123456789"
    settings.TWILIO_FROM_NUMBER = "+351300000001"
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_WHATSAPP_FROM_NUMBER = "+351300000009"
    settings.TWILIO_API_BASE_URL = httpserver.url_for("/")
    settings.ELEVENLABS_API_KEY = "xi-e2e-key"
    settings.ELEVENLABS_API_BASE = httpserver.url_for("/")
    settings.ELEVENLABS_AGENT_PHONE_NUMBER_ID = "phnum_e2e"
    settings.ELEVENLABS_WEBHOOK_SECRET = ELEVENLABS_SECRET
    settings.SITE_URL = "https://frontdesk.example"
    yield httpserver
    SMS.reset()
    VOICE.reset()


def _oauth_access_token(membership, scope):
    """docs/api/voice.md, OAuth 2.0, for a confidential client: send the member to /oauth/authorize, receive
    `?code=…&state=…`, then `POST /oauth/token` with the code and the client's secret."""
    secret = "integrator-secret-0123456789abcdef"
    application = Application.objects.create(
        name="Integrator", client_type=Application.CLIENT_CONFIDENTIAL, client_secret=secret,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE, redirect_uris=REDIRECT, algorithm="")
    browser = Client()
    sign_in_verified(browser, membership.user)
    params = {"response_type": "code", "client_id": application.client_id, "redirect_uri": REDIRECT,
              "scope": scope, "state": "xyz"}
    consent_page = browser.get("/oauth/authorize", params)
    assert consent_page.status_code == 200 and b"Integrator" in consent_page.content
    consent = browser.post("/oauth/authorize", {**params, "clinic": str(membership.clinic_id), "allow": "Authorize"})
    query = parse_qs(urlparse(consent["Location"]).query)
    assert query["state"] == ["xyz"] and "code" in query
    token = Client().post("/oauth/token", {"grant_type": "authorization_code", "code": query["code"][0],
                                           "redirect_uri": REDIRECT, "client_id": application.client_id,
                                           "client_secret": secret})
    assert token.status_code == 200, token.content
    body = token.json()
    assert body["token_type"] == "Bearer" and set(body["scope"].split()) == set(scope.split())
    return body["access_token"]


def _verified(secret, request):
    """What the integrator's receiver does (docs/api/voice.md, Events sent): recompute the HMAC-SHA256 of
    "<t>.<raw body>" under the endpoint's secret and reject timestamps older than five minutes."""
    header = request.headers["X-Frontdesk-Signature"]
    parts = dict(item.split("=", 1) for item in header.split(","))
    raw = request.get_data()
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, parts["v1"]), "signature does not match the raw body"
    assert abs(time.time() - int(parts["t"])) < 300
    return json.loads(raw)


def _elevenlabs_report(body):
    raw = json.dumps(body).encode()
    timestamp = int(time.time())
    digest = hmac.new(ELEVENLABS_SECRET.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return Client().post("/api/webhooks/elevenlabs", data=raw, content_type="application/json",
                         HTTP_ELEVENLABS_SIGNATURE=f"t={timestamp},v0={digest}")


def test_oauth_contacts_whatsapp_call_and_signed_webhooks_out(clinic, providers, settings,
                                                              django_capture_on_commit_callbacks):
    agent = agent_update(agent=agent_for(clinic), elevenlabs_metadata={"agent_id": "el_agent_voice",
                                                                       "agent_phone_number_id": "phnum_clinic"})
    admin = MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN)

    # Authentication: OAuth 2.0 for a confidential client.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {_oauth_access_token(admin, 'read write pii')}")

    # Webhooks: the endpoint from the document, with the events chosen.
    refused = api.post("/api/v1/webhooks", {"url": providers.url_for("/hook"), "events": ["conversation.status"]},
                       format="json")
    assert refused.status_code == 400 and refused.json()["success"] is False and "url" in refused.json()["errors"]
    created = api.post("/api/v1/webhooks", {"url": "https://integration.example.com/hook",
                                            "events": ["conversation.status", "conversation.end_report"]},
                       format="json")
    assert created.status_code == 201, created.json()
    endpoint = created.json()["data"]
    assert {"id", "url", "events", "active", "createdAt", "secret"} <= set(endpoint)
    assert endpoint["secret"].startswith("whsec_") and endpoint["active"] is True
    listed = api.get("/api/v1/webhooks").json()
    assert [item["id"] for item in listed["data"]] == [endpoint["id"]] and "secret" not in listed["data"][0]
    # integration.example.com is the local receiver from here on.
    WebhookEndpoint.objects.filter(pk=endpoint["id"]).update(url=providers.url_for("/hook"))
    # The integrator's receiver is this machine (pytest-httpserver): deliveries refuse loopback unless the test-only
    # allowlist names it (telephony/outbound_webhooks.py, issue 12 item 10).
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    providers.expect_request("/hook", method="POST").respond_with_data("ok")

    # Contacts.
    contact_body = {"phone": "+351912345678", "name": "Maria Silva", "email": "maria@example.com", "tags": ["vip"]}
    new = api.post("/api/v1/contacts", contact_body, format="json")
    assert new.status_code == 201, new.json()
    assert new.json()["success"] is True and new.json()["message"] == "Contact created"
    contact = new.json()["data"]
    assert {"id", "type", "name", "phone", "email", "tags", "consents", "createdAt", "masked"} <= set(contact)
    assert (contact["type"], contact["name"], contact["phone"], contact["masked"]) == (
        "lead", "Maria Silva", "+351912345678", False)
    again = api.post("/api/v1/contacts", contact_body, format="json")
    assert again.status_code == 200 and again.json()["message"] == "Contact already exists"
    assert again.json()["data"]["id"] == contact["id"]
    page = api.get("/api/v1/contacts", {"search": "Maria"}).json()
    assert page["success"] is True and set(page["meta"]) >= {"total", "page", "per_page"}
    assert [item["id"] for item in page["data"]] == [contact["id"]]

    # Messaging: a WhatsApp template through Twilio's Messages API.
    providers.expect_request(MESSAGES_PATH, method="POST").respond_with_json(
        {"sid": "SM" + "a" * 32, "status": "queued", "account_sid": ACCOUNT_SID, "to": "whatsapp:+351912345678",
         "from": "whatsapp:+351300000009", "body": "Olá Maria, a sua consulta é às 10:00."}, status=201)
    sent = api.post("/api/v1/whatsapp/template", {
        "to": "+351912345678", "templateName": "appointment_reminder",
        "body": "Olá {{1}}, a sua consulta é às {{2}}.", "variables": {"1": "Maria", "2": "10:00"}}, format="json")
    assert sent.status_code == 200, sent.json()
    assert sent.json()["message"] == "Template sent"
    assert {"messageId", "status", "to", "channel"} <= set(sent.json()["data"])
    assert (sent.json()["data"]["to"], sent.json()["data"]["channel"]) == ("+351912345678", "whatsapp")
    twilio_request = next(entry[0] for entry in providers.log if entry[0].path == MESSAGES_PATH)
    form = parse_qs(twilio_request.get_data(as_text=True))
    assert form["To"] == ["whatsapp:+351912345678"] and form["From"] == ["whatsapp:+351300000009"]
    assert form["Body"] == ["Olá Maria, a sua consulta é às 10:00."]

    # Calls: the document's example request, placed through ElevenLabs.
    providers.expect_request("/v1/convai/twilio/outbound-call", method="POST").respond_with_json(
        {"success": True, "message": "Success", "conversation_id": "conv_voice_e2e", "callSid": "CA0002"})
    with django_capture_on_commit_callbacks(execute=True):
        call = api.post("/api/v1/call", {
            "agentId": agent.agent_id,
            "prompt": {"overwrite": True, "content": "You are Michael from the support team..."},
            "participant": {"number": "+1 (415) 555-0123", "about": "Customer named John Doe. Order #12345."},
            "message": {"start": "Hello! This is Michael from support."}}, format="json")
    assert call.status_code == 200, call.json()
    assert call.json() == {"success": True, "message": "Operation completed successfully",
                           "data": {"callId": call.json()["data"]["callId"], "status": "initiated"}}
    call_id = call.json()["data"]["callId"]

    # Webhook out: conversation.status for the initiated call, delivered and signed.
    hooks = [entry[0] for entry in providers.log if entry[0].path == "/hook"]
    assert len(hooks) == 1
    event = _verified(endpoint["secret"], hooks[0])
    assert hooks[0].headers["X-Frontdesk-Event"] == "conversation.status"
    assert event["event"] == "conversation.status" and event["timestamp"].endswith("Z")
    assert event["data"] == {"call_id": call_id, "conversation_id": "conv_voice_e2e", "agent_id": agent.agent_id,
                             "status": "initiated"}

    # The provider's post-call report: the end report and the completed status follow, each signed.
    with django_capture_on_commit_callbacks(execute=True):
        report = _elevenlabs_report({"type": "post_call_transcription", "event_timestamp": int(time.time()), "data": {
            "agent_id": "el_agent_voice", "conversation_id": "conv_voice_e2e", "status": "done",
            "transcript": [{"role": "agent", "message": "Hello! This is Michael from support."},
                           {"role": "user", "message": "Hi, about order 12345."}],
            "metadata": {"start_time_unix_secs": int(time.time()) - 200, "call_duration_secs": 187,
                         "phone_call": {"direction": "outbound", "external_number": "+14155550123"}},
            "analysis": {"call_successful": "success", "transcript_summary": "The customer asked about the order."}}})
    assert report.status_code == 200 and report.json()["call_id"] == call_id
    events = {}
    for request in [entry[0] for entry in providers.log if entry[0].path == "/hook"][1:]:
        body = _verified(endpoint["secret"], request)
        events[body["event"]] = body
    assert set(events) == {"conversation.end_report", "conversation.status"}
    end_report = events["conversation.end_report"]
    assert end_report["id"] == "conversation.end_report:conv_voice_e2e"
    assert {"call_id", "conversation_id", "agent_id", "direction", "participant", "duration_seconds", "status",
            "transcript_url", "recording_url", "sentiment", "summary"} <= set(end_report["data"])
    assert (end_report["data"]["call_id"], end_report["data"]["direction"], end_report["data"]["status"],
            end_report["data"]["duration_seconds"]) == (call_id, "outbound", "completed", 187)
    assert end_report["data"]["participant"]["number"] == "+14155550123"
    assert events["conversation.status"]["data"]["status"] == "completed"

    # Transcriptions: the call, with the provider's turns.
    transcriptions = api.get("/api/v1/transcriptions").json()
    assert [item["callId"] for item in transcriptions["data"]] == [call_id]
    assert transcriptions["data"][0]["transcript"][1]["message"] == "Hi, about order 12345."
