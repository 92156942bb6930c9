"""Notes with another clinic's ids in writes and bodies, and the bounds on what an upload may carry: refused in
the surface's body, and nothing stored or changed."""
import io
import json

import pytest
from django.utils import timezone

from clinics.errors import NotFound
from clinics.models import Membership
from clinics.tests.factories import MembershipFactory
from notes import services
from notes.models import Note, NoteSection
from notes.tests.conftest import wav_bytes
from notes.tests.factories import NoteFactory, NoteSectionFactory

pytestmark = pytest.mark.django_db

URL = "/notes/v1/notes"


def upload(client, **fields):
    audio = io.BytesIO(wav_bytes())
    audio.name = "audio.wav"
    return client.post(URL, {"audio": audio, **fields}, format="multipart")


def test_another_clinics_appointment_cannot_be_linked(notes_client, other_clinic):
    from scheduling.tests.factories import AppointmentFactory, ProfessionalFactory

    theirs = AppointmentFactory(professional=ProfessionalFactory(clinic=other_clinic),
                                starts_at=timezone.now().replace(microsecond=0))
    response = upload(notes_client, appointment_id=str(theirs.id))
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR" and "appointment_id" in response.json()["details"]
    assert not Note.objects.exists()


@pytest.mark.parametrize("metadata", [
    json.dumps([{"key": f"k{index}", "value": "v"} for index in range(51)]),  # too many items
    json.dumps([{"key": "k", "value": "v" * 2001}]),  # value too long
    json.dumps([{"key": "k" * 101, "value": "v"}]),  # key too long
    json.dumps({"a": {"b": {"c": {"d": {"e": 1}}}}}),  # too deep
    json.dumps([{"key": "k", "value": "v" * 1000}] * 20),  # over 16 KB
])
def test_metadata_beyond_its_bounds_is_400_and_nothing_is_stored(notes_client, metadata):
    response = upload(notes_client, metadata=metadata)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "INVALID_METADATA" and body["error"] == "bad_request" and body["details"]["metadata"]
    assert not Note.objects.exists()


def test_overlong_list_filters_are_400(notes_client):
    response = notes_client.get(URL, {"external_id": "x" * 500})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_FILTER"


def test_services_refuse_another_clinics_note_and_section(clinic, other_clinic):
    note = NoteFactory(clinic=other_clinic, transcription_status=Note.Status.FAILED, transcript="kept")
    section = NoteSectionFactory(note=note, content="theirs")
    with pytest.raises(NotFound) as retry:
        services.note_retry(clinic=clinic, note_id=note.pk, actor=None)
    assert retry.value.code == "NOTE_NOT_FOUND"
    with pytest.raises(NotFound) as edit:
        services.note_section_update(clinic=clinic, section_id=section.pk, actor=None, content="mine")
    assert edit.value.code == "NOTE_SECTION_NOT_FOUND"
    note.refresh_from_db()
    assert note.transcription_status == Note.Status.FAILED and note.transcript == "kept"
    assert NoteSection.objects.get(pk=section.pk).content == "theirs"


def test_console_retry_and_section_edit_of_another_clinics_note_are_404(client, clinic, other_clinic):
    client.force_login(MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR).user)
    note = NoteFactory(clinic=other_clinic, transcription_status=Note.Status.FAILED)
    section = NoteSectionFactory(note=note, content="theirs")
    assert client.post(f"/console/notes/{note.id}/retry/").status_code == 404
    response = client.post(f"/console/notes/{note.id}/sections/{section.id}/",
                           {f"{section.id}-title": "x", f"{section.id}-content": "mine"})
    assert response.status_code == 404
    assert Note.objects.get(pk=note.pk).transcription_status == Note.Status.FAILED
    assert NoteSection.objects.get(pk=section.pk).content == "theirs"


def test_console_viewer_cannot_retry(client, clinic):
    client.force_login(MembershipFactory(clinic=clinic, role=Membership.Role.VIEWER).user)
    note = NoteFactory(clinic=clinic, transcription_status=Note.Status.FAILED)
    assert client.post(f"/console/notes/{note.id}/retry/").status_code == 403
    assert Note.objects.get(pk=note.pk).transcription_status == Note.Status.FAILED
