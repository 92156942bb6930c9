"""Celery entry points of telephony: thin and idempotent, they call the services."""
import logging

from celery import shared_task

from .exceptions import MessageDeliveryFailed
from .models import Message
from .outbound_webhooks import deliver_webhook  # noqa: F401 - registers the webhook task with the worker
from .services import message_deliver

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
