"""Celery entry points of the notes pipeline: thin, idempotent (see services.note_process)."""
from celery import shared_task

from . import services


# Acknowledged when done, queued again when its worker dies (settings: CELERY_TASK_ACKS_LATE and
# CELERY_TASK_REJECT_ON_WORKER_LOST); a run longer than the time limit fails the note instead of holding the
# heavy worker, and stays below the broker's visibility timeout and the sweeper's deadline (config/sweeper.py).
@shared_task(name="notes.process_note", acks_late=True, reject_on_worker_lost=True, soft_time_limit=25 * 60,
             time_limit=30 * 60)
def process_note(note_id: str) -> str:
    return services.note_process(note_id=note_id)
