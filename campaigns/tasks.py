"""Celery entry points of engagement: thin, idempotent, each calls one service."""
from celery import shared_task

from . import services


@shared_task(name="campaigns.send_due_reminders")
def send_due_reminders():
    """Beat, every few minutes: send the reminders that are due (each at most once)."""
    return services.send_due_reminders()


@shared_task(name="campaigns.request_pending_feedback")
def request_pending_feedback():
    """Beat: ask the patients of recently completed appointments for feedback (once per appointment)."""
    return services.request_pending_feedback()


@shared_task(name="campaigns.send_campaign", bind=True)
def send_campaign(self, campaign_id: str):
    """Send one batch of a bulk campaign, then queue the next one a minute later (the clinic's send rate).

    Safe to run twice: recipients are claimed one by one (campaigns.bulk). In quiet hours it waits for them to
    end. Run eagerly (tests, CELERY_TASK_ALWAYS_EAGER) it chains batches at once and stops when one sends nothing.
    """
    from . import bulk

    result = bulk.send_next_batch(campaign_id)
    if not result.remaining:
        return {"sent": result.sent, "failed": result.failed, "remaining": 0}
    if self.request.is_eager and not (result.sent or result.failed):
        return {"sent": 0, "failed": 0, "remaining": result.remaining, "deferred": result.deferred}
    if result.deferred == "quiet_hours":
        from .models import Campaign

        clinic = Campaign.objects.select_related("clinic").get(pk=campaign_id).clinic
        countdown = bulk.seconds_until_quiet_hours_end(clinic)
    else:
        countdown = 0 if self.request.is_eager else 60
    send_campaign.apply_async((campaign_id,), countdown=countdown)
    return {"sent": result.sent, "failed": result.failed, "remaining": result.remaining}
