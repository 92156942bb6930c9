"""Celery entry points of telephony: thin and idempotent, they call the services."""
import logging

from celery import shared_task
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

from .agents import call_dial
from .exceptions import MessageDeliveryFailed
from .models import Message
from .outbound_webhooks import deliver_webhook  # noqa: F401 - registers the webhook task with the worker
from .services import call_status_report, message_deliver

logger = logging.getLogger(__name__)
# The broker did not take the task: Redis down or unreachable (kombu wraps most of these in OperationalError).
BROKER_UNAVAILABLE = (OperationalError, RedisError, OSError)
# One quick retry while publishing from a request: the outbox (config/sweeper.py) covers a longer outage, so a web
# request never waits on a dead broker.
PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


@shared_task(name="telephony.send_sms")
def send_sms_task(message_id: str) -> str:
    """Send a queued message; a message already sent (or failed) is left as it is. Returns its status."""
    message = Message.objects.filter(pk=message_id).first()
    if message is None:
        logger.warning("send_sms_task: message %s does not exist", message_id)
        return "missing"
    try:
        message = message_deliver(message=message)
    except MessageDeliveryFailed as exc:
        # The row already says failed and why; retrying blindly could text a patient twice.
        return exc.message_row.status
    return message.status


@shared_task(name="telephony.place_call")
def place_call_task(call_id: str) -> str:
    """Dial a call back through the voice provider; a call already placed (a task delivered twice) is not dialled
    again, and a scheduled one not yet due waits for its own task. Returns the call's status."""
    call = call_dial(call_id=call_id)
    return call.status if call is not None else "missing"


@shared_task(name="telephony.local_call_progress")
def local_call_progress_task(call_id: str, reports: list[str]) -> str:
    """The local voice backend's pretend provider: post its status reports for the call, in order (each applied
    once). Returns the call's status."""
    call = None
    for provider_status in reports:
        call = call_status_report(call_id=call_id, provider_status=provider_status)
        if call is None:
            return "missing"
    return call.status if call is not None else "missing"


def queue_delivery(message_ids) -> int:
    """Hand each message's delivery to the broker and mark it queued (`queued_at`); at the first refusal stop and
    leave the rest unqueued, their outbox marker for config/sweeper.py. Returns how many the broker took."""
    message_ids = [str(message_id) for message_id in message_ids]
    taken = []
    for message_id in message_ids:
        try:
            # No result to wait for: with the Redis result backend down, asking for one fails the publish itself.
            send_sms_task.apply_async((message_id,), retry_policy=PUBLISH_RETRY, ignore_result=True)
        except BROKER_UNAVAILABLE as exc:
            logger.warning("Broker unavailable, %s message(s) stay queued until it is back (%s: %s)",
                           len(message_ids) - len(taken), type(exc).__name__, exc)
            break
        taken.append(message_id)
    if taken:
        # Marked after publishing: a worker faster than this update finds the message claimed, not unqueued.
        Message.objects.filter(pk__in=taken, queued_at__isnull=True).update(queued_at=timezone.now())
    return len(taken)
