"""The sweeper (beat, every SWEEP_EVERY_SECONDS, and whenever a worker connects to the broker): queue the work that
the broker never received or that a lost worker left stuck.

Acks-late tasks come back by themselves when a worker's process dies under a living worker, but when the whole
worker dies (SIGKILL, a lost node) only after the broker's visibility timeout (hours), and not at all when the
message itself was lost (Redis restarted without persistence, a purged queue) or never sent (Redis down when the
work was stored). The work carries its own state in the database, so the sweeper finds it and queues it through
its own task:

- the notes' outbox: a note `pending` without `queued_at` (the broker was down when it was stored, notes/tasks.py)
  SWEEP_OUTBOX_GRACE_SECONDS after its last change, queued and marked;
- a note `processing` whose worker stopped renewing its lease (config/celery.py) for TASK_LEASE_SECONDS: its worker
  died, so it is queued again at once instead of after the time limit;
- a consultation note still `pending` or `processing` SWEEP_NOTE_STUCK_MINUTES after its last change (longer than
  `notes.process_note`'s time limit, so a live run is never doubled): `notes.process_note` claims it and skips
  the steps already done;
- the messages' outbox: an outbound message `queued` without `queued_at` (stored while the broker was down,
  telephony.tasks.queue_delivery) SWEEP_OUTBOX_GRACE_SECONDS after it was stored, published and marked; a message
  left `sending` longer than DELIVERY_CLAIM_SECONDS (its worker died while calling the provider) is marked failed
  for review by `message_deliver`, never sent again;
- the campaigns' outbox: a campaign `sending` without `started_at` (the broker was down when it was started,
  campaigns.tasks.queue_campaign), published and marked started;
- a campaign still `sending` whose last send (or start) is SWEEP_CAMPAIGN_STUCK_MINUTES old while the clinic is
  out of its quiet hours (batches go every minute): `campaigns.send_campaign` claims each recipient, so nobody is
  texted twice;
- the delivery reports that came before their message's provider id was recorded (telephony.EarlyDeliveryReport):
  applied once the id is there (a report stored while its batch was committing), dropped after EARLY_REPORT_DAYS.

Every task is idempotent, and the sweeper queues an item at most once per deadline (a marker in the cache), so
overlapping sweeps or a worker still catching up do not pile copies in the queue. With the cache down no marker
can be taken and nothing is queued again (a lease could not be read either).
"""
import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services import in_quiet_hours
from campaigns.tasks import queue_campaign, send_campaign
from notes.models import Note
from notes.tasks import process_note, queue_processing
from telephony.models import Message
from telephony.services import DELIVERY_CLAIM_SECONDS, early_reports_apply, early_reports_purge, message_deliver
from telephony.tasks import queue_delivery

from .celery import lease_key

logger = logging.getLogger(__name__)
BATCH = 200


def _first_time(kind: str, pk, seconds: float) -> bool:
    """True once per `seconds` for this item: the sweeper's own claim, so it never queues the same work twice."""
    return cache.add(f"sweeper:{kind}:{pk}", 1, timeout=max(int(seconds), 1))


def unqueued_notes(now):
    """The notes' outbox: pending notes whose processing the broker never took."""
    cutoff = now - dt.timedelta(seconds=settings.SWEEP_OUTBOX_GRACE_SECONDS)
    return (Note.objects.filter(transcription_status=Note.Status.PENDING, queued_at__isnull=True,
                                updated_at__lt=cutoff)
            .order_by("updated_at").values_list("pk", flat=True)[:BATCH])


def orphaned_notes(now):
    """Notes processing without a live lease: the worker running them died."""
    cutoff = now - dt.timedelta(seconds=settings.TASK_LEASE_SECONDS)
    candidates = list(Note.objects.filter(transcription_status=Note.Status.PROCESSING, updated_at__lt=cutoff)
                      .order_by("updated_at").values_list("pk", flat=True)[:BATCH])
    if not candidates:
        return []
    leases = cache.get_many([lease_key(process_note.name, pk) for pk in candidates])
    if getattr(cache, "unavailable", False):
        return []
    return [pk for pk in candidates if lease_key(process_note.name, pk) not in leases]


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


def flush_note_outbox(now) -> int:
    """Queue the notes stored while the broker was down; returns how many the broker took."""
    queued = 0
    for note_id in unqueued_notes(now):
        with transaction.atomic():
            # Skip a note another sweep is queueing right now.
            if not Note.objects.select_for_update(skip_locked=True).filter(
                    pk=note_id, queued_at__isnull=True).exists():
                continue
            queued += queue_processing(str(note_id))
    return queued


def flush_message_outbox(now) -> int:
    """Publish the messages stored while the broker was down; returns how many the broker took."""
    cutoff = now - dt.timedelta(seconds=settings.SWEEP_OUTBOX_GRACE_SECONDS)
    message_ids = list(Message.objects.filter(direction=Message.Direction.OUTBOUND, status=Message.Status.QUEUED,
                                              queued_at__isnull=True, created_at__lt=cutoff)
                       .order_by("created_at").values_list("pk", flat=True)[:BATCH])
    # The cache marker keeps overlapping sweeps from publishing a message twice.
    message_ids = [pk for pk in message_ids if _first_time("message", pk, settings.SWEEP_OUTBOX_GRACE_SECONDS)]
    return queue_delivery(message_ids) if message_ids else 0


def expire_message_claims(now) -> int:
    """Messages whose delivery run died while calling the provider: marked failed for review (never resent)."""
    cutoff = now - dt.timedelta(seconds=DELIVERY_CLAIM_SECONDS)
    stale = list(Message.objects.filter(status=Message.Status.SENDING, attempted_at__lt=cutoff)
                 .order_by("attempted_at")[:BATCH])
    for message in stale:
        message_deliver(message=message)
    return len(stale)


def flush_campaign_outbox(now) -> int:
    """Start the campaigns started while the broker was down; returns how many the broker took."""
    cutoff = now - dt.timedelta(seconds=settings.SWEEP_OUTBOX_GRACE_SECONDS)
    campaign_ids = [pk for pk in Campaign.objects.filter(status=Campaign.Status.SENDING, started_at__isnull=True,
                                                         created_at__lt=cutoff)
                    .order_by("created_at").values_list("pk", flat=True)[:BATCH]
                    if _first_time("campaign-outbox", pk, settings.SWEEP_OUTBOX_GRACE_SECONDS)]
    started = 0
    for campaign_id in campaign_ids:
        if not queue_campaign(str(campaign_id)):
            break
        started += 1
    return started


@shared_task(name="frontdesk.sweep_stuck_work")
def sweep_stuck_work() -> dict:
    """Queue the unqueued, orphaned and stuck notes and the stuck campaigns; returns how many of each were
    queued (`notes` counts the orphaned and stuck ones, `outbox` the unqueued ones)."""
    now = timezone.now()
    outbox = flush_note_outbox(now)
    messages = flush_message_outbox(now)
    expire_message_claims(now)
    reports = early_reports_apply()
    early_reports_purge(now=now)
    campaign_outbox = flush_campaign_outbox(now)
    # Once per note deadline: a copy still waiting in a long heavy queue is not queued again meanwhile.
    orphaned = [str(pk) for pk in orphaned_notes(now)
                if _first_time("note", pk, settings.SWEEP_NOTE_STUCK_MINUTES * 60)]
    for note_id in orphaned:
        logger.warning("sweeper: note %s lost its worker (lease expired), queued again", note_id)
        process_note.delay(note_id)
    notes = [str(pk) for pk in stuck_notes(now)
             if _first_time("note", pk, settings.SWEEP_NOTE_STUCK_MINUTES * 60)]
    for note_id in notes:
        logger.warning("sweeper: note %s stuck since before the deadline, queued again", note_id)
        process_note.delay(note_id)
    campaigns = [str(campaign.pk) for campaign in stuck_campaigns(now)
                 if _first_time("campaign", campaign.pk, settings.SWEEP_CAMPAIGN_STUCK_MINUTES * 60)]
    for campaign_id in campaigns:
        logger.warning("sweeper: campaign %s made no progress before the deadline, queued again", campaign_id)
        send_campaign.delay(campaign_id)
    result = {"notes": len(orphaned) + len(notes), "campaigns": len(campaigns), "outbox": outbox}
    # Keys only when there was something: the note outbox's callers compare the whole answer.
    if messages:
        result["messages"] = messages
    if campaign_outbox:
        result["campaign_outbox"] = campaign_outbox
    if reports:
        result["delivery_reports"] = reports
    return result
