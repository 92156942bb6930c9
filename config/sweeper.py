"""The sweeper (beat, every five minutes): queue again the work a lost worker left stuck.

Acks-late tasks come back by themselves when a worker dies, but only after the broker's visibility timeout, and
not at all when the message itself was lost (Redis restarted without persistence, a purged queue). Two kinds of
work carry their own state in the database, so the sweeper finds them and queues them through their own task:

- a consultation note still `pending` or `processing` SWEEP_NOTE_STUCK_MINUTES after its last change (longer than
  `notes.process_note`'s time limit, so a live run is never doubled): `notes.process_note` claims it and skips
  the steps already done;
- a campaign still `sending` whose last send (or start) is SWEEP_CAMPAIGN_STUCK_MINUTES old while the clinic is
  out of its quiet hours (batches go every minute): `campaigns.send_campaign` claims each recipient, so nobody is
  texted twice.

Both tasks are idempotent, and the sweeper queues an item at most once per deadline (a marker in the cache), so
overlapping sweeps or a worker still catching up do not pile copies in the queue.
"""
import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db.models import Max
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services import in_quiet_hours
from campaigns.tasks import send_campaign
from notes.models import Note
from notes.tasks import process_note

logger = logging.getLogger(__name__)
BATCH = 200


def _first_time(kind: str, pk, minutes: int) -> bool:
    """True once per `minutes` for this item: the sweeper's own claim, so it never queues the same work twice."""
    return cache.add(f"sweeper:{kind}:{pk}", 1, timeout=minutes * 60)


def stuck_notes(now):
    cutoff = now - dt.timedelta(minutes=settings.SWEEP_NOTE_STUCK_MINUTES)
    return (Note.objects.filter(transcription_status__in=[Note.Status.PENDING, Note.Status.PROCESSING],
                                updated_at__lt=cutoff)
            .order_by("updated_at").values_list("pk", flat=True)[:BATCH])


def stuck_campaigns(now):
    cutoff = now - dt.timedelta(minutes=settings.SWEEP_CAMPAIGN_STUCK_MINUTES)
    campaigns = (Campaign.objects.filter(status=Campaign.Status.SENDING)
                 .annotate(progress=Coalesce(Max("recipients__sent_at"), "started_at", "created_at"))
                 .filter(progress__lt=cutoff).select_related("clinic").order_by("progress")[:BATCH])
    return [campaign for campaign in campaigns if not in_quiet_hours(campaign.clinic, now)]


@shared_task(name="frontdesk.sweep_stuck_work")
def sweep_stuck_work() -> dict:
    """Queue the stuck notes and campaigns again; returns how many of each were queued."""
    now = timezone.now()
    notes = [str(pk) for pk in stuck_notes(now)
             if _first_time("note", pk, settings.SWEEP_NOTE_STUCK_MINUTES)]
    for note_id in notes:
        logger.warning("sweeper: note %s stuck since before the deadline, queued again", note_id)
        process_note.delay(note_id)
    campaigns = [str(campaign.pk) for campaign in stuck_campaigns(now)
                 if _first_time("campaign", campaign.pk, settings.SWEEP_CAMPAIGN_STUCK_MINUTES)]
    for campaign_id in campaigns:
        logger.warning("sweeper: campaign %s made no progress before the deadline, queued again", campaign_id)
        send_campaign.delay(campaign_id)
    return {"notes": len(notes), "campaigns": len(campaigns)}
