"""Celery entry points of telephony: thin and idempotent, they call the services."""
import logging

from celery import shared_task

from .agents import call_dial
from .exceptions import MessageDeliveryFailed
from .models import Message
from .outbound_webhooks import deliver_webhook  # noqa: F401 - registers the webhook task with the worker
from .services import call_status_report, message_deliver

logger = logging.getLogger(__name__)


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
