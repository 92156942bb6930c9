"""Celery entry points of the notes pipeline: thin, idempotent (see services.note_process)."""
from celery import shared_task

from . import services


@shared_task(name="notes.process_note", acks_late=True)
def process_note(note_id: str) -> str:
    return services.note_process(note_id=note_id)
