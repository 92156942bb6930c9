"""The notes API end to end, in the order docs/api/notes.md gives: the document's curl upload (an MP3 and
`metadata={"patient_name":"Rex","owner_name":"João Silva"}` with `X-API-KEY`), the background processing to
`completed` (polled on `/status`), the note with its sections, a section edited, the RTF and TXT exports, and the
partial name search of the list.

Speech-to-text and structuring use the OpenAI backends (the real `openai` SDK) against a local fake of OpenAI's
HTTP API (pytest-httpserver); the Celery pipeline runs in-process (eager) once the upload commits.
"""
import io
import json

import pytest

from notes.tests.conftest import encode_audio, wav_bytes

pytestmark = pytest.mark.django_db

TRANSCRIPT = ("Rex, cão de oito anos, com tosse há três dias. Ao exame, temperatura de 39,5 graus. "
              "Diagnóstico: traqueobronquite. Plano: antibiótico por sete dias.")
SECTIONS = {"anamnesis": "Cão de oito anos com tosse há três dias.", "physical_exam": "Temperatura 39,5 °C.",
            "assessment": "Traqueobronquite.", "plan": "Antibiótico por sete dias."}


@pytest.fixture
def openai_fake(httpserver, settings):
    settings.PROVIDERS = {**settings.PROVIDERS, "stt": "openai", "llm": "openai"}
    settings.OPENAI_BASE_URL = httpserver.url_for("/v1")
    settings.OPENAI_API_KEY = "sk-e2e-notes"
    settings.OPENAI_TRANSCRIPTION_MODEL = "gpt-4o-transcribe"
    settings.OPENAI_CHAT_MODEL = "gpt-4o-mini"
    httpserver.expect_request("/v1/audio/transcriptions", method="POST").respond_with_json({"text": TRANSCRIPT})
    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_json({
        "id": "chatcmpl-e2e", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant", "content": json.dumps(SECTIONS, ensure_ascii=False), "refusal": None}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}})
    return httpserver


@pytest.fixture
def mp3(tmp_path):
    wav = tmp_path / "consulta.wav"
    wav.write_bytes(wav_bytes(b"\x10\x00\xf0\xff" * 8000))
    return open(encode_audio(wav, tmp_path / "audio.mp3", "mp3", "libmp3lame", rate=44100), "rb").read()


def _upload(api, capture, audio_bytes, filename, **fields):
    audio = io.BytesIO(audio_bytes)
    audio.name = filename
    with capture(execute=True):
        return api.post("/notes/v1/notes", {"audio": audio, **fields}, format="multipart")


NOTE_FIELDS = {"id", "name", "gender", "transcription_status", "external_id", "metadata", "created_at", "updated_at"}


def test_upload_processed_export_rtf_txt_and_partial_name_search(clinic, make_client, openai_fake, mp3,
                                                                 django_capture_on_commit_callbacks):
    clinic.kind = "veterinary"
    clinic.save(update_fields=["kind"])
    api = make_client(clinic, header="x-api-key")

    # Upload: the document's curl example.
    created = _upload(api, django_capture_on_commit_callbacks, mp3, "audio.mp3",
                      metadata=json.dumps({"patient_name": "Rex", "owner_name": "João Silva"}))
    assert created.status_code == 201, created.json()
    assert set(created.json()) == {"data", "meta"} and created.json()["meta"] == {}
    note = created.json()["data"]
    assert NOTE_FIELDS <= set(note)
    assert (note["name"], note["transcription_status"]) == ("Rex", "pending")
    assert {"key": "owner_name", "value": "João Silva"} in note["metadata"]
    transcription = next(request for request, _ in openai_fake.log if request.path == "/v1/audio/transcriptions")
    assert transcription.headers["Authorization"] == "Bearer sk-e2e-notes"
    assert transcription.files["file"].mimetype == "audio/mpeg"

    # Processed: the status poll says completed and valid.
    status = api.get(f"/notes/v1/notes/{note['id']}/status")
    assert status.status_code == 200
    assert status.json() == {"data": {"status": "completed", "valid": True}, "meta": {}}
    detail = api.get(f"/notes/v1/notes/{note['id']}").json()["data"]
    assert {"patient_id", "appointment_id", "language", "template", "audio_format", "duration_seconds",
            "failed_step", "failure_reason", "transcript", "sections"} <= set(detail)
    assert (detail["transcription_status"], detail["transcript"], detail["audio_format"]) == (
        "completed", TRANSCRIPT, "mp3")
    sections = detail["sections"]
    assert [section["label"] for section in sections] == ["anamnesis", "physical_exam", "assessment", "plan"]
    assert all(set(section) >= {"id", "title", "label", "content", "order", "edited_at"} for section in sections)
    assert all(isinstance(section["order"], str) for section in sections)
    assert sections[2]["content"] == "Traqueobronquite."

    # A section edited by the integration.
    edited = api.patch("/notes/v1/note_sections", {"id": sections[3]["id"],
                                                   "content": "Antibiótico por dez dias; rever em uma semana."},
                       format="json")
    assert edited.status_code == 200, edited.json()
    assert edited.json()["data"]["edited_at"] is not None

    # Export RTF (the default) and TXT.
    rtf = api.get(f"/notes/v1/notes/{note['id']}/export")
    assert rtf.status_code == 200
    assert rtf["Content-Type"].startswith("application/rtf")
    assert rtf["Content-Disposition"] == f'attachment; filename="note-{note["id"]}.rtf"'
    document = rtf.content.decode("ascii")
    assert document.startswith("{\\rtf1") and document.rstrip().endswith("}")
    assert "Rex" in document and "Traqueobronquite." in document
    txt = api.get(f"/notes/v1/notes/{note['id']}/export", {"format": "txt"})
    assert txt.status_code == 200 and txt["Content-Type"] == "text/plain; charset=utf-8"
    assert txt["Content-Disposition"] == f'attachment; filename="note-{note["id"]}.txt"'
    text = txt.content.decode("utf-8")
    assert "Rex" in text and "Antibiótico por dez dias; rever em uma semana." in text
    assert "Antibiótico por sete dias." not in text
    bad = api.get(f"/notes/v1/notes/{note['id']}/export", {"format": "pdf"})
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_EXPORT_FORMAT"

    # A second patient's note, then the partial name search.
    other = _upload(api, django_capture_on_commit_callbacks, wav_bytes(), "consulta.wav", name="Maria Silva",
                    external_id="CLIENTE_123")
    assert other.status_code == 201, other.json()

    def names(**query):
        response = api.get("/notes/v1/notes", query)
        assert response.status_code == 200, response.json()
        return [item["name"] for item in response.json()["data"]]

    assert names(name="Rex") == ["Rex"]
    assert names(name="Re") == ["Rex"]
    assert names(name="mar") == ["Maria Silva"]
    assert names(name="sil mar") == ["Maria Silva"]
    assert names(name="SÍLVA") == ["Maria Silva"]
    assert names(name="ilva") == []
    assert names(transcription_status="completed", days=30, limit=50) == ["Maria Silva", "Rex"]
    assert names(external_id="CLIENTE_123") == ["Maria Silva"]
    page = api.get("/notes/v1/notes", {"limit": 1}).json()
    assert page["meta"] == {"total": 2, "page": 1, "limit": 1, "total_pages": 2}
