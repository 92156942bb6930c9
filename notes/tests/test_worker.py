"""The pipeline as a real Celery worker runs it: a separate process, Redis in between."""
import pytest
from django.core.files.base import ContentFile

from conftest import wait_for
from notes.models import Note
from notes.tests.factories import NoteFactory

pytestmark = pytest.mark.worker


@pytest.fixture
def shared_media(settings, monkeypatch):
    """The worker process reads recordings where this test stores them (requested before the worker starts)."""
    monkeypatch.setenv("MEDIA_ROOT", settings.MEDIA_ROOT)
    monkeypatch.setenv("STT_BACKEND", "local")
    monkeypatch.setenv("LLM_BACKEND", "local")


def test_worker_takes_a_note_from_pending_to_completed(transactional_db, clinic, spoken_note_wav, shared_media,
                                                        celery_worker_queue):
    from notes.tasks import process_note

    clinic.locale = "en"
    clinic.save()
    note = NoteFactory.build(clinic=clinic, transcription_status="pending", transcript="", language="en")
    with open(spoken_note_wav, "rb") as handle:
        note.audio.save(f"{note.id}.wav", ContentFile(handle.read()), save=False)
    note.save()

    result = process_note.apply_async((str(note.id),), queue=celery_worker_queue)
    assert result.get(timeout=90) == "completed", Note.objects.get(pk=note.pk).failure_reason
    note.refresh_from_db()
    assert note.transcription_status == "completed"
    assert "bronchitis" in note.transcript.lower()
    assert note.sections.count() == 4

    # Delivered again (acks_late after a crash, say): nothing is redone or duplicated.
    again = process_note.apply_async((str(note.id),), queue=celery_worker_queue)
    assert again.get(timeout=30) == "completed"
    assert wait_for(lambda: Note.objects.get(pk=note.pk).attempts == 1)
    assert note.sections.count() == 4
