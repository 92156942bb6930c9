"""The notes API (docs/api/notes.md) through HTTP: bodies, errors, filters, tenancy."""
import datetime
import io
import json

import pytest
from django.utils import timezone

from notes.models import Note, NoteSection
from notes.tests.conftest import wav_bytes
from notes.tests.factories import NoteFactory, NoteSectionFactory

URL = "/notes/v1/notes"


def upload(client, content=None, filename="audio.wav", **fields):
    audio = io.BytesIO(wav_bytes() if content is None else content)
    audio.name = filename
    return client.post(URL, {"audio": audio, **fields}, format="multipart")


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) >= {"error", "message", "code"}
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


# --- POST /notes

def test_upload_creates_pending_note_of_the_callers_clinic(notes_client, clinic):
    response = upload(notes_client, filename="whatever.mp3", metadata=json.dumps(
        [{"key": "veterinario", "value": "Dr. Silva"}]), gender="male", external_id="CLIENTE_123", name="Rex")

    assert response.status_code == 201
    data = response.json()["data"]
    assert set(data) == {"id", "name", "gender", "transcription_status", "external_id", "metadata", "created_at",
                         "updated_at"}
    assert data["transcription_status"] == "pending"
    assert data["metadata"] == [{"key": "veterinario", "value": "Dr. Silva"}]
    assert data["created_at"].endswith("Z") and len(data["created_at"]) == 20
    note = Note.objects.get(pk=data["id"])
    assert note.clinic == clinic
    assert (note.audio_format, note.audio_mime) == ("wav", "audio/wav")
    assert note.audio.name.endswith(f"{note.id}.wav")
    assert note.audio.read()[:4] == b"RIFF"


def test_upload_of_a_pdf_named_mp3_is_invalid_audio_format(notes_client):
    body = assert_error(upload(notes_client, b"%PDF-1.7 not audio", filename="consulta.mp3"), 400,
                        "INVALID_AUDIO_FORMAT")
    assert body["error"] == "bad_request"
    assert body["details"]["received"] == "application/pdf"
    assert "audio/wav" in body["details"]["expected"]
    assert not Note.objects.exists()


def test_upload_without_audio_is_400(notes_client):
    body = assert_error(notes_client.post(URL, {"name": "Rex"}, format="multipart"), 400, "AUDIO_REQUIRED")
    assert "audio" in body["details"]


def test_upload_with_unparseable_metadata_is_400(notes_client):
    assert_error(upload(notes_client, metadata="{not json"), 400, "INVALID_METADATA")


def test_upload_with_unknown_gender_is_400(notes_client):
    body = assert_error(upload(notes_client, gender="robot"), 400, "VALIDATION_ERROR")
    assert "gender" in body["details"]


def test_upload_over_the_limit_is_413(notes_client, settings):
    settings.NOTES_MAX_AUDIO_BYTES = 1000
    body = assert_error(upload(notes_client, wav_bytes(b"\x00" * 2000)), 413, "PAYLOAD_TOO_LARGE")
    assert body["error"] == "payload_too_large"
    assert body["details"]["limit_bytes"] == 1000


def test_413_is_decided_from_content_length_before_the_body_is_read(notes_client, settings):
    # The declared length says 60 MB while only a few bytes follow: reading the body would fail or hang.
    response = notes_client.generic("POST", URL, b"--x\r\n", content_type="multipart/form-data; boundary=x",
                                    CONTENT_LENGTH=str(60 * 1024 * 1024))
    body = assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert body["details"] == {"limit_bytes": settings.NOTES_MAX_AUDIO_BYTES, "received_bytes": 60 * 1024 * 1024}


def test_missing_api_key_is_401(api_client, db):
    body = assert_error(api_client.get(URL), 401, "UNAUTHORIZED")
    assert body["error"] == "unauthorized"


def test_wrong_api_key_is_401(api_client, db):
    api_client.credentials(HTTP_X_API_KEY="fd_live_not-a-real-key")
    assert_error(api_client.get(URL), 401, "UNAUTHORIZED")


def test_read_only_key_cannot_upload(make_client, clinic):
    client = make_client(clinic, permissions=("read",), header="x-api-key")
    assert_error(upload(client), 403, "FORBIDDEN")


# --- GET /notes

def test_list_is_paginated_with_the_documented_meta(notes_client, clinic, django_assert_max_num_queries):
    NoteFactory.create_batch(12, clinic=clinic)
    notes_client.get(URL, {"limit": 1})  # first call of the key: auth bookkeeping and counters
    # Key lookup, count, page, plus the shared per-request bookkeeping (usage counters): never one per note.
    with django_assert_max_num_queries(8):
        response = notes_client.get(URL, {"page": 2, "limit": 5})
    body = response.json()
    assert response.status_code == 200
    assert body["meta"] == {"total": 12, "page": 2, "limit": 5, "total_pages": 3}
    assert len(body["data"]) == 5


def test_list_filters_combine(notes_client, clinic):
    now = timezone.now()
    wanted = NoteFactory(clinic=clinic, name="Rex Ferreira", external_id="A1", transcription_status="completed",
                         created_at=now - datetime.timedelta(days=2))
    NoteFactory(clinic=clinic, name="Rex Ferreira", external_id="A1", transcription_status="failed",
                created_at=now - datetime.timedelta(days=2))
    NoteFactory(clinic=clinic, name="Rex Ferreira", external_id="A1", transcription_status="completed",
                created_at=now - datetime.timedelta(days=40))
    NoteFactory(clinic=clinic, name="Bolinha", external_id="A1", transcription_status="completed",
                created_at=now - datetime.timedelta(days=2))
    NoteFactory(clinic=clinic, name="Rex Ferreira", external_id="B2", transcription_status="completed",
                created_at=now - datetime.timedelta(days=2))

    response = notes_client.get(URL, {"transcription_status": "completed", "days": 7, "name": "ferreira",
                                      "external_id": "A1", "limit": 50})
    assert [note["id"] for note in response.json()["data"]] == [str(wanted.id)]

    start = (now - datetime.timedelta(days=3)).date().isoformat()
    end = now.date().isoformat()
    response = notes_client.get(URL, {"from": start, "to": end, "name": "REX", "external_id": "A1",
                                      "transcription_status": "completed"})
    assert [note["id"] for note in response.json()["data"]] == [str(wanted.id)]


def test_name_filter_matches_words_ignoring_accents_and_order(notes_client, clinic):
    note = NoteFactory(clinic=clinic, name="Tobias Gonçalves")
    assert notes_client.get(URL, {"name": "goncalves tobias"}).json()["meta"]["total"] == 1
    assert notes_client.get(URL, {"name": "Tobias"}).json()["data"][0]["id"] == str(note.id)
    assert notes_client.get(URL, {"name": "bias"}).json()["meta"]["total"] == 0  # prefixes only: test_name_search


@pytest.mark.parametrize("params", [
    {"transcription_status": "done"}, {"from": "2024-13-01"}, {"to": "14/02/2024"}, {"days": "0"},
    {"days": "abc"}, {"from": "2024-02-10", "to": "2024-02-01"}, {"limit": "-1"},
])
def test_invalid_filter_values_are_400(notes_client, params):
    body = notes_client.get(URL, params).json()
    assert body["error"] == "bad_request"
    assert body["code"] in ("INVALID_FILTER", "VALIDATION_ERROR")
    assert body["details"]


def test_list_never_shows_another_clinics_notes(foreign_notes_client, clinic):
    NoteFactory(clinic=clinic)
    assert foreign_notes_client.get(URL).json()["meta"]["total"] == 0


# --- GET /notes/{id}, /status, /export

def test_detail_has_sections_in_order_and_transcript(notes_client, clinic):
    note = NoteFactory(clinic=clinic, transcript="Cão com tosse.")
    NoteSectionFactory(note=note, label="plan", title="Plano", order=2, content="Repouso.")
    NoteSectionFactory(note=note, label="anamnesis", title="Anamnese", order=1, content="Tosse.")
    data = notes_client.get(f"{URL}/{note.id}").json()["data"]
    assert data["transcript"] == "Cão com tosse."
    assert [(s["label"], s["order"]) for s in data["sections"]] == [("anamnesis", "1"), ("plan", "2")]
    assert set(data["sections"][0]) >= {"id", "title", "label", "content", "order"}


def test_detail_queries_do_not_grow_with_sections(notes_client, clinic, django_assert_max_num_queries):
    note = NoteFactory(clinic=clinic)
    for order, label in enumerate(["anamnesis", "physical_exam", "assessment", "plan", "extra"], start=1):
        NoteSectionFactory(note=note, label=label, order=order)
    notes_client.get(f"{URL}/{note.id}")  # first call of the key: auth bookkeeping and counters
    # Key lookup, note, sections, audit event, plus the shared per-request bookkeeping.
    with django_assert_max_num_queries(8):
        assert len(notes_client.get(f"{URL}/{note.id}").json()["data"]["sections"]) == 5


def test_reading_and_exporting_a_note_is_audited(notes_client, clinic):
    from clinics.models import AuditEvent

    note = NoteFactory(clinic=clinic)
    notes_client.get(f"{URL}/{note.id}")
    notes_client.get(f"{URL}/{note.id}/export", {"format": "txt"})
    notes_client.get(f"{URL}/{note.id}/status")
    events = AuditEvent.objects.filter(object_id=str(note.id))
    assert sorted((event.action, event.clinic_id, event.actor_kind) for event in events) == [
        ("note.export", clinic.id, "key"), ("note.read", clinic.id, "key")]


@pytest.mark.parametrize("suffix", ["", "/status", "/export?format=txt", "/retry"])
def test_another_clinics_note_is_404(foreign_notes_client, clinic, suffix):
    note = NoteFactory(clinic=clinic, transcription_status="failed")
    call = foreign_notes_client.post if suffix == "/retry" else foreign_notes_client.get
    body = assert_error(call(f"{URL}/{note.id}{suffix}"), 404, "NOTE_NOT_FOUND")
    assert body["error"] == "not_found"


def test_unknown_note_is_404_in_the_documented_body(notes_client):
    assert_error(notes_client.get(f"{URL}/550e8400-e29b-41d4-a716-446655440000"), 404, "NOTE_NOT_FOUND")
    assert_error(notes_client.get(f"{URL}/not-a-uuid"), 404, "NOT_FOUND")


@pytest.mark.parametrize(("status", "transcript", "valid"), [
    ("pending", "", False), ("processing", "", False), ("completed", "Tosse.", True), ("failed", "", False)])
def test_status_is_status_and_valid(notes_client, clinic, status, transcript, valid):
    note = NoteFactory(clinic=clinic, transcription_status=status, transcript=transcript)
    response = notes_client.get(f"{URL}/{note.id}/status")
    assert response.json() == {"data": {"status": status, "valid": valid}, "meta": {}}


def test_text_export_is_utf8_with_sections_and_disposition(notes_client, clinic):
    note = NoteFactory(clinic=clinic, name="Bolinha", language="pt", transcript="cão com tosse")
    NoteSectionFactory(note=note, label="anamnesis", title="Anamnese", content="Cão com tosse, febre 39,5 °C")
    response = notes_client.get(f"{URL}/{note.id}/export", {"format": "txt"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="note-{note.id}.txt"'
    text = response.content.decode("utf-8")
    assert "Paciente: Bolinha" in text
    assert "Anamnese\nCão com tosse, febre 39,5 °C" in text
    assert "Transcrição\ncão com tosse" in text


def test_rtf_export_read_back_by_striprtf_keeps_accents(notes_client, clinic):
    from striprtf.striprtf import rtf_to_text

    note = NoteFactory(clinic=clinic, name="Bolinha {Ferreira}", language="pt", transcript="cão com tosse \\ ok")
    NoteSectionFactory(note=note, label="anamnesis", title="Anamnese", content="cão com tosse, febre 39,5 °C",
                       order=1)
    NoteSectionFactory(note=note, label="plan", title="Plano terapêutico", content="Repouso — rever em 3 dias 🐶",
                       order=2)
    response = notes_client.get(f"{URL}/{note.id}/export", {"format": "rtf"})

    assert response["Content-Type"] == "application/rtf"
    assert response["Content-Disposition"] == f'attachment; filename="note-{note.id}.rtf"'
    raw = response.content.decode("ascii")  # pure ASCII: every accent is a \uN? escape
    assert raw.startswith(r"{\rtf1\ansi\ansicpg1252") and raw.rstrip().endswith("}")
    assert raw.count("{") - raw.count(r"\{") == raw.count("}") - raw.count(r"\}")
    text = rtf_to_text(raw)
    assert "Anamnese\ncão com tosse, febre 39,5 °C\n" in text
    assert "Plano terapêutico" in text
    assert "Repouso — rever em 3 dias" in text
    assert "Paciente: Bolinha {Ferreira}" in text
    assert "cão com tosse \\ ok" in text


def test_export_with_unknown_format_is_400(notes_client, clinic):
    note = NoteFactory(clinic=clinic)
    body = assert_error(notes_client.get(f"{URL}/{note.id}/export", {"format": "pdf"}), 400,
                        "INVALID_EXPORT_FORMAT")
    assert body["details"] == {"expected": "rtf, txt", "received": "pdf"}


def test_export_of_a_note_still_processing_is_422(notes_client, clinic):
    note = NoteFactory(clinic=clinic, transcription_status="processing", transcript="")
    assert_error(notes_client.get(f"{URL}/{note.id}/export"), 422, "NOTE_NOT_READY")


# --- PATCH /note_sections

def test_patch_section_changes_content_and_keeps_who_and_when(notes_client, clinic):
    section = NoteSectionFactory(note=NoteFactory(clinic=clinic), content="old")
    response = notes_client.patch("/notes/v1/note_sections", {"id": str(section.id), "content": "Tosse seca."},
                                  format="json")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["content"] == "Tosse seca." and data["title"] == section.title
    section.refresh_from_db()
    assert section.content == "Tosse seca."
    assert section.edited_at is not None
    assert section.edited_by_actor.startswith("key:")


def test_patch_section_needs_content_or_title(notes_client, clinic):
    section = NoteSectionFactory(note=NoteFactory(clinic=clinic))
    assert_error(notes_client.patch("/notes/v1/note_sections", {"id": str(section.id)}, format="json"), 400,
                 "VALIDATION_ERROR")
    assert_error(notes_client.patch("/notes/v1/note_sections", {"id": "nope", "title": "x"}, format="json"), 400,
                 "VALIDATION_ERROR")


def test_patch_another_clinics_section_is_404(foreign_notes_client, clinic):
    section = NoteSectionFactory(note=NoteFactory(clinic=clinic))
    assert_error(foreign_notes_client.patch("/notes/v1/note_sections", {"id": str(section.id), "title": "x"},
                                            format="json"), 404, "NOTE_SECTION_NOT_FOUND")
    section.refresh_from_db()
    assert section.title != "x"


# --- retries

def test_retry_of_a_note_that_did_not_fail_is_422(notes_client, clinic):
    note = NoteFactory(clinic=clinic, transcription_status="completed")
    body = assert_error(notes_client.post(f"{URL}/{note.id}/retry"), 422, "NOTE_NOT_RETRYABLE")
    assert body["error"] == "unprocessable_entity"
    assert body["details"] == {"transcription_status": "completed"}
    assert_error(notes_client.post("/notes/v1/transcripts/retry", {"note_id": str(note.id)}, format="json"), 422,
                 "NOTE_NOT_RETRYABLE")


def test_retry_after_structuring_failure_keeps_transcript_and_completes_without_duplicates(
        notes_client, clinic, django_capture_on_commit_callbacks):
    note = NoteFactory(clinic=clinic, transcription_status="failed", failed_step="structuring",
                       failure_reason="boom", transcript="Complains of cough. The plan is rest.", language="en")
    NoteSectionFactory(note=note, label="anamnesis", content="stale", order=1)
    with django_capture_on_commit_callbacks(execute=True):
        response = notes_client.post(f"{URL}/{note.id}/retry")
    assert response.status_code == 200
    note.refresh_from_db()
    assert note.transcription_status == "completed"
    assert (note.failed_step, note.failure_reason) == ("", "")
    assert note.transcript == "Complains of cough. The plan is rest."
    assert sorted(NoteSection.objects.filter(note=note).values_list("label", flat=True)) == [
        "anamnesis", "assessment", "physical_exam", "plan"]
    assert note.sections.get(label="anamnesis").content == "Complains of cough."


def test_transcripts_retry_restarts_a_failed_transcription(notes_client, clinic, django_capture_on_commit_callbacks):
    note = NoteFactory(clinic=clinic, transcription_status="failed", failed_step="transcription",
                       failure_reason="no speech", transcript="")
    with django_capture_on_commit_callbacks(execute=True):
        response = notes_client.post("/notes/v1/transcripts/retry", {"note_id": str(note.id)}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["transcription_status"] == "pending"
    note.refresh_from_db()
    # The factory note has no recording at all, so the rerun fails again, at the same step, saying so.
    assert (note.transcription_status, note.failed_step) == ("failed", "transcription")
    assert note.failure_reason == "The note has no recording."
    assert note.attempts == 1


def test_transcripts_retry_validates_note_id_and_tenancy(notes_client, foreign_notes_client, clinic):
    assert_error(notes_client.post("/notes/v1/transcripts/retry", {"note_id": "x"}, format="json"), 400,
                 "VALIDATION_ERROR")
    note = NoteFactory(clinic=clinic, transcription_status="failed")
    assert_error(foreign_notes_client.post("/notes/v1/transcripts/retry", {"note_id": str(note.id)},
                                           format="json"), 404, "NOTE_NOT_FOUND")


# --- links to the clinic's patient and appointment

def test_note_can_point_at_the_clinics_appointment_and_takes_its_patient(notes_client, clinic):
    from scheduling.tests.factories import AppointmentFactory, ProfessionalFactory

    appointment = AppointmentFactory(professional=ProfessionalFactory(clinic=clinic),
                                     starts_at=timezone.now().replace(microsecond=0))
    response = upload(notes_client, appointment_id=str(appointment.id))
    assert response.status_code == 201, response.content
    detail = notes_client.get(f"{URL}/{response.json()['data']['id']}").json()["data"]
    assert detail["appointment_id"] == str(appointment.id)
    assert detail["patient_id"] == str(appointment.patient_id)
    assert detail["name"] == appointment.patient.name


def test_another_clinics_patient_cannot_be_linked(notes_client, other_clinic):
    from scheduling.tests.factories import PatientFactory

    patient = PatientFactory(clinic=other_clinic)
    body = assert_error(upload(notes_client, patient_id=str(patient.id)), 400, "VALIDATION_ERROR")
    assert "patient_id" in body["details"]
    assert not Note.objects.exists()


@pytest.mark.parametrize("retry", ["note", "transcript"])
def test_retry_answers_200_with_the_pending_note_as_the_status_table_says(notes_client, clinic, retry):
    # The surface's status table (docs/api/notes.md, Error body) has 200, 201 and errors: no 202.
    note = NoteFactory(clinic=clinic, transcription_status="failed", failed_step="transcription",
                       failure_reason="no speech")
    if retry == "note":
        response = notes_client.post(f"{URL}/{note.id}/retry")
    else:
        response = notes_client.post("/notes/v1/transcripts/retry", {"note_id": str(note.id)}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["data"]["id"] == str(note.id) and body["data"]["transcription_status"] == "pending"


def test_patch_section_from_an_older_copy_is_409_note_changed_by_version_or_if_match(notes_client, clinic):
    section = NoteSectionFactory(note=NoteFactory(clinic=clinic), content="old")
    first = notes_client.patch("/notes/v1/note_sections", {"id": str(section.id), "content": "first",
                                                          "version": section.version}, format="json")
    assert first.status_code == 200
    current = first.json()["data"]["version"]
    assert current != section.version and first["ETag"] == f'"{current}"'

    stale_body = notes_client.patch("/notes/v1/note_sections", {"id": str(section.id), "content": "stale",
                                                               "version": section.version}, format="json")
    assert_error(stale_body, 409, "NOTE_CHANGED")
    assert current in stale_body.content.decode()
    assert_error(notes_client.patch("/notes/v1/note_sections", {"id": str(section.id), "content": "stale"},
                                    format="json", HTTP_IF_MATCH=f'"{section.version}"'), 409, "NOTE_CHANGED")
    section.refresh_from_db()
    assert section.content == "first"

    matched = notes_client.patch("/notes/v1/note_sections", {"id": str(section.id), "content": "second"},
                                 format="json", HTTP_IF_MATCH=first["ETag"])
    assert matched.status_code == 200
    section.refresh_from_db()
    assert section.content == "second"
