"""Video consultations end to end, in the order docs/api/video.md gives: a referral, its meeting at Dyte, both
professionals let in, their attendance, and Dyte's signed webhook marking both out when everyone left.

Dyte is a local fake of its REST API v2 (pytest-httpserver), so our Dyte client runs with Basic auth against it;
the webhook is signed as Dyte signs it (RSA-SHA256, PKCS#1 v1.5, base64 in `dyte-signature`) with a key whose
public half is the configured `DYTE_WEBHOOK_PUBLIC_KEY`. The clinic's professionals and patient exist already (the
clinic API makes them); everything of the video document goes over HTTP.
"""
import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.test import Client

from scheduling.tests.factories import PatientFactory, ProfessionalFactory
from telephony.backends.video import VIDEO
from telephony.models import VideoMeeting

pytestmark = pytest.mark.django_db

DYTE_TOKEN = base64.b64encode(b"org-e2e:api-key-e2e").decode()
MEETING_ID = "bbbbbbbb-1111-4c4e-9a1b-3f0b2a8c9d11"


@pytest.fixture
def signing_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def dyte(settings, httpserver, signing_key):
    settings.PROVIDERS = {**settings.PROVIDERS, "video": "dyte"}
    settings.DYTE_BASE_URL = httpserver.url_for("/v2")
    settings.DYTE_TOKEN = DYTE_TOKEN
    settings.DYTE_WEBHOOK_PUBLIC_KEY = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    yield httpserver
    VIDEO.reset()


def _participant(meeting_id, name, user_id, preset, token):
    return {"success": True, "data": {
        "id": f"part-{user_id}", "name": name, "picture": "https://example.test/p.png",
        "custom_participant_id": user_id, "preset_name": preset, "created_at": "2026-01-01T00:00:00.000Z",
        "updated_at": "2026-01-01T00:00:00.000Z", "token": token}}


def test_referral_meeting_participants_attendance_and_the_webhook_closes_it(clinic, make_client, dyte, signing_key):
    api = make_client(clinic, header="x-api-key")
    requester = ProfessionalFactory(clinic=clinic, name="Dr. Rui Alves")
    specialist = ProfessionalFactory(clinic=clinic, name="Dra. Ana Lopes")
    patient = PatientFactory(clinic=clinic, name="Maria Silva")

    # Referral.
    created = api.post("/api/referrals", {"requesterId": str(requester.id), "specialistId": str(specialist.id),
                                          "patientId": patient.hash, "reason": "Dor torácica"}, format="json")
    assert created.status_code == 201, created.json()
    referral = created.json()["data"]
    assert {"id", "status", "requesterId", "specialistId", "meetingId", "requesterInMeeting", "specialistInMeeting",
            "updatedAt", "patientId", "reason", "createdAt"} <= set(referral)
    assert (referral["status"], referral["meetingId"], referral["patientId"], referral["reason"]) == (
        "requested", None, patient.hash, "Dor torácica")
    listed = api.get("/api/referrals").json()
    assert (listed["total"], [item["id"] for item in listed["referrals"]]) == (1, [referral["id"]])

    # Meeting: titled with the referral's id; Dyte gets the document's payload with Basic auth.
    dyte.expect_oneshot_request(
        "/v2/meetings", method="POST", headers={"Authorization": f"Basic {DYTE_TOKEN}"},
        json={"title": referral["id"], "preferred_region": "ap-south-1", "record_on_start": False,
              "live_stream_on_start": False},
    ).respond_with_json({"success": True, "data": {
        "id": MEETING_ID, "title": referral["id"], "preferred_region": "ap-south-1",
        "created_at": "2026-01-01T00:00:00.000Z", "record_on_start": False, "updated_at": "2026-01-01T00:00:00.000Z",
        "live_stream_on_start": False, "persist_chat": False, "summarize_on_end": False, "is_large": False,
        "status": "ACTIVE", "recording_config": "NOT_CONFIGURED"}}, status=201)
    meeting = api.post("/api/dyte/meeting", {"titleMeet": referral["id"]}, format="json")
    assert meeting.status_code == 201, meeting.json()
    assert set(meeting.json()["data"]) == {"id", "title", "preferred_region", "created_at", "record_on_start",
                                           "updated_at", "live_stream_on_start", "persist_chat", "summarize_on_end",
                                           "status", "recording_config"}
    assert (meeting.json()["data"]["id"], meeting.json()["data"]["title"], meeting.json()["data"]["status"]) == (
        MEETING_ID, referral["id"], "ACTIVE")

    # Participants: the requesting professional hosts, the specialist joins.
    for professional, preset, token in ((requester, "group_call_host", "dyte-token-host"),
                                        (specialist, "group_call_participant", "dyte-token-guest")):
        dyte.expect_oneshot_request(
            f"/v2/meetings/{MEETING_ID}/participants", method="POST",
            headers={"Authorization": f"Basic {DYTE_TOKEN}"},
            json={"name": professional.name, "picture": "https://example.test/p.png", "preset_name": preset,
                  "custom_participant_id": str(professional.id)},
        ).respond_with_json(_participant(MEETING_ID, professional.name, str(professional.id), preset, token),
                            status=201)
        added = api.post("/api/dyte/participants", {
            "user": {"name": professional.name, "avatar": "https://example.test/p.png", "id": str(professional.id)},
            "idMeet": MEETING_ID, "type_preset": preset}, format="json")
        assert added.status_code == 201, added.json()
        assert {"id", "name", "picture", "custom_participant_id", "preset_name", "created_at", "updated_at",
                "token"} <= set(added.json()["data"])
        assert (added.json()["data"]["token"], added.json()["data"]["preset_name"]) == (token, preset)
    dyte.check_assertions()

    # Attendance: both professionals join.
    attendance = f"/attendance-service/referrals/{referral['id']}/meetings/{MEETING_ID}/user"
    joined = api.post(attendance, {"inMeeting": True, "userId": str(requester.id)}, format="json")
    assert joined.status_code == 200, joined.json()
    assert (joined.json()["data"]["status"], joined.json()["data"]["meetingId"],
            joined.json()["data"]["requesterInMeeting"]) == ("in_progress", MEETING_ID, True)
    both = api.post(attendance, {"inMeeting": True, "userId": str(specialist.id)}, format="json").json()["data"]
    assert (both["requesterInMeeting"], both["specialistInMeeting"]) == (True, True)
    stranger = api.post(attendance, {"inMeeting": True, "userId": str(ProfessionalFactory(clinic=clinic).id)},
                        format="json")
    assert stranger.status_code == 400 and stranger.json()["code"] == "USER_NOT_IN_REFERRAL"

    # Dyte's webhook: everyone left; signed by Dyte's key, it marks both professionals out of the meeting.
    event = {"event": "meeting.ended",
             "meeting": {"id": MEETING_ID, "sessionId": "sess-e2e", "title": referral["id"], "status": "ENDED",
                         "createdAt": "2026-01-01T10:00:00.000Z", "startedAt": "2026-01-01T10:01:00.000Z",
                         "endedAt": "2026-01-01T10:31:00.000Z",
                         "organizedBy": {"id": "org-e2e", "name": "Clínica"}},
             "reason": "ALL_PARTICIPANTS_LEFT"}
    raw = json.dumps(event).encode()
    forged = Client().post("/api/dyte/webhook", data=raw, content_type="application/json",
                           HTTP_DYTE_SIGNATURE=base64.b64encode(b"not a signature").decode())
    assert forged.status_code == 403 and forged.json()["code"] == "INVALID_SIGNATURE"
    signature = base64.b64encode(signing_key.sign(raw, padding.PKCS1v15(), hashes.SHA256())).decode()
    closed = Client().post("/api/dyte/webhook", data=raw, content_type="application/json",
                           HTTP_DYTE_SIGNATURE=signature)
    assert closed.status_code == 200, closed.content
    assert closed.json() == {"message": "Videochamada atualizada com sucesso!"}

    after = api.get(f"/api/referrals/{referral['id']}").json()["data"]
    assert (after["requesterInMeeting"], after["specialistInMeeting"], after["meetingId"]) == (False, False, MEETING_ID)
    assert VideoMeeting.objects.get(provider_meeting_id=MEETING_ID).status == "ENDED"
