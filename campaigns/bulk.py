"""Bulk SMS campaigns: who an audience filter reaches, what it costs, and sending it in batches at most once.

Selectors (`audience_queryset`, `preview`, `campaigns_for`) read; services (`campaign_send`, `campaign_batch_send`,
`campaign_cancel`) write. Every edge that starts a campaign (the console, POST /v1/campaigns) calls `campaign_send`,
which stores it and queues the Celery task: the request never sends the SMS itself. A campaign's recipients are
fixed when it is created (one INSERT ... SELECT), one CampaignRecipient row per patient under a unique (campaign,
patient) constraint. Each batch claims its recipients (pending -> sending) and stores their messages already claimed
for delivery in one transaction, hands them to the provider as one batch, then records every outcome in a second
transaction, so a restarted worker, a duplicated task or a cancel in the middle of a campaign never texts a patient
twice nor after the cancel. Batches follow the minute's allowance (`campaign_sms_per_minute` of the clinic,
settings.SMS_PROVIDER_PER_MINUTE of the provider account).
"""
import datetime as dt
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Exists, Max, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.audit import record
from clinics.errors import Conflict, DomainError, InvalidInput, NotFound
from config.providers import SMS
from scheduling.models import ACTIVE_STATUSES, Appointment, Patient, Professional, Service
from telephony.models import Message
from telephony.services import message_claim_many, message_hand_over_many, message_outcomes_record

from .errors import CampaignCode
from .models import Campaign, CampaignRecipient
from .selectors import SMS_REFUSED, marketing_sms_reachable
from .services import in_quiet_hours, reminder_settings

logger = logging.getLogger(__name__)

# Recipients one task run queues at most; the minute's allowance (clinic and provider) may lower it.
MAX_BATCH_SIZE = 500
DEFAULT_SMS_PER_MINUTE = 60
# Price of one SMS segment in minor units when the settings say nothing (a typical EU A2P rate).
DEFAULT_SEGMENT_PRICE_MINOR = 5
DEFAULT_CURRENCY = "EUR"
MAX_MESSAGE_LENGTH = 1600
MAX_NAME_LENGTH = 200
MAX_AUDIENCE_TAGS = 50
MAX_TAG_LENGTH = 60

# The GSM 03.38 basic set and the extension table (each extension character costs two septets).
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENDED = set("^{}\\[~]|€\f")

EXCLUSION_REASONS = ("noPhone", "smsRefused", "noMarketingConsent")


# --- message text -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Segments:
    """How a text travels: its encoding ("GSM-7" or "UCS-2"), its length in that encoding, and its segments."""

    encoding: str
    length: int
    count: int


def count_segments(text: str) -> Segments:
    """SMS segments of `text`: GSM-7 takes 160 characters in one segment, 153 per part when split; any
    character outside GSM-7 makes the whole text UCS-2, 70 in one segment and 67 per part (UTF-16 units)."""
    if all(char in GSM7_BASIC or char in GSM7_EXTENDED for char in text):
        length = sum(2 if char in GSM7_EXTENDED else 1 for char in text)
        single, part, encoding = 160, 153, "GSM-7"
    else:
        length = len(text.encode("utf-16-le")) // 2
        single, part, encoding = 70, 67, "UCS-2"
    if length == 0:
        return Segments(encoding, 0, 0)
    return Segments(encoding, length, 1 if length <= single else math.ceil(length / part))


def first_name(full_name: str) -> str:
    words = (full_name or "").split()
    return words[0] if words else ""


def render_message(template: str, patient_name: str, clinic_name: str) -> str:
    """The text one patient receives: {name} is their first name, {clinic} the clinic's name; other braces stay."""
    return template.replace("{name}", first_name(patient_name)).replace("{clinic}", clinic_name)


def segment_price() -> tuple[int, str]:
    """(price of one segment in minor units, currency) from settings, else the defaults above."""
    return (int(getattr(settings, "SMS_SEGMENT_PRICE_MINOR", DEFAULT_SEGMENT_PRICE_MINOR)),
            getattr(settings, "SMS_SEGMENT_CURRENCY", DEFAULT_CURRENCY))


# --- audience -----------------------------------------------------------------------------------------------------

@dataclass
class Audience:
    """Validated audience filters; every field is optional and they combine with AND (tags among themselves OR)."""

    tags: list | None = None
    last_visit_before: dt.datetime | None = None
    last_visit_after: dt.datetime | None = None
    professional_id: object = None
    service_id: object = None
    has_future_appointment: bool | None = None

    def as_json(self) -> dict:
        def moment(value):
            return value.isoformat() if value else None

        return {"tags": self.tags or [], "lastVisitBefore": moment(self.last_visit_before),
                "lastVisitAfter": moment(self.last_visit_after),
                "professionalId": str(self.professional_id) if self.professional_id else None,
                "serviceId": str(self.service_id) if self.service_id else None,
                "hasFutureAppointment": self.has_future_appointment}


def audience_queryset(clinic, audience: Audience, now=None):
    """The clinic's patients the filters match, consent not yet considered. Last visit is the latest past
    appointment that was not cancelled nor missed; professional and service mean any such appointment with them."""
    now = now or timezone.now()
    patients = Patient.objects.for_clinic(clinic)
    if audience.tags:
        patients = patients.filter(tags__has_any_keys=list(audience.tags))
    visits = Appointment.objects.for_clinic(clinic).filter(patient=OuterRef("pk")).exclude(
        status__in=(Appointment.Status.CANCELLED, Appointment.Status.NO_SHOW))
    if audience.last_visit_before or audience.last_visit_after:
        patients = patients.annotate(last_visit=Max(
            "appointments__starts_at",
            filter=Q(appointments__starts_at__lte=now)
            & ~Q(appointments__status__in=(Appointment.Status.CANCELLED, Appointment.Status.NO_SHOW))))
        if audience.last_visit_before:
            patients = patients.filter(last_visit__lt=audience.last_visit_before)
        if audience.last_visit_after:
            patients = patients.filter(last_visit__gte=audience.last_visit_after)
    if audience.professional_id:
        patients = patients.filter(Exists(visits.filter(professional_id=audience.professional_id)))
    if audience.service_id:
        patients = patients.filter(Exists(visits.filter(service_id=audience.service_id)))
    if audience.has_future_appointment is not None:
        future = Exists(Appointment.objects.for_clinic(clinic).filter(patient=OuterRef("pk"), starts_at__gt=now,
                                                                      status__in=ACTIVE_STATUSES))
        patients = patients.filter(future if audience.has_future_appointment else ~future)
    return patients


def _reachable(patients):
    """Marketing SMS needs a phone, no refusal of SMS and an explicit marketing opt-in (campaigns.selectors)."""
    return marketing_sms_reachable(patients)


def exclusion_counts(patients, targets: int) -> dict:
    """How many matched patients are left out, by the first reason that applies, in EXCLUSION_REASONS order.

    The last reason is what remains once the others and the `targets` are counted: a missing consent key is
    NULL in SQL, which a negated filter would silently drop."""
    matched = patients.count()
    no_phone = patients.filter(phone_index="").count()
    refused = patients.exclude(phone_index="").filter(SMS_REFUSED).count()
    return {"noPhone": no_phone, "smsRefused": refused,
            "noMarketingConsent": max(matched - no_phone - refused - targets, 0)}


def audience_estimate(*, clinic, audience: Audience, now=None) -> dict:
    """Who the filters reach before any message is written: `{"matched", "targets", "excluded"}` as in `preview`
    (the console's count that follows the filters). Refuses what `campaign_send` would (`check_audience`)."""
    check_audience(clinic, audience)
    matched = audience_queryset(clinic, audience, now)
    targets = _reachable(matched).values("pk").distinct().count()
    excluded = exclusion_counts(matched, targets)
    return {"matched": targets + sum(excluded.values()), "targets": targets, "excluded": excluded}


def preview(clinic, message: str, audience: Audience, now=None) -> dict:
    """The estimate shown before sending: matched patients, targets, exclusions by reason, segments and cost.

    Segments are counted on each target's own text (names change the length and may need UCS-2)."""
    matched = audience_queryset(clinic, audience, now)
    # Only the first name changes the text: each distinct one is rendered and counted once.
    first_names = Counter(first_name(name) for _pk, name in _reachable(matched).distinct().values_list("pk", "name"))
    targets = sum(first_names.values())
    excluded = exclusion_counts(matched, targets)
    per_name = [(count_segments(render_message(message, name, clinic.name)), patients)
                for name, patients in first_names.items()]
    template = count_segments(render_message(message, "", clinic.name))
    total = sum(item.count * patients for item, patients in per_name)
    price, currency = segment_price()
    encoding = "UCS-2" if any(item.encoding == "UCS-2" for item, _patients in per_name) else template.encoding
    return {
        "matched": targets + sum(excluded.values()),
        "targets": targets,
        "excluded": excluded,
        "segments": {"encoding": encoding, "perMessage": max((item.count for item, _patients in per_name),
                                                             default=template.count),
                     "total": total},
        "estimatedCost": {"amount": total * price, "currency": currency},
    }


# --- campaigns ----------------------------------------------------------------------------------------------------

def campaigns_for(clinic):
    """The clinic's campaigns with their recipient counts (`count_<status>` and `count_total`) and their clinic, in
    one query."""
    counts = {f"count_{state}": Count("recipients", filter=Q(recipients__status=state))
              for state in CampaignRecipient.Status.values}
    return (Campaign.objects.for_clinic(clinic).select_related("clinic")
            .annotate(count_total=Count("recipients"), **counts))


def counts_of(campaign) -> dict:
    """sent / failed / pending (pending or being sent) / cancelled / total of one annotated campaign."""
    return {"total": campaign.count_total, "sent": campaign.count_sent, "failed": campaign.count_failed,
            "pending": campaign.count_pending + campaign.count_sending, "cancelled": campaign.count_cancelled}


def _audit(source, action, campaign, **extra):
    return record(source, action, "campaign", campaign.id, "marketing", clinic=campaign.clinic, **extra)


def _invalid_audience(field: str, message: str) -> InvalidInput:
    # Nested like the API's audience object, so that every surface names the same field.
    return InvalidInput(None, message, {"audience": {field: [message]}})


def check_audience(clinic, audience: Audience) -> None:
    """Refuse filters that name another clinic's professional or service, or are out of bounds (InvalidInput)."""
    if audience.tags and (len(audience.tags) > MAX_AUDIENCE_TAGS
                          or any(len(str(tag)) > MAX_TAG_LENGTH for tag in audience.tags)):
        raise _invalid_audience("tags", _("At most %(n)s tags of %(length)s characters.")
                                % {"n": MAX_AUDIENCE_TAGS, "length": MAX_TAG_LENGTH})
    if (audience.last_visit_before and audience.last_visit_after
            and audience.last_visit_after >= audience.last_visit_before):
        raise _invalid_audience("lastVisitAfter", _("Must be before lastVisitBefore."))
    if audience.professional_id and not Professional.objects.for_clinic(clinic).filter(
            pk=audience.professional_id).exists():
        raise _invalid_audience("professionalId", _("No such professional."))
    if audience.service_id and not Service.objects.for_clinic(clinic).filter(pk=audience.service_id).exists():
        raise _invalid_audience("serviceId", _("No such service."))


def check_message(message: str) -> None:
    """A campaign's text: not blank, at most MAX_MESSAGE_LENGTH, only the {name} and {clinic} placeholders."""
    if not (message or "").strip():
        raise InvalidInput(CampaignCode.EMPTY_MESSAGE, _("The message is empty."),
                           {"message": [_("This field may not be blank.")]})
    if len(message) > MAX_MESSAGE_LENGTH:
        raise InvalidInput.on("message", _("At most %(n)s characters.") % {"n": MAX_MESSAGE_LENGTH})
    unknown = unknown_placeholders(message)
    if unknown:
        raise InvalidInput.on("message", _("Unknown placeholders: %(names)s. Use {name} and {clinic}.")
                              % {"names": ", ".join("{%s}" % word for word in unknown)})


def campaign_preview(*, clinic, message: str, audience: Audience, now=None) -> dict:
    """The estimate shown before sending (docs/api/clinic-v1.md, Campaigns); refuses what `campaign_send` would."""
    check_message(message)
    check_audience(clinic, audience)
    return preview(clinic, message, audience, now)


def campaign_send(*, clinic, name: str, message: str, audience: Audience, created_by=None, actor=None,
                  now=None) -> Campaign:
    """Store the campaign and its recipients (the consenting targets of `audience`) and queue the Celery task that
    sends it once the transaction commits (`started_at` is set when the broker took it; while the broker is down
    the campaign waits for config/sweeper.py); nothing is sent in the caller's request. A campaign with no target is
    completed at once. Audited. Raises InvalidInput (nothing stored, nothing audited)."""
    now = now or timezone.now()
    check_message(message)
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidInput.on("name", _("A name of 1 to %(n)s characters.") % {"n": MAX_NAME_LENGTH})
    check_audience(clinic, audience)
    if created_by is not None and created_by.clinic_id != clinic.pk:
        created_by = None
    estimate = preview(clinic, message, audience, now)
    with transaction.atomic():
        campaign = Campaign.objects.create(
            clinic=clinic, name=name, message=message, audience=audience.as_json(), status=Campaign.Status.SENDING,
            estimated_segments=estimate["segments"]["total"], estimated_cost=estimate["estimatedCost"]["amount"],
            currency=estimate["estimatedCost"]["currency"], created_by=created_by, created_at=now)
        if not _store_recipients(campaign, _reachable(audience_queryset(clinic, audience, now)), now):
            campaign.status, campaign.started_at, campaign.completed_at = Campaign.Status.COMPLETED, now, now
            campaign.save(update_fields=["status", "started_at", "completed_at"])
        else:
            _queue_sending(campaign)
        _audit(actor, "campaign.created", campaign, targets=estimate["targets"])
    return campaign


# The recipients in one statement, inside the database: INSERT ... SELECT of the audience's patient ids (the
# audience's compiled query goes between the two parts; ON CONFLICT also absorbs a patient the query lists twice).
STORE_RECIPIENTS_SQL = ("""
INSERT INTO campaigns_campaignrecipient (id, clinic_id, campaign_id, patient_id, status, error, created_at)
SELECT gen_random_uuid(), %s, %s, target.id, %s, '', %s FROM (""", """) AS target(id)
ON CONFLICT (campaign_id, patient_id) DO NOTHING
""")


def _store_recipients(campaign, patients, now) -> int:
    """One CampaignRecipient per patient of `patients` (pending); returns how many."""
    targets, params = patients.values_list("pk", flat=True).query.sql_with_params()
    head, tail = STORE_RECIPIENTS_SQL
    with connection.cursor() as cursor:
        cursor.execute(head + targets + tail,
                       [campaign.clinic_id, campaign.pk, CampaignRecipient.Status.PENDING, now, *params])
        return cursor.rowcount


def _queue_sending(campaign) -> None:
    # Imported here: tasks.py imports this module, and the task is what sends.
    from .tasks import queue_campaign

    # Without `started_at` until the broker takes it (campaigns.tasks.queue_campaign): with the broker down the
    # request still succeeds and config/sweeper.py starts the campaign when it is back.
    campaign_id = str(campaign.id)
    transaction.on_commit(lambda: queue_campaign(campaign_id))


def campaign_cancel(*, clinic, campaign, actor=None, now=None) -> Campaign:
    """Stop a draft or sending campaign of the clinic: its pending recipients are cancelled and never sent. A
    batch being handed to the provider at this instant still goes. Cancelling a cancelled campaign changes
    nothing; a completed one raises Conflict CAMPAIGN_NOT_CANCELLABLE; another clinic's campaign NotFound."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Campaign.objects.for_clinic(clinic).select_for_update().filter(pk=campaign.pk).first()
        if locked is None:
            raise NotFound(None, _("Campaign not found."))
        if locked.status == Campaign.Status.CANCELLED:
            return locked
        if locked.status == Campaign.Status.COMPLETED:
            raise Conflict(CampaignCode.CAMPAIGN_NOT_CANCELLABLE, _("This campaign has already been sent."))
        locked.status, locked.cancelled_at = Campaign.Status.CANCELLED, now
        locked.save(update_fields=["status", "cancelled_at"])
        locked.recipients.filter(status=CampaignRecipient.Status.PENDING).update(
            status=CampaignRecipient.Status.CANCELLED)
        _audit(actor, "campaign.cancelled", locked)
    return locked


@dataclass
class BatchResult:
    """What one run did: sent and failed now, recipients still pending, why it stopped early if it did, and in how
    many seconds the next batch may run (`retry_in`: when the minute's allowance renews, 0 to go on at once)."""

    sent: int = 0
    failed: int = 0
    remaining: int = 0
    deferred: str = ""  # "quiet_hours" or "rate_limit"
    retry_in: int = 0


def send_rate(clinic) -> int:
    """SMS per minute a clinic's campaigns may send together (`booking_rules.campaign_sms_per_minute`)."""
    try:
        rate = int((clinic.booking_rules or {}).get("campaign_sms_per_minute", DEFAULT_SMS_PER_MINUTE))
    except (TypeError, ValueError):
        rate = DEFAULT_SMS_PER_MINUTE
    return max(rate, 1)


def provider_rate() -> int:
    """SMS per minute the provider account takes from all clinics together (settings.SMS_PROVIDER_PER_MINUTE; 0 or
    unset: no account-wide cap)."""
    try:
        return max(int(getattr(settings, "SMS_PROVIDER_PER_MINUTE", 0) or 0), 0)
    except (TypeError, ValueError):
        return 0


def _reserve(key: str, limit: int, wanted: int) -> int:
    cache.add(key, 0, timeout=2 * _window_seconds())
    used = cache.incr(key, wanted)
    granted = max(0, min(wanted, limit - (used - wanted)))
    if granted < wanted:
        cache.decr(key, wanted - granted)
    return granted


def _window_seconds() -> int:
    """Length of the window the per-minute allowances count in (settings.CAMPAIGN_RATE_WINDOW_SECONDS: a minute
    unless a test shortens it)."""
    return max(int(getattr(settings, "CAMPAIGN_RATE_WINDOW_SECONDS", 60) or 60), 1)


def _window_start(now) -> dt.datetime:
    window = _window_seconds()
    return dt.datetime.fromtimestamp(now.timestamp() // window * window, now.tzinfo or dt.timezone.utc)


def _minute(now) -> str:
    """The allowance window of `now` in cache keys: its UTC minute (and second when the window is not a minute)."""
    start = _window_start(now).astimezone(dt.timezone.utc)
    return f"{start:%Y%m%d%H%M}" if _window_seconds() == 60 else f"{start:%Y%m%d%H%M%S}"


def _clinic_key(clinic, now) -> str:
    return f"campaign-rate:{clinic.pk}:{_minute(now)}"


def _take_allowance(clinic, wanted: int, now) -> int:
    """Reserve up to `wanted` sends from this minute's allowance of the clinic and of the provider account (both
    shared by all workers through the cache)."""
    granted = _reserve(_clinic_key(clinic, now), send_rate(clinic), wanted)
    account = provider_rate()
    if account and granted:
        taken = _reserve(f"campaign-rate:provider:{_minute(now)}", account, granted)
        if taken < granted:
            cache.decr(_clinic_key(clinic, now), granted - taken)
        granted = taken
    return granted


def _give_back(clinic, unused: int, now) -> None:
    if unused > 0:
        cache.decr(_clinic_key(clinic, now), unused)
        if provider_rate():
            cache.decr(f"campaign-rate:provider:{_minute(now)}", unused)


def seconds_until_allowance_renews(now=None) -> int:
    """Seconds until the next minute (the next window), when the per-minute allowances start again (at least 1)."""
    now = now or timezone.now()
    return max(1, math.ceil(_window_seconds() - (now - _window_start(now)).total_seconds()))


# Claim the batch in one statement: the oldest pending recipients of a campaign still sending, skipping rows another
# worker holds, moved to "sending" and returned.
CLAIM_SQL = """
WITH batch AS (
    SELECT recipient.id FROM campaigns_campaignrecipient AS recipient
    JOIN campaigns_campaign AS campaign ON campaign.id = recipient.campaign_id
    WHERE recipient.campaign_id = %s AND recipient.clinic_id = %s AND recipient.status = %s
      AND campaign.status = %s
    ORDER BY recipient.created_at, recipient.id
    LIMIT %s
    FOR UPDATE OF recipient SKIP LOCKED
)
UPDATE campaigns_campaignrecipient AS recipient SET status = %s
FROM batch WHERE recipient.id = batch.id
RETURNING recipient.id, recipient.patient_id
"""


def _claim(campaign, limit: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, [campaign.pk, campaign.clinic_id, CampaignRecipient.Status.PENDING,
                                   Campaign.Status.SENDING, limit, CampaignRecipient.Status.SENDING])
        return cursor.fetchall()


def campaign_batch_send(*, campaign_id, batch_size: int = MAX_BATCH_SIZE, now=None) -> BatchResult:
    """Send the next batch of a sending campaign: as many recipients as this minute's allowance of the clinic
    (`campaign_sms_per_minute`) and of the provider account leaves, at most `batch_size` (and the SMS backend's
    `batch_size`).

    First transaction: the recipients are claimed with one UPDATE ... RETURNING (pending -> sending, skipping rows
    another worker holds), their messages are stored with one INSERT already claimed for delivery, and the
    recipients are recorded sent (handed over) or failed (a phone no longer valid) with one UPDATE. Then the batch
    goes to the provider (telephony `message_hand_over_many`, no query per message), and a second transaction
    records every message's outcome and the recipients the provider refused (one UPDATE each). A batch that fails
    before its first commit leaves its recipients pending and no message; one that dies after it leaves claimed
    messages that the sweeper marks failed for review: a task run twice never texts a patient twice. Nothing is
    sent in the clinic's quiet hours nor after a cancel. The campaign is completed when no recipient is pending.
    """
    now = now or timezone.now()
    campaign = Campaign.objects.select_related("clinic").filter(pk=campaign_id).first()
    result = BatchResult()
    if campaign is None or campaign.status != Campaign.Status.SENDING:
        return result
    clinic = campaign.clinic
    pending = CampaignRecipient.objects.for_clinic(clinic).filter(campaign=campaign,
                                                                  status=CampaignRecipient.Status.PENDING)
    if in_quiet_hours(clinic, now):
        result.remaining, result.deferred = pending.count(), "quiet_hours"
        result.retry_in = seconds_until_quiet_hours_end(clinic, now)
        return result
    limit = min(max(int(batch_size), 1), SMS.backend().batch_size or MAX_BATCH_SIZE)
    wanted = min(limit, pending.count())
    if not wanted:
        _complete_if_done(campaign)
        return result
    # Reserve only what this campaign can use, so campaigns sending side by side share the minute fairly.
    allowance = _take_allowance(clinic, wanted, now)
    if allowance:
        with transaction.atomic():
            claimed = _claim(campaign, allowance)
            _give_back(clinic, allowance - len(claimed), now)
            recipients, messages = _store_messages(campaign, claimed)
        message_hand_over_many(messages=messages)
        with transaction.atomic():
            message_outcomes_record(clinic=clinic, messages=messages)
            _record_refusals(clinic, recipients, messages)
        result.sent = sum(row.status == CampaignRecipient.Status.SENT for row in recipients)
        result.failed = len(recipients) - result.sent
    if allowance < wanted:
        result.deferred, result.retry_in = "rate_limit", seconds_until_allowance_renews(now)
    result.remaining = pending.count()
    if not result.remaining:
        _complete_if_done(campaign)
    return result


# The recipients' outcomes in one statement (Django's bulk_update builds a CASE per column and row, which for a
# batch of 500 cost more than the rest of the batch together).
RECORD_RECIPIENTS_SQL = """
UPDATE campaigns_campaignrecipient AS recipient
SET status = outcome.status, message_id = outcome.message_id, error = outcome.error, sent_at = outcome.sent_at
FROM unnest(%s::uuid[], %s::varchar[], %s::uuid[], %s::text[], %s::timestamptz[])
     AS outcome(id, status, message_id, error, sent_at)
WHERE recipient.id = outcome.id AND recipient.clinic_id = %s
"""


def _record_recipients(clinic, recipients) -> None:
    if recipients:
        columns = [[getattr(row, field) for row in recipients]
                   for field in ("pk", "status", "message_id", "error", "sent_at")]
        with connection.cursor() as cursor:
            cursor.execute(RECORD_RECIPIENTS_SQL, [*columns, clinic.pk])


def _store_messages(campaign, claimed: list[tuple]) -> tuple[list, list]:
    """Store the claimed recipients' messages, claimed for delivery (one INSERT), and record each recipient sent
    (its message handed over) or failed (one UPDATE). Returns the recipients and the stored messages."""
    if not claimed:
        return [], []
    clinic = campaign.clinic
    patients = Patient.objects.for_clinic(clinic).only("id", "name", "phone").in_bulk(
        [patient_id for _recipient_id, patient_id in claimed])
    recipients = [CampaignRecipient(pk=recipient_id, clinic=clinic, patient_id=patient_id)
                  for recipient_id, patient_id in claimed]
    # A recipient row naming another clinic's patient (campaign_send never writes one) fails: nobody is texted.
    known = [row for row in recipients if row.patient_id in patients]
    outcomes = message_claim_many(clinic=clinic, items=[
        (patients[row.patient_id].phone, render_message(campaign.message, patients[row.patient_id].name, clinic.name),
         row.message_purpose) for row in known]) if known else []
    sent_at = timezone.now()
    for row in recipients:
        row.sent_at = sent_at
        row.status, row.message_id, row.error = CampaignRecipient.Status.FAILED, None, "Not a patient of this clinic."
    for row, outcome in zip(known, outcomes):
        if isinstance(outcome, DomainError):
            row.status, row.message_id, row.error = CampaignRecipient.Status.FAILED, None, outcome.message[:500]
        else:
            row.status, row.message_id, row.error = CampaignRecipient.Status.SENT, outcome.id, ""
    _record_recipients(clinic, recipients)
    return recipients, [outcome for outcome in outcomes if not isinstance(outcome, DomainError)]


def _record_refusals(clinic, recipients, messages) -> None:
    """Recipients whose message the provider refused: failed, with its reason (a message sent back to the outbox
    stays sent: `send_sms` delivers it)."""
    refused = {message.id: message for message in messages if message.status == Message.Status.FAILED}
    rows = [row for row in recipients if row.message_id in refused]
    for row in rows:
        row.status, row.error = CampaignRecipient.Status.FAILED, refused[row.message_id].error[:500]
    _record_recipients(clinic, rows)


def _complete_if_done(campaign) -> None:
    # The campaign's own row while it is sending, once none of its (this clinic's) recipients is pending.
    Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.SENDING).exclude(
        Exists(CampaignRecipient.objects.for_clinic(campaign.clinic_id).filter(
            campaign=OuterRef("pk"), status=CampaignRecipient.Status.PENDING))
    ).update(status=Campaign.Status.COMPLETED, completed_at=timezone.now())


def quiet_hours_end(clinic, now=None) -> dt.datetime:
    """When the clinic's quiet hours end next (its local end time, today or tomorrow)."""
    now = now or timezone.now()
    _hours, _start, end = reminder_settings(clinic)
    local = now.astimezone(ZoneInfo(clinic.timezone or "UTC"))
    resume = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if resume <= local:
        resume += dt.timedelta(days=1)
    return resume


def sending_starts_at(clinic, now=None) -> dt.datetime | None:
    """When a campaign created `now` starts texting: None for at once, else the end of the clinic's quiet hours
    (in the clinic's time zone), which `campaign_batch_send` waits for."""
    now = now or timezone.now()
    return quiet_hours_end(clinic, now) if in_quiet_hours(clinic, now) else None


def seconds_until_quiet_hours_end(clinic, now=None) -> int:
    """How long a campaign waits when it meets the clinic's quiet hours (at least a minute)."""
    now = now or timezone.now()
    return max(60, int((quiet_hours_end(clinic, now) - now).total_seconds()))


def campaign_waiting(campaign, now=None) -> dict | None:
    """Why a sending campaign sends nothing right now, or None: `{"reason": "quietHours", "until": ...}` in the
    clinic's quiet hours, `{"reason": "rateLimit", "until": ...}` once this minute's allowance is spent (clinic or
    provider account), `{"reason": "notStarted", "until": None}` while the broker has not taken it (the outbox,
    config/sweeper.py). No query: the clinic is the campaign's, the allowance is in the cache."""
    now = now or timezone.now()
    if campaign.status != Campaign.Status.SENDING:
        return None
    if campaign.started_at is None:
        return {"reason": "notStarted", "until": None}
    clinic = campaign.clinic
    if in_quiet_hours(clinic, now):
        return {"reason": "quietHours", "until": quiet_hours_end(clinic, now)}
    account = provider_rate()
    if ((cache.get(_clinic_key(clinic, now)) or 0) >= send_rate(clinic)
            or (account and (cache.get(f"campaign-rate:provider:{_minute(now)}") or 0) >= account)):
        return {"reason": "rateLimit", "until": _window_start(now) + dt.timedelta(seconds=_window_seconds())}
    return None


PLACEHOLDER = re.compile(r"\{(\w+)\}")


def unknown_placeholders(message: str) -> list[str]:
    """Placeholders other than {name} and {clinic}: a typo would reach every patient verbatim."""
    return sorted({word for word in PLACEHOLDER.findall(message or "") if word not in ("name", "clinic")})
