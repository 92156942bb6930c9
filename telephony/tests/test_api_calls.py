"""Calls on the clinic API (/v1, docs/api/clinic-v1.md) and the dashboard API (/api, docs/api/dashboard.md)."""
from datetime import timedelta

import pytest
from django.utils import timezone

from telephony.models import Call

from .factories import CallFactory

pytestmark = pytest.mark.django_db


def make_calls(clinic, count):
    now = timezone.now()
    return [CallFactory(clinic=clinic, created_at=now - timedelta(minutes=index)) for index in range(count)]


# --- /v1/calls
def test_v1_calls_list_is_newest_first_with_camel_case_fields(client_for, clinic):
    calls = make_calls(clinic, 3)

    response = client_for.get("/v1/calls")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"items", "nextCursor", "hasMore"}
    assert body["hasMore"] is False and body["nextCursor"] is None
    assert [item["id"] for item in body["items"]] == [str(call.id) for call in calls]
    item = body["items"][0]
    for field in ("id", "direction", "status", "phoneNumber", "durationSecs", "conversationId", "agentId",
                  "callSuccessful", "summary", "sentiment", "intent", "createdAt"):
        assert field in item
    assert item["phoneNumber"] == "+351912345678"
    assert item["createdAt"].endswith(("+00:00", "+01:00"))  # the clinic's offset (Europe/Lisbon)
    assert "transcript" not in item


def test_v1_calls_cursor_walks_every_call_once(client_for, clinic):
    calls = make_calls(clinic, 5)

    seen, cursor, pages = [], None, 0
    while True:
        response = client_for.get("/v1/calls", {"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200
        body = response.json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        if not body["hasMore"]:
            break
        cursor = body["nextCursor"]

    assert pages == 3
    assert seen == [str(call.id) for call in calls]


def test_v1_calls_status_filter(client_for, clinic):
    CallFactory(clinic=clinic, status=Call.Status.FAILED)
    CallFactory(clinic=clinic, status=Call.Status.COMPLETED)

    body = client_for.get("/v1/calls", {"status": "failed"}).json()

    assert [item["status"] for item in body["items"]] == ["failed"]


def test_v1_calls_bad_status_is_400_in_v1_error_shape(client_for):
    response = client_for.get("/v1/calls", {"status": "exploded"})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert "status" in error["details"]


def test_v1_calls_bad_cursor_is_400(client_for):
    response = client_for.get("/v1/calls", {"cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_v1_calls_list_hides_other_clinics(foreign_client, clinic):
    make_calls(clinic, 2)
    assert foreign_client.get("/v1/calls").json()["items"] == []


def test_v1_call_detail_has_transcript_and_tool_calls(client_for, clinic):
    call = CallFactory(clinic=clinic)

    response = client_for.get(f"/v1/calls/{call.id}")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(call.id)
    assert body["transcript"][1]["message"] == "Queria marcar uma consulta."
    assert body["toolCalls"][0]["name"] == "check_availability"


def test_v1_call_detail_of_another_clinic_is_404(foreign_client, clinic):
    call = CallFactory(clinic=clinic)

    response = foreign_client.get(f"/v1/calls/{call.id}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_v1_calls_need_a_key(api_client):
    response = api_client.get("/v1/calls")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_v1_calls_list_query_count_does_not_grow_with_rows(client_for, clinic):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_calls(clinic, 1)
    client_for.get("/v1/calls")  # warm per-key caches (last_used_at, rate-limit counters)
    with CaptureQueriesContext(connection) as one:
        client_for.get("/v1/calls")
    make_calls(clinic, 20)
    with CaptureQueriesContext(connection) as many:
        assert len(client_for.get("/v1/calls").json()["items"]) == 21

    assert len(many) == len(one)


# --- /api/calls
def test_dashboard_calls_list_pages_and_filters_by_status(client_for, clinic):
    make_calls(clinic, 3)
    CallFactory(clinic=clinic, status=Call.Status.FAILED)

    first = client_for.get("/api/calls", {"per_page": 2, "page": 1}).json()
    completed = client_for.get("/api/calls", {"status": "completed"}).json()

    assert first["total"] == 4 and first["page"] == 1 and first["per_page"] == 2
    assert len(first["calls"]) == 2
    assert set(first["calls"][0]) >= {"id", "phone_number", "status", "scheduled_at", "created_at"}
    assert completed["total"] == 3
    assert {call["status"] for call in completed["calls"]} == {"completed"}


def test_dashboard_calls_list_hides_other_clinics(foreign_client, clinic):
    make_calls(clinic, 2)
    body = foreign_client.get("/api/calls").json()
    assert body["total"] == 0 and body["calls"] == []


def test_dashboard_create_scheduled_call_returns_documented_body(client_for, clinic):
    when = (timezone.now() + timedelta(days=1)).replace(microsecond=0)

    response = client_for.post("/api/calls", {"phone_number": "+351912345678",
                                              "scheduled_at": when.isoformat()}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {"id", "phone_number", "status", "scheduled_at", "created_at"}
    assert body["phone_number"] == "+351912345678"
    assert body["status"] == "scheduled"
    call = Call.objects.get(pk=body["id"])
    assert call.clinic == clinic
    assert call.direction == Call.Direction.OUTBOUND
    assert call.scheduled_at == when


def test_dashboard_create_call_without_time_is_pending(client_for, clinic):
    response = client_for.post("/api/calls", {"phone_number": "912 345 678"}, format="json")

    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert response.json()["phone_number"] == "+351912345678"


def test_dashboard_create_call_with_invalid_number_is_400_detail(client_for):
    response = client_for.post("/api/calls", {"phone_number": "123"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["detail"]
    assert body["code"] == "INVALID_PHONE_NUMBER"
    assert not Call.objects.exists()


def test_dashboard_create_call_without_number_is_400_detail(client_for):
    response = client_for.post("/api/calls", {}, format="json")

    assert response.status_code == 400
    assert "phone_number" in response.json()["detail"]


def test_dashboard_create_call_in_the_past_is_400(client_for):
    response = client_for.post("/api/calls", {"phone_number": "+351912345678",
                                              "scheduled_at": "2020-01-01T10:00:00Z"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "SCHEDULED_IN_PAST"


def test_dashboard_create_call_needs_write_scope(make_client, clinic):
    reader = make_client(clinic, permissions=("read",))
    response = reader.post("/api/calls", {"phone_number": "+351912345678"}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"]


# --- /v1/calls/:id/callback
def test_v1_callback_records_an_outbound_call_to_the_caller(client_for, clinic):
    call = CallFactory(clinic=clinic, phone_number="+351912345678")

    response = client_for.post(f"/v1/calls/{call.id}/callback", {}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["direction"] == "outbound" and body["status"] == "pending"
    assert body["phoneNumber"] == "+351912345678"
    assert body["callbackOf"] == str(call.id)
    assert Call.objects.get(pk=body["id"]).callback_of == call


def test_v1_callback_can_be_scheduled(client_for, clinic):
    call = CallFactory(clinic=clinic)
    when = timezone.now() + timedelta(hours=3)

    response = client_for.post(f"/v1/calls/{call.id}/callback", {"scheduledAt": when.isoformat()}, format="json")

    assert response.status_code == 201
    assert response.json()["status"] == "scheduled"


def test_v1_callback_with_bad_time_is_400(client_for, clinic):
    call = CallFactory(clinic=clinic)
    response = client_for.post(f"/v1/calls/{call.id}/callback", {"scheduledAt": "tomorrow"}, format="json")
    assert response.status_code == 400
    assert "scheduledAt" in response.json()["error"]["details"]


def test_v1_callback_of_a_call_without_number_is_409(client_for, clinic):
    call = CallFactory(clinic=clinic, phone_number="", phone_index="")
    response = client_for.post(f"/v1/calls/{call.id}/callback", {}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "NO_PHONE_NUMBER"


def test_v1_callback_of_another_clinics_call_is_404(foreign_client, clinic):
    call = CallFactory(clinic=clinic)
    response = foreign_client.post(f"/v1/calls/{call.id}/callback", {}, format="json")
    assert response.status_code == 404
    assert not Call.objects.filter(callback_of=call).exists()


# --- /v1/calls/:id/recording
def test_v1_recording_link_downloads_the_file_for_24_hours(client_for, api_client, clinic, local_media):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    path = default_storage.save(f"recordings/{clinic.id}/call.mp3", ContentFile(b"ID3-fake-audio"))
    call = CallFactory(clinic=clinic, recording_path=path)

    response = client_for.get(f"/v1/calls/{call.id}/recording")

    assert response.status_code == 200
    body = response.json()
    expires = timezone.datetime.fromisoformat(body["expiresAt"])
    assert timedelta(hours=23, minutes=59) < expires - timezone.now() <= timedelta(hours=24)
    download = api_client.get(body["url"].removeprefix("http://testserver"))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"ID3-fake-audio"


def test_v1_recording_link_expires_and_cannot_be_forged(api_client, client_for, clinic, local_media, monkeypatch):
    import time

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    path = default_storage.save("recordings/call.mp3", ContentFile(b"audio"))
    call = CallFactory(clinic=clinic, recording_path=path)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - 25 * 3600)
    stale_url = client_for.get(f"/v1/calls/{call.id}/recording").json()["url"]
    monkeypatch.setattr(time, "time", real_time)

    stale = api_client.get(stale_url.removeprefix("http://testserver"))
    forged = api_client.get(f"/v1/calls/recordings/{call.id}:1abcde:forgedsignature")

    assert stale.status_code == 404
    assert forged.status_code == 404
    assert forged.json()["error"]["code"] == "NOT_FOUND"


def test_v1_recording_of_call_without_one_is_404(client_for, clinic):
    call = CallFactory(clinic=clinic, recording_path="")
    response = client_for.get(f"/v1/calls/{call.id}/recording")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "RECORDING_NOT_FOUND"


def test_v1_recording_of_another_clinics_call_is_404(foreign_client, clinic):
    call = CallFactory(clinic=clinic, recording_path="recordings/x.mp3")
    response = foreign_client.get(f"/v1/calls/{call.id}/recording")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_v1_recording_in_object_storage_is_a_presigned_url_for_24_hours(client_for, clinic, settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": "recordings", "endpoint_url": "http://127.0.0.1:9000", "region_name": "eu-west-1",
        "access_key": "test-access-key", "secret_key": "test-secret-key", "querystring_auth": True,
        "default_acl": "private", "signature_version": "s3v4"}}}
    call = CallFactory(clinic=clinic, recording_path=f"recordings/{clinic.id}/call.mp3")

    response = client_for.get(f"/v1/calls/{call.id}/recording")

    assert response.status_code == 200
    url = response.json()["url"]
    assert url.startswith(f"http://127.0.0.1:9000/recordings/recordings/{clinic.id}/call.mp3?")
    assert "X-Amz-Expires=86400" in url and "X-Amz-Signature=" in url


@pytest.mark.parametrize("url, items", [("/v1/calls", "items"), ("/api/calls", "calls")])
def test_calls_filter_by_the_initiated_status_a_placed_call_has(client_for, clinic, url, items):
    # A call the voice agent placed answers `"status": "initiated"` (docs/api/voice.md); the list filters on it.
    placed = CallFactory(clinic=clinic, direction="outbound", status="initiated")
    CallFactory(clinic=clinic, status="completed")

    response = client_for.get(url, {"status": "initiated"})

    assert response.status_code == 200
    assert [row["id"] for row in response.json()[items]] == [str(placed.id)]


def test_openapi_lists_initiated_among_the_call_status_filter_choices(client):
    schema = client.get("/api/schema/?format=json").json()
    for path in ("/v1/calls", "/api/calls"):
        parameters = schema["paths"][path]["get"]["parameters"]
        status = next(parameter for parameter in parameters if parameter["name"] == "status")
        assert "initiated" in status["schema"]["enum"]
