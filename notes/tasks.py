"""Celery entry points of the notes pipeline: thin, idempotent (see services.process_note)."""
from celery import shared_task

from . import services


@shared_task(name="notes.process_note", acks_late=True)
def process_note(note_id: str) -> str:
    return services.process_note(note_id)
