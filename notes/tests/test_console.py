"""The notes console: list, upload, detail with polling data, section edits, exports, tenancy."""
import io

import pytest

from clinics.models import Membership
from clinics.tests.factories import MembershipFactory
from notes.models import Note
from notes.tests.conftest import wav_bytes
from notes.tests.factories import NoteFactory, NoteSectionFactory

pytestmark = pytest.mark.urls("notes.tests.urls_console")


@pytest.fixture
def member(clinic):
    return MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR)


@pytest.fixture
def console(client, member):
    client.force_login(member.user)
    return client


def test_list_shows_the_clinics_notes_only(console, clinic, other_clinic):
    NoteFactory(clinic=clinic, name="Bolinha")
    NoteFactory(clinic=other_clinic, name="Tareco")
    response = console.get("/console/notes/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Bolinha" in html and "Tareco" not in html
    assert 'id="upload-form"' in html and "notes/notes.js" in html


def test_list_filters_like_the_api(console, clinic):
    NoteFactory(clinic=clinic, name="Bolinha", transcription_status="failed")
    NoteFactory(clinic=clinic, name="Tareco", transcription_status="completed")
    html = console.get("/console/notes/", {"transcription_status": "failed"}).content.decode()
    assert "Bolinha" in html and "Tareco" not in html


def test_upload_creates_a_note_and_redirects_to_it(console, clinic, django_capture_on_commit_callbacks):
    audio = io.BytesIO(wav_bytes())
    audio.name = "gravacao.wav"
    response = console.post("/console/notes/upload/", {"audio": audio, "name": "Rex", "gender": "male"})
    note = Note.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/console/notes/{note.id}/"
    assert (note.clinic, note.name) == (clinic, "Rex")


def test_recorded_blob_upload_answers_json(console, clinic):
    audio = io.BytesIO(b"\x1a\x45\xdf\xa3" + b"\x00" * 100)
    audio.name = "recording.webm"
    response = console.post("/console/notes/upload/", {"audio": audio}, HTTP_ACCEPT="application/json")
    assert response.status_code == 201
    note = Note.objects.get()
    assert response.json() == {"id": str(note.id), "url": f"/console/notes/{note.id}/"}
    assert note.audio_format == "webm"


def test_upload_of_something_else_is_refused_with_the_reason(console):
    audio = io.BytesIO(b"%PDF-1.4")
    audio.name = "x.mp3"
    response = console.post("/console/notes/upload/", {"audio": audio}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_AUDIO_FORMAT"
    assert not Note.objects.exists()


def test_upload_over_the_limit_is_refused_before_parsing(console, settings):
    settings.NOTES_MAX_AUDIO_BYTES = 100
    response = console.generic("POST", "/console/notes/upload/", b"--x\r\n",
                               content_type="multipart/form-data; boundary=x", CONTENT_LENGTH=str(10 ** 8),
                               HTTP_ACCEPT="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


def test_viewer_cannot_upload(client, clinic):
    viewer = MembershipFactory(clinic=clinic, role=Membership.Role.VIEWER)
    client.force_login(viewer.user)
    audio = io.BytesIO(wav_bytes())
    audio.name = "a.wav"
    assert client.post("/console/notes/upload/", {"audio": audio}).status_code == 403
    assert not Note.objects.exists()


def test_detail_shows_transcript_beside_editable_sections_and_exports(console, clinic):
    note = NoteFactory(clinic=clinic, transcript="Cão com tosse.")
    section = NoteSectionFactory(note=note, title="Anamnese", content="Tosse há três dias.")
    html = console.get(f"/console/notes/{note.id}/").content.decode()
    assert "Cão com tosse." in html and "Tosse há três dias." in html
    assert f'name="{section.id}-content"' in html
    assert f"/console/notes/{note.id}/export/?format=rtf" in html
    assert 'data-poll="1"' not in html


def test_detail_of_a_processing_note_polls_its_status(console, clinic):
    note = NoteFactory(clinic=clinic, transcription_status="processing", transcript="")
    html = console.get(f"/console/notes/{note.id}/").content.decode()
    assert 'data-poll="1"' in html
    assert console.get(f"/console/notes/{note.id}/status/").json() == {
        "status": "processing", "valid": False, "failed_step": "", "failure_reason": ""}


def test_section_edit_is_saved_with_who_and_when(console, clinic, member):
    section = NoteSectionFactory(note=NoteFactory(clinic=clinic), title="Plano", content="old")
    response = console.post(f"/console/notes/{section.note_id}/sections/{section.id}/",
                            {f"{section.id}-title": "Plano", f"{section.id}-content": "Repouso e hidratação."})
    assert response.status_code == 302
    section.refresh_from_db()
    assert section.content == "Repouso e hidratação."
    assert section.edited_by == member.user and section.edited_at is not None


def test_export_downloads_rtf(console, clinic):
    note = NoteFactory(clinic=clinic, transcript="Febre 39,5 °C")
    response = console.get(f"/console/notes/{note.id}/export/", {"format": "rtf"})
    assert response["Content-Type"] == "application/rtf"
    assert response.content.startswith(rb"{\rtf1\ansi\ansicpg1252")


def test_retry_of_a_failed_note_from_the_console(console, clinic, django_capture_on_commit_callbacks):
    note = NoteFactory(clinic=clinic, transcription_status="failed", failed_step="transcription", transcript="")
    with django_capture_on_commit_callbacks(execute=False):
        response = console.post(f"/console/notes/{note.id}/retry/")
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.transcription_status == "pending"


@pytest.mark.parametrize("suffix", ["", "status/", "export/?format=txt", "audio/"])
def test_another_clinics_note_is_404_in_the_console(console, other_clinic, suffix):
    note = NoteFactory(clinic=other_clinic)
    assert console.get(f"/console/notes/{note.id}/{suffix}").status_code == 404
