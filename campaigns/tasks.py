"""Celery entry points of engagement: thin, idempotent, each calls one service."""
import logging

from celery import shared_task
from django.utils import timezone

from telephony.tasks import BROKER_UNAVAILABLE, PUBLISH_RETRY

from . import bulk, services
from .models import Campaign

logger = logging.getLogger(__name__)


@shared_task(name="campaigns.send_due_reminders")
def send_due_reminders():
    """Beat, every few minutes: send the reminders that are due (each at most once)."""
    return services.reminders_send_due()


@shared_task(name="campaigns.request_pending_feedback")
def request_pending_feedback():
    """Beat: ask the patients of recently completed appointments for feedback (once per appointment)."""
    return services.feedback_request_pending()


@shared_task(name="campaigns.send_campaign", bind=True)
def send_campaign(self, campaign_id: str):
    """Send one batch of a bulk campaign (campaigns.bulk.campaign_batch_send), then schedule the next: at once
    while the minute's allowance (the clinic's `campaign_sms_per_minute`, the provider's rate) lasts, when it
    renews once it is spent, when the clinic's quiet hours end if they began.

    Safe to run twice: each batch claims its recipients in one statement (campaigns.bulk). Run eagerly (tests,
    CELERY_TASK_ALWAYS_EAGER) it chains batches at once and stops when one sends nothing.
    """
    result = bulk.campaign_batch_send(campaign_id=campaign_id)
    if not result.remaining:
        return {"sent": result.sent, "failed": result.failed, "remaining": 0}
    if self.request.is_eager and not (result.sent or result.failed):
        return {"sent": 0, "failed": 0, "remaining": result.remaining, "deferred": result.deferred}
    countdown = 0 if self.request.is_eager else result.retry_in
    send_campaign.apply_async((campaign_id,), countdown=countdown)
    return {"sent": result.sent, "failed": result.failed, "remaining": result.remaining,
            "deferred": result.deferred, "next_in": countdown}


def queue_campaign(campaign_id: str) -> bool:
    """Hand the campaign's first batch to the broker and mark it started (`started_at`); when the broker does not
    answer, leave it `sending` without `started_at` (queued, not started: its outbox marker) for config/sweeper.py,
    and say so. Returns whether the broker took it."""
    try:
        send_campaign.apply_async((str(campaign_id),), retry_policy=PUBLISH_RETRY, ignore_result=True)
    except BROKER_UNAVAILABLE as exc:
        logger.warning("Broker unavailable, campaign %s waits until it is back (%s: %s)", campaign_id,
                       type(exc).__name__, exc)
        return False
    Campaign.objects.filter(pk=campaign_id, started_at__isnull=True).update(started_at=timezone.now())
    return True
