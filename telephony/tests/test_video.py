"""Video consultations (docs/api/video.md): Dyte meetings and participants faked at the HTTP boundary, attendance of a
referral's professionals, Dyte's signed webhook, tenancy and bad input."""
import base64
import json
import uuid

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.test import Client
from werkzeug import Response as WerkzeugResponse

from clinics.models import AuditEvent
from scheduling.tests.factories import PatientFactory, ProfessionalFactory
from telephony.backends.video import VIDEO, LocalVideoBackend
from telephony.models import Referral, VideoMeeting, VideoParticipant

pytestmark = pytest.mark.django_db

DYTE_TOKEN = base64.b64encode(b"org-id:api-key").decode()
MEETING_ID = "bbb4f1a0-4b1e-4c4e-9a1b-3f0b2a8c9d11"
DYTE_MEETING = {
    "id": MEETING_ID, "title": "t", "preferred_region": "ap-south-1", "created_at": "2026-01-01T00:00:00.000Z",
    "record_on_start": False, "updated_at": "2026-01-01T00:00:00.000Z", "live_stream_on_start": False,
    "persist_chat": False, "summarize_on_end": False, "is_large": False, "status": "ACTIVE",
    "recording_config": "NOT_CONFIGURED",
}


@pytest.fixture
def dyte(settings, httpserver):
    """The dyte backend pointed at a local fake of Dyte's API."""
    settings.PROVIDERS = {**settings.PROVIDERS, "video": "dyte"}
    settings.DYTE_BASE_URL = httpserver.url_for("/v2")
    settings.DYTE_TOKEN = DYTE_TOKEN
    settings.DYTE_WEBHOOK_PUBLIC_KEY = ""
    yield httpserver
    VIDEO.reset()


# Webhooks are refused unless DYTE_WEBHOOK_PUBLIC_KEY is set, whichever backend: tests sign them as Dyte does.
WEBHOOK_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def local_video(settings):
    settings.PROVIDERS = {**settings.PROVIDERS, "video": "local"}
    settings.DYTE_WEBHOOK_PUBLIC_KEY = WEBHOOK_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return settings


def post_webhook(client, body):
    """POST /api/dyte/webhook signed with WEBHOOK_KEY (`body` a dict sent as compact JSON, or raw text)."""
    raw = body.encode() if isinstance(body, str) else json.dumps(body, separators=(",", ":")).encode()
    signature = base64.b64encode(WEBHOOK_KEY.sign(raw, padding.PKCS1v15(), hashes.SHA256())).decode()
    return client.post("/api/dyte/webhook", raw, content_type="application/json", HTTP_DYTE_SIGNATURE=signature)


@pytest.fixture
def referral(clinic):
    return Referral.objects.create(clinic=clinic, requesting_professional=ProfessionalFactory(clinic=clinic),
                                   specialist=ProfessionalFactory(clinic=clinic), patient=PatientFactory(clinic=clinic),
                                   reason="Dor torácica")


def a_meeting(clinic, provider_id=MEETING_ID):
    return VideoMeeting.objects.create(clinic=clinic, provider="dyte", provider_meeting_id=provider_id,
                                       title="t", preferred_region="ap-south-1")


# --- Dyte meeting and participants --------------------------------------------------------------------------------

def test_creating_a_meeting_sends_dytes_documented_payload_with_basic_auth(client_for, clinic, referral, dyte):
    dyte.expect_oneshot_request(
        "/v2/meetings", method="POST", headers={"Authorization": f"Basic {DYTE_TOKEN}"},
        json={"title": str(referral.id), "preferred_region": "ap-south-1", "record_on_start": False,
              "live_stream_on_start": False},
    ).respond_with_json({"success": True, "data": {**DYTE_MEETING, "title": str(referral.id)}}, status=201)

    response = client_for.post("/api/dyte/meeting", {"titleMeet": str(referral.id)}, format="json")

    dyte.check_assertions()
    assert response.status_code == 201, response.content
    assert response.json() == {"data": {
        "id": MEETING_ID, "title": str(referral.id), "preferred_region": "ap-south-1",
        "created_at": "2026-01-01T00:00:00+00:00", "record_on_start": False,
        "updated_at": "2026-01-01T00:00:00+00:00", "live_stream_on_start": False, "persist_chat": False,
        "summarize_on_end": False, "status": "ACTIVE", "recording_config": "NOT_CONFIGURED"}}
    referral.refresh_from_db()
    assert referral.meeting.provider_meeting_id == MEETING_ID and referral.meeting.clinic == clinic


def test_adding_a_participant_maps_the_user_to_dytes_fields_and_returns_the_token(client_for, clinic, dyte):
    a_meeting(clinic)
    dyte.expect_oneshot_request(
        f"/v2/meetings/{MEETING_ID}/participants", method="POST", headers={"Authorization": f"Basic {DYTE_TOKEN}"},
        json={"name": "Dra. Ana", "picture": "https://example.test/ana.png", "preset_name": "group_call_host",
              "custom_participant_id": "doctor-1"},
    ).respond_with_json({"success": True, "data": {
        "id": "c0ffee00-0000-4000-8000-000000000001", "name": "Dra. Ana", "picture": "https://example.test/ana.png",
        "custom_participant_id": "doctor-1", "preset_name": "group_call_host",
        "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-01-01T00:00:00.000Z", "token": "dyte-token"}},
        status=201)

    response = client_for.post("/api/dyte/participants", {
        "user": {"name": "Dra. Ana", "avatar": "https://example.test/ana.png", "id": "doctor-1"},
        "idMeet": MEETING_ID, "type_preset": "group_call_host"}, format="json")

    dyte.check_assertions()
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data == {"id": "c0ffee00-0000-4000-8000-000000000001", "name": "Dra. Ana",
                    "picture": "https://example.test/ana.png", "custom_participant_id": "doctor-1",
                    "preset_name": "group_call_host", "created_at": "2026-01-01T00:00:00+00:00",
                    "updated_at": "2026-01-01T00:00:00+00:00", "token": "dyte-token"}
    stored = VideoParticipant.objects.get()
    assert stored.token == "dyte-token" and stored.meeting.clinic == clinic


def test_a_dyte_failure_is_a_502_in_the_dashboard_shape(client_for, dyte):
    dyte.expect_oneshot_request("/v2/meetings", method="POST").respond_with_response(
        WerkzeugResponse('{"success": false, "error": {"message": "Unauthorized"}}', status=401,
                         content_type="application/json"))

    response = client_for.post("/api/dyte/meeting", {"titleMeet": "Consulta"}, format="json")

    assert response.status_code == 502
    assert response.json()["code"] == "VIDEO_PROVIDER_ERROR" and "detail" in response.json()
    assert VideoMeeting.objects.count() == 0


def test_the_local_backend_gives_a_working_join_page_offline(client_for, clinic, local_video, settings):
    meeting = client_for.post("/api/dyte/meeting", {"titleMeet": "Consulta"}, format="json").json()["data"]
    participant = client_for.post("/api/dyte/participants", {
        "user": {"name": "Paciente", "avatar": "", "id": "patient-1"}, "idMeet": meeting["id"],
        "type_preset": "group_call_participant"}, format="json").json()["data"]

    opened = LocalVideoBackend.open_token(participant["token"])
    assert opened["meeting"] == meeting["id"] and opened["participant"] == participant["id"]
    assert LocalVideoBackend.open_token(participant["token"] + "x") is None

    page = Client().get(participant["join_url"].removeprefix(settings.SITE_URL.rstrip("/")))
    assert page.status_code == 200 and "Paciente" in page.content.decode() and "Consulta" in page.content.decode()
    assert Client().get(f"/attendance-service/video/join/{participant['token']}x").status_code == 404


def test_meeting_and_participant_reject_bad_bodies(client_for, clinic, local_video):
    a_meeting(clinic)
    for url, body, field in [
        ("/api/dyte/meeting", {}, "titleMeet"),
        ("/api/dyte/meeting", {"titleMeet": ""}, "titleMeet"),
        ("/api/dyte/participants", {"idMeet": MEETING_ID, "type_preset": "group_call_host"}, "user"),
        ("/api/dyte/participants", {"user": {"name": "A", "id": "1"}, "idMeet": MEETING_ID,
                                    "type_preset": "admin"}, "type_preset"),
    ]:
        response = client_for.post(url, body, format="json")
        assert response.status_code == 400, (url, body)
        assert "detail" in response.json() and field in response.json()["errors"], response.json()


def test_another_clinics_meeting_is_404_when_adding_a_participant(foreign_client, clinic, local_video):
    a_meeting(clinic)
    response = foreign_client.post("/api/dyte/participants", {
        "user": {"name": "Intruso", "avatar": "", "id": "x"}, "idMeet": MEETING_ID,
        "type_preset": "group_call_host"}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "MEETING_NOT_FOUND"
    assert VideoParticipant.objects.count() == 0


def test_video_routes_need_credentials(api_client):
    assert api_client.post("/api/dyte/meeting", {"titleMeet": "x"}, format="json").status_code == 401
    response = api_client.post(f"/attendance-service/referrals/{uuid.uuid4()}/meetings/x/user",
                               {"inMeeting": True, "userId": "x"}, format="json")
    assert response.status_code == 401 and "detail" in response.json()


# --- attendance -------------------------------------------------------------------------------------------------

def attendance_url(referral, meeting_id=MEETING_ID):
    return f"/attendance-service/referrals/{referral.id}/meetings/{meeting_id}/user"


def test_professionals_joining_and_leaving_are_recorded_on_the_referral(client_for, clinic, referral):
    a_meeting(clinic)
    specialist = str(referral.specialist_id)

    joined = client_for.post(attendance_url(referral), {"inMeeting": True, "userId": specialist}, format="json")
    client_for.post(attendance_url(referral), {"inMeeting": True, "userId": str(referral.requesting_professional_id)},
                    format="json")
    left = client_for.post(attendance_url(referral), {"inMeeting": False, "userId": specialist}, format="json")

    assert joined.status_code == 200, joined.content
    assert joined.json()["data"]["specialistInMeeting"] is True
    data = left.json()["data"]
    assert (data["meetingId"], data["status"]) == (MEETING_ID, "in_progress")
    assert (data["requesterInMeeting"], data["specialistInMeeting"]) == (True, False)


def test_attendance_rejects_a_stranger_and_bad_bodies_in_the_dashboard_shape(client_for, clinic, referral):
    a_meeting(clinic)
    stranger = client_for.post(attendance_url(referral), {"inMeeting": True, "userId": str(uuid.uuid4())},
                               format="json")
    assert stranger.status_code == 400 and stranger.json()["code"] == "USER_NOT_IN_REFERRAL"
    missing = client_for.post(attendance_url(referral), {"userId": str(referral.specialist_id)}, format="json")
    assert missing.status_code == 400 and "inMeeting" in missing.json()["errors"]
    unknown = client_for.post(attendance_url(referral, "no-such-meeting"),
                              {"inMeeting": True, "userId": str(referral.specialist_id)}, format="json")
    assert unknown.status_code == 404 and unknown.json() == {"detail": "Meeting not found.",
                                                             "code": "MEETING_NOT_FOUND"}


def test_another_clinics_referral_is_404_on_attendance_and_doctor_exit(foreign_client, clinic, referral):
    a_meeting(clinic)
    referral.requester_in_meeting = True
    referral.save()
    for url, body in [
        (attendance_url(referral), {"inMeeting": False, "userId": str(referral.requesting_professional_id)}),
        ("/api/update-doctor-meet", {"doctorID": str(referral.requesting_professional_id),
                                     "referralID": str(referral.id), "meetID": MEETING_ID}),
    ]:
        response = foreign_client.post(url, body, format="json")
        assert response.status_code == 404, url
        assert "detail" in response.json()
    referral.refresh_from_db()
    assert referral.requester_in_meeting is True


def test_update_doctor_meet_marks_that_doctor_out(client_for, clinic, referral):
    referral.meeting = a_meeting(clinic)
    referral.requester_in_meeting = referral.specialist_in_meeting = True
    referral.save()

    response = client_for.post("/api/update-doctor-meet", {
        "doctorID": str(referral.requesting_professional_id), "referralID": str(referral.id),
        "meetID": MEETING_ID}, format="json")

    assert response.status_code == 200, response.content
    referral.refresh_from_db()
    assert (referral.requester_in_meeting, referral.specialist_in_meeting) == (False, True)
    bad = client_for.post("/api/update-doctor-meet", {"doctorID": "x"}, format="json")
    assert bad.status_code == 400 and {"referralID", "meetID"} <= set(bad.json()["errors"])


# --- webhook ------------------------------------------------------------------------------------------------------

def webhook_body(referral, reason="ALL_PARTICIPANTS_LEFT"):
    return {"event": "meeting.ended", "meeting": {
        "id": MEETING_ID, "sessionId": "s-1", "title": str(referral.id), "status": "ENDED",
        "createdAt": "2026-01-01T10:00:00Z", "startedAt": "2026-01-01T10:00:05Z", "endedAt": "2026-01-01T10:30:00Z",
        "organizedBy": {"id": "org", "name": "Clínica"}}, "reason": reason}


def in_call(referral, clinic):
    referral.meeting = a_meeting(clinic)
    referral.requester_in_meeting = referral.specialist_in_meeting = True
    referral.save()


def test_all_participants_left_marks_both_professionals_out(api_client, clinic, referral, local_video):
    in_call(referral, clinic)

    response = post_webhook(api_client, webhook_body(referral))

    assert response.status_code == 200
    assert response.json() == {"message": "Videochamada atualizada com sucesso!"}
    referral.refresh_from_db()
    assert (referral.requester_in_meeting, referral.specialist_in_meeting) == (False, False)
    assert VideoMeeting.objects.get().status == "ENDED"


@pytest.fixture
def signing_key(settings):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    settings.DYTE_WEBHOOK_PUBLIC_KEY = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return key


def sign(key, raw: bytes) -> str:
    return base64.b64encode(key.sign(raw, padding.PKCS1v15(), hashes.SHA256())).decode()


def test_a_signed_webhook_is_applied_and_an_unsigned_or_forged_one_refused(api_client, clinic, referral, signing_key):
    in_call(referral, clinic)
    raw = json.dumps(webhook_body(referral), separators=(",", ":")).encode()

    unsigned = api_client.post("/api/dyte/webhook", raw, content_type="application/json")
    forged = api_client.post("/api/dyte/webhook", raw, content_type="application/json",
                             HTTP_DYTE_SIGNATURE=sign(rsa.generate_private_key(public_exponent=65537, key_size=2048),
                                                      raw))
    referral.refresh_from_db()
    assert (unsigned.status_code, forged.status_code) == (403, 403)
    assert forged.json()["code"] == "INVALID_SIGNATURE"
    assert referral.requester_in_meeting is True

    signed = api_client.post("/api/dyte/webhook", raw, content_type="application/json",
                             HTTP_DYTE_SIGNATURE=sign(signing_key, raw))
    assert signed.status_code == 200
    referral.refresh_from_db()
    assert (referral.requester_in_meeting, referral.specialist_in_meeting) == (False, False)


def test_webhook_rejects_a_body_without_meeting_title(api_client, local_video):
    response = post_webhook(api_client, {"event": "meeting.ended", "meeting": {}})
    assert response.status_code == 400 and "meeting" in response.json()["errors"]
    assert post_webhook(api_client, "not json").status_code == 400


def test_webhook_for_a_meeting_of_another_clinic_changes_nothing(api_client, clinic, other_clinic, referral,
                                                                 local_video):
    referral.requester_in_meeting = True
    referral.save()
    a_meeting(other_clinic)  # the meeting id in the body belongs to another clinic than the referral

    response = post_webhook(api_client, webhook_body(referral))

    assert response.status_code == 200
    referral.refresh_from_db()
    assert referral.requester_in_meeting is True


# --- referrals: where a video consultation starts ----------------------------------------------------------------

@pytest.fixture
def people(clinic):
    return {"requester": ProfessionalFactory(clinic=clinic), "specialist": ProfessionalFactory(clinic=clinic),
            "patient": PatientFactory(clinic=clinic)}


def referral_body(people, **changes):
    return {"requesterId": str(people["requester"].id), "specialistId": str(people["specialist"].id),
            "patientId": people["patient"].hash, "reason": "Dor torácica", **changes}


def test_referral_to_meeting_to_participants_to_webhook_in_the_documents_order(client_for, api_client, clinic, people,
                                                                               local_video):
    """docs/api/video.md: a referral, its meeting titled with the referral id, both professionals let in and
    recorded in the call, then the provider's webhook closes it for both."""
    created = client_for.post("/api/referrals", referral_body(people), format="json")
    assert created.status_code == 201, created.content
    referral = created.json()["data"]
    assert referral["status"] == "requested" and referral["meetingId"] is None
    assert referral["requesterId"] == str(people["requester"].id)
    assert referral["patientId"] == people["patient"].hash and referral["reason"] == "Dor torácica"

    meeting = client_for.post("/api/dyte/meeting", {"titleMeet": referral["id"]}, format="json")
    assert meeting.status_code == 201, meeting.content
    meeting_id = meeting.json()["data"]["id"]
    assert client_for.get(f"/api/referrals/{referral['id']}").json()["data"]["meetingId"] == meeting_id

    for role, preset in (("requester", "group_call_host"), ("specialist", "group_call_participant")):
        professional = people[role]
        participant = client_for.post("/api/dyte/participants", {
            "user": {"name": professional.name, "avatar": "", "id": str(professional.id)}, "idMeet": meeting_id,
            "type_preset": preset}, format="json")
        assert participant.status_code == 201, participant.content
        assert participant.json()["data"]["token"]
        joined = client_for.post(f"/attendance-service/referrals/{referral['id']}/meetings/{meeting_id}/user",
                                 {"inMeeting": True, "userId": str(professional.id)}, format="json")
        assert joined.status_code == 200, joined.content

    in_call = client_for.get(f"/api/referrals/{referral['id']}").json()["data"]
    assert (in_call["status"], in_call["requesterInMeeting"], in_call["specialistInMeeting"]) == (
        "in_progress", True, True)

    ended = post_webhook(api_client, {
        "event": "meeting.ended", "meeting": {"id": meeting_id, "title": referral["id"], "status": "ENDED"},
        "reason": "ALL_PARTICIPANTS_LEFT"})
    assert ended.status_code == 200, ended.content

    closed = client_for.get(f"/api/referrals/{referral['id']}").json()["data"]
    assert (closed["requesterInMeeting"], closed["specialistInMeeting"]) == (False, False)
    assert closed["meetingId"] == meeting_id
    assert VideoMeeting.objects.for_clinic(clinic).get().status == "ENDED"
    listed = client_for.get("/api/referrals").json()
    assert listed["total"] == 1 and [item["id"] for item in listed["referrals"]] == [referral["id"]]


def test_another_clinics_referral_is_404_and_absent_from_the_list(foreign_client, clinic, referral):
    response = foreign_client.get(f"/api/referrals/{referral.id}")
    assert response.status_code == 404
    assert response.json()["code"] == "REFERRAL_NOT_FOUND"
    assert foreign_client.get(f"/api/referrals/{uuid.uuid4()}").status_code == 404
    assert foreign_client.get("/api/referrals/not-a-uuid").status_code == 404
    listed = foreign_client.get("/api/referrals").json()
    assert listed["total"] == 0 and listed["referrals"] == []


def test_a_referral_cannot_name_another_clinics_professional_or_patient(foreign_client, clinic, other_clinic,
                                                                        people):
    """The other clinic posts with `clinic`'s people: each is refused by field, and nothing is stored."""
    own = {"requester": ProfessionalFactory(clinic=other_clinic), "specialist": ProfessionalFactory(clinic=other_clinic),
           "patient": PatientFactory(clinic=other_clinic)}
    for field, value in (("requesterId", str(people["requester"].id)),
                         ("specialistId", str(people["specialist"].id)),
                         ("patientId", people["patient"].hash), ("patientId", str(people["patient"].id))):
        response = foreign_client.post("/api/referrals", referral_body(own, **{field: value}), format="json")
        assert response.status_code == 400, (field, response.content)
        assert response.json()["code"] == "VALIDATION_ERROR" and field in response.json()["errors"]
    assert not Referral.objects.exists()


@pytest.mark.parametrize("changes", [
    {"requesterId": None}, {"specialistId": ""}, {"patientId": []}, {"requesterId": "not-a-uuid"},
    {"reason": "x" * 2001}, {"specialistId": "same"},
])
def test_bad_referral_bodies_are_400_and_store_nothing(client_for, people, changes):
    if changes.get("specialistId") == "same":
        changes = {"specialistId": str(people["requester"].id)}
    response = client_for.post("/api/referrals", referral_body(people, **changes), format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert not Referral.objects.exists()


def test_a_referral_is_audited(client_for, people):
    referral = client_for.post("/api/referrals", referral_body(people), format="json").json()["data"]
    assert AuditEvent.objects.filter(action="referral.create", object_id=referral["id"]).exists()
