"""The upload example of docs/api/notes.md, end to end on the offline backends (espeak-ng speech, faster-whisper)."""
import base64
import json

import pytest
from django.db import connection

from notes.models import Note

URL = "/notes/v1/notes"


@pytest.fixture
def english_clinic(clinic):
    clinic.locale = "en"
    clinic.kind = "veterinary"
    clinic.save()
    return clinic


def test_documented_curl_upload_reaches_completed_with_transcript_and_sections(
        notes_client, english_clinic, spoken_note_wav, django_capture_on_commit_callbacks):
    with open(spoken_note_wav, "rb") as audio, django_capture_on_commit_callbacks(execute=True):
        response = notes_client.post(URL, {
            "audio": audio,
            "metadata": json.dumps({"patient_name": "Rex", "owner_name": "João Silva"}),
        }, format="multipart")

    assert response.status_code == 201, response.content
    created = response.json()["data"]
    assert created["transcription_status"] == "pending"
    assert created["name"] == "Rex"
    assert {"key": "owner_name", "value": "João Silva"} in created["metadata"]

    status = notes_client.get(f"{URL}/{created['id']}/status").json()
    assert status == {"data": {"status": "completed", "valid": True}, "meta": {}}

    note = notes_client.get(f"{URL}/{created['id']}").json()["data"]
    transcript = note["transcript"].lower()
    for word in ("cough", "temperature", "bronchitis"):
        assert word in transcript
    sections = {section["label"]: section for section in note["sections"]}
    assert list(sections) == ["anamnesis", "physical_exam", "assessment", "plan"]
    assert all(section["content"] for section in sections.values())
    assert "cough" in sections["anamnesis"]["content"].lower()
    assert "temperature" in sections["physical_exam"]["content"].lower()
    assert "bronchitis" in sections["assessment"]["content"].lower()
    assert "fluids" in sections["plan"]["content"].lower()
    assert sections["assessment"]["title"] == "Diagnosis"
    assert note["duration_seconds"] == pytest.approx(11.9, abs=1.5)
    assert Note.objects.get(pk=created["id"]).stt_backend == "local"

    with connection.cursor() as cursor:
        cursor.execute("SELECT n.name, n.transcript, n.metadata, s.content FROM notes_note n "
                       "JOIN notes_notesection s ON s.note_id = n.id WHERE n.id = %s", [created["id"]])
        stored = [value for row in cursor.fetchall() for value in row]
    # Every column is an envelope (clinics/crypto.py: "v1:<key id>:<base64 of nonce + ciphertext>"), and no word of
    # the note is in the sealed bytes. (Searching the base64 text itself, lower-cased, found "rex" by chance.)
    assert stored
    for value in stored:
        prefix, key_id, payload = value.split(":", 2)
        assert prefix == "v1" and key_id and payload
        sealed = base64.b64decode(payload, validate=True)
        for plaintext in ("Rex", "João", "cough", "bronchitis", "fluids"):
            assert plaintext.encode() not in sealed and plaintext not in key_id


def test_processing_twice_does_not_duplicate_sections(english_clinic, spoken_note_wav, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from notes import services

    with open(spoken_note_wav, "rb") as handle:
        upload = SimpleUploadedFile("speech.wav", handle.read(), content_type="audio/wav")
    note = services.note_create(clinic=english_clinic, audio=upload, name="Rex", actor=None)
    assert services.note_process(note_id=note.pk) == "completed"
    Note.objects.filter(pk=note.pk).update(transcription_status="processing")  # a redelivered task
    assert services.note_process(note_id=note.pk) == "completed"
    assert note.sections.count() == 4


def test_recording_in_remote_storage_is_fetched_for_the_recogniser(english_clinic, spoken_note_wav, settings):
    # Like S3, in-memory storage has no file on disk: the pipeline downloads the recording to a temporary file.
    import os

    from django.core.files.uploadedfile import SimpleUploadedFile

    from notes import services

    settings.STORAGES = {**settings.STORAGES,
                         "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    with open(spoken_note_wav, "rb") as handle:
        upload = SimpleUploadedFile("speech.wav", handle.read(), content_type="audio/wav")
    note = services.note_create(clinic=english_clinic, audio=upload, actor=None)
    assert type(note.audio.storage._wrapped).__name__ == "InMemoryStorage"
    assert not os.path.exists(note.audio.storage.path(note.audio.name))

    assert services.note_process(note_id=note.pk) == "completed"
    note.refresh_from_db()
    assert "bronchitis" in note.transcript.lower()


def test_a_model_size_that_is_not_bundled_needs_a_path_and_fails_the_note_saying_so(english_clinic, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from notes import services
    from notes.tests.conftest import wav_bytes

    settings.NOTES_STT_MODEL_PATH = ""
    settings.NOTES_STT_MODEL_SIZE = "small"
    note = services.note_create(clinic=english_clinic, audio=SimpleUploadedFile("a.wav", wav_bytes()), actor=None)
    assert services.note_process(note_id=note.pk) == "failed"
    note.refresh_from_db()
    assert note.failed_step == "transcription"
    assert "NOTES_STT_MODEL_PATH" in note.failure_reason
