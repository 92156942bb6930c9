"""The notes console: list, upload, detail with polling data, section edits, exports, tenancy."""
import io

import pytest
from django.utils import translation

from clinics.models import Membership
from clinics.tests.factories import MembershipFactory
from notes.models import Note
from notes.tests.conftest import wav_bytes
from notes.tests.factories import NoteFactory, NoteSectionFactory


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
    body = console.get(f"/console/notes/{note.id}/status/", HTTP_ACCEPT_LANGUAGE="fr").json()
    with translation.override("fr"):
        label = str(Note.Status.PROCESSING.label)
    assert body == {"status": "processing", "label": label, "valid": False, "failed_step": "", "failure_reason": ""}


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


def test_upload_links_the_clinics_patient_chosen_in_the_form(console, clinic):
    from scheduling.tests.factories import PatientFactory

    maria = PatientFactory(clinic=clinic, name="Maria Antunes")
    audio = io.BytesIO(wav_bytes())
    audio.name = "a.wav"
    response = console.post("/console/notes/upload/", {"audio": audio, "patient": str(maria.pk)})
    note = Note.objects.get()
    assert response.status_code == 302
    assert (note.patient, note.name) == (maria, "Maria Antunes")
    html = console.get(f"/console/notes/{note.id}/").content.decode()
    assert f"/agenda/patients/{maria.pk}/" in html


def test_upload_naming_another_clinics_patient_is_refused_and_stores_nothing(console, other_clinic):
    from scheduling.tests.factories import PatientFactory

    stranger = PatientFactory(clinic=other_clinic)
    audio = io.BytesIO(wav_bytes())
    audio.name = "a.wav"
    response = console.post("/console/notes/upload/", {"audio": audio, "patient": str(stranger.pk)},
                            HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert "patient_id" in response.json()["details"]
    assert not Note.objects.exists()


def test_the_patient_search_the_note_form_uses_answers_ids(console, clinic):
    from scheduling.tests.factories import PatientFactory

    maria = PatientFactory(clinic=clinic, name="Maria Antunes")
    html = console.get("/console/notes/").content.decode()
    assert 'data-search-url="/agenda/patients/search/"' in html
    rows = console.get("/agenda/patients/search/", {"q": "mar"}).json()["patients"]
    assert [row["id"] for row in rows] == [str(maria.pk)]


def test_section_titles_follow_the_readers_language_unless_someone_wrote_one(console, clinic):
    from notes.structuring.templates import title

    note = NoteFactory(clinic=clinic, template="human", language="pt")
    NoteSectionFactory(note=note, label="plan", title="Plano", content="Repouso.")
    NoteSectionFactory(note=note, label="assessment", title="Bronquite?", content="")
    response = console.get(f"/console/notes/{note.id}/", HTTP_ACCEPT_LANGUAGE="fr")
    language = response.wsgi_request.LANGUAGE_CODE
    assert language != "pt-pt"
    html = response.content.decode()
    assert f">{title('human', 'plan', language.split('-')[0])}</label>" in html
    assert ">Plano</label>" not in html
    assert ">Bronquite?</label>" in html


def test_saving_the_note_saves_every_edited_section_and_leaves_the_others_alone(console, clinic, member):
    note = NoteFactory(clinic=clinic)
    history = NoteSectionFactory(note=note, content="old history")
    plan = NoteSectionFactory(note=note, content="old plan")
    same = NoteSectionFactory(note=note, content="unchanged")
    response = console.post(f"/console/notes/{note.id}/sections/", {
        f"{history.id}-content": "Tosse há três dias.", f"{plan.id}-content": "Repouso.",
        f"{same.id}-content": "unchanged"})
    assert response.status_code == 302
    for section in (history, plan, same):
        section.refresh_from_db()
    assert (history.content, plan.content) == ("Tosse há três dias.", "Repouso.")
    assert history.edited_by == member.user and plan.edited_by == member.user
    assert same.content == "unchanged" and same.edited_at is None


def test_autosave_of_one_section_answers_json_and_keeps_the_title(console, clinic):
    section = NoteSectionFactory(note=NoteFactory(clinic=clinic), title="Plano", content="old")
    other = NoteSectionFactory(note=section.note, content="typed elsewhere")
    response = console.post(f"/console/notes/{section.note_id}/sections/{section.id}/",
                            {f"{section.id}-content": "Repouso."}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json()["saved"] is True
    section.refresh_from_db()
    other.refresh_from_db()
    assert (section.title, section.content, other.content) == ("Plano", "Repouso.", "typed elsewhere")


def test_viewer_sees_no_section_form_and_cannot_save_the_note(client, clinic):
    viewer = MembershipFactory(clinic=clinic, role=Membership.Role.VIEWER)
    client.force_login(viewer.user)
    section = NoteSectionFactory(note=NoteFactory(clinic=clinic, name="Maria Antunes"), content="secret")
    html = client.get(f"/console/notes/{section.note_id}/").content.decode()
    assert "secret" not in html and "Maria Antunes" not in html and 'id="note-sections"' not in html
    response = client.post(f"/console/notes/{section.note_id}/sections/", {f"{section.id}-content": "x"})
    assert response.status_code == 403
    section.refresh_from_db()
    assert section.content == "secret"


def test_saving_another_clinics_note_is_404(console, other_clinic):
    section = NoteSectionFactory(note=NoteFactory(clinic=other_clinic), content="theirs")
    response = console.post(f"/console/notes/{section.note_id}/sections/", {f"{section.id}-content": "x"})
    assert response.status_code == 404
    section.refresh_from_db()
    assert section.content == "theirs"


# --- a section changed elsewhere (another tab or person) is never silently overwritten

def test_autosave_from_an_older_copy_is_refused_with_the_current_version(console, clinic):
    section = NoteSectionFactory(note=NoteFactory(clinic=clinic), content="loaded")
    loaded = section.version
    other = console.post(f"/console/notes/{section.note_id}/sections/{section.id}/",
                         {f"{section.id}-content": "their edit", f"{section.id}-version": loaded},
                         HTTP_ACCEPT="application/json")
    assert other.status_code == 200 and other.json()["version"] != loaded

    response = console.post(f"/console/notes/{section.note_id}/sections/{section.id}/",
                            {f"{section.id}-content": "my edit", f"{section.id}-version": loaded},
                            HTTP_ACCEPT="application/json")

    assert response.status_code == 409
    body = response.json()
    assert body["saved"] is False and body["code"] == "NOTE_CHANGED" and body["version"] == other.json()["version"]
    section.refresh_from_db()
    assert section.content == "their edit"

    # Knowingly over theirs: the version the refusal named.
    again = console.post(f"/console/notes/{section.note_id}/sections/{section.id}/",
                         {f"{section.id}-content": "my edit", f"{section.id}-version": body["version"]},
                         HTTP_ACCEPT="application/json")
    assert again.status_code == 200
    section.refresh_from_db()
    assert section.content == "my edit"


def test_saving_the_note_from_an_older_copy_saves_nothing_and_keeps_the_typed_text(console, clinic):
    from notes import services

    note = NoteFactory(clinic=clinic)
    history = NoteSectionFactory(note=note, content="old history")
    plan = NoteSectionFactory(note=note, content="old plan")
    page = console.get(f"/console/notes/{note.id}/").content.decode()
    assert f'name="{plan.id}-version" value="{plan.version}"' in page
    versions = {history.id: history.version, plan.id: plan.version}
    services.note_section_update(clinic=clinic, section_id=plan.pk, actor=None, content="their plan")

    response = console.post(f"/console/notes/{note.id}/sections/", {
        f"{history.id}-content": "my history", f"{history.id}-version": versions[history.id],
        f"{plan.id}-content": "my plan", f"{plan.id}-version": versions[plan.id]})

    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone else changed this section" in html and "my history" in html and "my plan" in html
    plan.refresh_from_db()
    history.refresh_from_db()
    assert (history.content, plan.content) == ("old history", "their plan")  # nothing saved
    assert f'name="{plan.id}-version" value="{plan.version}"' in html  # saving again overwrites knowingly

    console.post(f"/console/notes/{note.id}/sections/", {
        f"{history.id}-content": "my history", f"{history.id}-version": history.version,
        f"{plan.id}-content": "my plan", f"{plan.id}-version": plan.version})
    plan.refresh_from_db()
    assert plan.content == "my plan"


def test_an_unchanged_section_of_an_older_copy_is_no_conflict(console, clinic):
    from notes import services

    note = NoteFactory(clinic=clinic)
    plan = NoteSectionFactory(note=note, content="old plan")
    loaded = plan.version
    services.note_section_update(clinic=clinic, section_id=plan.pk, actor=None, content="same text")
    response = console.post(f"/console/notes/{note.id}/sections/", {
        f"{plan.id}-content": "same text", f"{plan.id}-version": loaded})
    assert response.status_code == 302
