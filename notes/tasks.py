"""Celery entry points of the notes pipeline: thin, idempotent (see services.note_process)."""
import logging

from celery import shared_task
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from . import services
from .models import Note

logger = logging.getLogger(__name__)
# The broker did not take the message: Redis down or unreachable (kombu wraps most of these in OperationalError).
BROKER_UNAVAILABLE = (OperationalError, RedisError, OSError)
# One quick retry while publishing from a request: the outbox (config/sweeper.py) covers a longer outage, so a web
# request never waits on a dead broker.
PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


# Acknowledged when done, queued again when its worker dies (settings: CELERY_TASK_ACKS_LATE and
# CELERY_TASK_REJECT_ON_WORKER_LOST); a run longer than the time limit fails the note instead of holding the
# heavy worker, and stays below the broker's visibility timeout and the sweeper's deadline (config/sweeper.py).
@shared_task(name="notes.process_note", acks_late=True, reject_on_worker_lost=True, soft_time_limit=25 * 60,
             time_limit=30 * 60)
def process_note(note_id: str) -> str:
    return services.note_process(note_id=note_id)


def queue_processing(note_id: str) -> bool:
    """Hand the note's processing to the broker and mark the note queued; when the broker does not answer, leave the
    note pending and unqueued (its outbox marker) for the sweeper, and say so. Returns whether it was queued."""
    try:
        # No result to wait for here: without ignore_result the Redis result backend subscribes to the result first,
        # and while Redis is down it gives up with a RuntimeError ("the Celery application must be restarted").
        process_note.apply_async((str(note_id),), retry_policy=PUBLISH_RETRY, ignore_result=True)
    except BROKER_UNAVAILABLE as exc:
        logger.warning("Broker unavailable, note %s stays pending until it is back (%s: %s)",
                       note_id, type(exc).__name__, exc)
        return False
    Note.objects.filter(pk=note_id, queued_at__isnull=True).update(queued_at=timezone.now())
    return True
