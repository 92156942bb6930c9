"""The OpenAI backends run the real `openai` SDK against a local fake of its HTTP API."""
import io
import json

import pytest

from notes.models import Note
from notes.structuring.openai_backend import response_schema
from notes.tests.conftest import wav_bytes

TRANSCRIPT = "Cão com tosse há três dias. Ao exame, temperatura de 39,5 graus. Diagnóstico: traqueobronquite."
SECTIONS = {"anamnesis": "Cão com tosse há três dias.", "physical_exam": "Temperatura 39,5 °C.",
            "assessment": "Traqueobronquite.", "plan": ""}


@pytest.fixture
def openai_fake(httpserver, settings):
    settings.PROVIDERS = {**settings.PROVIDERS, "stt": "openai", "llm": "openai"}
    settings.OPENAI_BASE_URL = httpserver.url_for("/v1")
    settings.OPENAI_API_KEY = "sk-test-notes"
    settings.OPENAI_TRANSCRIPTION_MODEL = "gpt-4o-transcribe"
    settings.OPENAI_CHAT_MODEL = "gpt-4o-mini"
    return httpserver


def chat_completion(content):
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content, "refusal": None}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}}


def requests_to(server, path):
    return [request for request, _response in server.log if request.path == path]


def post_note(client, capture):
    audio = io.BytesIO(wav_bytes())
    audio.name = "consulta.wav"
    with capture(execute=True):
        response = client.post("/notes/v1/notes", {"audio": audio, "name": "Bolinha"}, format="multipart")
    assert response.status_code == 201
    return Note.objects.get(pk=response.json()["data"]["id"])


def test_openai_transcription_and_structured_output_complete_the_note(
        openai_fake, notes_client, clinic, django_capture_on_commit_callbacks):
    clinic.kind, clinic.locale = "veterinary", "pt-br"
    clinic.save()
    openai_fake.expect_request("/v1/audio/transcriptions", method="POST").respond_with_json({"text": TRANSCRIPT})
    openai_fake.expect_request("/v1/chat/completions", method="POST").respond_with_json(
        chat_completion(json.dumps(SECTIONS, ensure_ascii=False)))

    note = post_note(notes_client, django_capture_on_commit_callbacks)

    note.refresh_from_db()
    assert note.transcription_status == "completed", note.failure_reason
    assert note.transcript == TRANSCRIPT
    assert note.stt_backend == "openai"
    sections = list(note.sections.order_by("order").values_list("label", "title", "content"))
    assert sections == [("anamnesis", "Anamnese", SECTIONS["anamnesis"]),
                        ("physical_exam", "Exame clínico", SECTIONS["physical_exam"]),
                        ("assessment", "Diagnóstico", SECTIONS["assessment"]),
                        ("plan", "Plano terapêutico", "")]

    (transcription,) = requests_to(openai_fake, "/v1/audio/transcriptions")
    assert transcription.headers["Authorization"] == "Bearer sk-test-notes"
    assert transcription.form["model"] == "gpt-4o-transcribe"
    assert transcription.form["language"] == "pt"
    upload = transcription.files["file"]
    assert upload.read()[:4] == b"RIFF"
    assert upload.mimetype == "audio/wav"

    (chat,) = requests_to(openai_fake, "/v1/chat/completions")
    body = json.loads(chat.data)
    assert body["model"] == "gpt-4o-mini"
    assert body["messages"][-1] == {"role": "user", "content": TRANSCRIPT}
    assert "Portuguese" in body["messages"][0]["content"]
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    assert body["response_format"]["json_schema"]["schema"] == response_schema("veterinary")


def test_transcription_error_fails_the_note_and_retry_restarts_from_transcription(
        openai_fake, notes_client, clinic, django_capture_on_commit_callbacks):
    openai_fake.expect_oneshot_request("/v1/audio/transcriptions").respond_with_json(
        {"error": {"message": "Invalid file", "type": "invalid_request_error"}}, status=400)

    note = post_note(notes_client, django_capture_on_commit_callbacks)
    note.refresh_from_db()
    assert (note.transcription_status, note.failed_step) == ("failed", "transcription")
    assert "Invalid file" in note.failure_reason

    openai_fake.expect_request("/v1/audio/transcriptions").respond_with_json({"text": TRANSCRIPT})
    openai_fake.expect_request("/v1/chat/completions").respond_with_json(chat_completion(json.dumps(SECTIONS)))
    with django_capture_on_commit_callbacks(execute=True):
        assert notes_client.post(f"/notes/v1/notes/{note.id}/retry").status_code == 200
    note.refresh_from_db()
    assert note.transcription_status == "completed"
    assert len(requests_to(openai_fake, "/v1/audio/transcriptions")) == 2


def test_structuring_error_keeps_the_transcript_and_retry_does_not_transcribe_again(
        openai_fake, notes_client, clinic, django_capture_on_commit_callbacks):
    openai_fake.expect_request("/v1/audio/transcriptions").respond_with_json({"text": TRANSCRIPT})
    openai_fake.expect_oneshot_request("/v1/chat/completions").respond_with_json(chat_completion("not json"))

    note = post_note(notes_client, django_capture_on_commit_callbacks)
    note.refresh_from_db()
    assert (note.transcription_status, note.failed_step) == ("failed", "structuring")
    assert note.transcript == TRANSCRIPT
    assert not note.sections.exists()

    openai_fake.expect_request("/v1/chat/completions").respond_with_json(chat_completion(json.dumps(SECTIONS)))
    with django_capture_on_commit_callbacks(execute=True):
        response = notes_client.post("/notes/v1/transcripts/retry", {"note_id": str(note.id)}, format="json")
    assert response.status_code == 200
    note.refresh_from_db()
    assert note.transcription_status == "completed"
    assert note.sections.count() == 4
    assert len(requests_to(openai_fake, "/v1/audio/transcriptions")) == 1
    assert len(requests_to(openai_fake, "/v1/chat/completions")) == 2


def test_a_transient_server_error_is_retried_by_the_sdk_before_failing_anything(
        openai_fake, notes_client, clinic, django_capture_on_commit_callbacks):
    openai_fake.expect_oneshot_request("/v1/audio/transcriptions").respond_with_json(
        {"error": {"message": "overloaded", "type": "server_error"}}, status=503)
    openai_fake.expect_request("/v1/audio/transcriptions").respond_with_json({"text": TRANSCRIPT})
    openai_fake.expect_request("/v1/chat/completions").respond_with_json(chat_completion(json.dumps(SECTIONS)))

    note = post_note(notes_client, django_capture_on_commit_callbacks)

    note.refresh_from_db()
    assert note.transcription_status == "completed"
    assert len(requests_to(openai_fake, "/v1/audio/transcriptions")) == 2
