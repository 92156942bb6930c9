"""Writes of telephony, one use case each: contacts, text messages (send, queue, receive, delivery reports),
call-backs, the voice agent's post-call reports and recordings, and the RGPD erasure of what a phone exchanged
with the clinic.

Every service is keyword-only, runs in one transaction, is audited where a person or an integration acts, and
raises domain errors (`telephony/exceptions.py`, `clinics.errors`) that each edge maps to its own answer.
"""
import base64
import binascii
import logging
import re
import time
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics.audit import record
from clinics.errors import DomainError, InvalidInput
from clinics.models import Clinic
from clinics.phones import InvalidPhoneNumber, normalise_clinic_phone, normalise_phone
from config.logging import scrub
from config.providers import SMS
from scheduling import patients as scheduling_patients
from scheduling import services as scheduling_services

from . import outbound_webhooks
from .exceptions import (CallNotFound, EmptyMessage, MessageDeliveryFailed, MissingConversationId, NoPhoneNumber,
                         ProviderError, RecordingNotFound, ScheduledInPast)
from .models import Call, EarlyDeliveryReport, Message, MessagingNumber, WebhookDelivery, phone_index
from .recordings import recording_link
from .signals import message_received

logger = logging.getLogger(__name__)

# What an erased message body reads; not translated, since it is stored.
ERASED = "[erased]"
# Bounds of what a message may carry, checked here so that every edge refuses the same input.
MAX_BODY_LENGTH = 4096
MAX_CONTENT_VARIABLES = 50
MAX_CONTENT_VARIABLE_KEY = 40
MAX_CONTENT_VARIABLE_VALUE = 1000
MAX_TAGS = 50
MAX_TAG_LENGTH = 40
# A call back is for the coming months, not a date typed with the wrong year.
MAX_SCHEDULE_AHEAD = timedelta(days=366)


# --- contacts -----------------------------------------------------------------------------------------------------

def contact_upsert(*, clinic, phone: str, name: str = "", email: str = "", tags=(), actor=None):
    """Add a contact or merge into the known one (docs/api/voice.md, Contacts). The known contact is the patient
    with this phone and name (a different name is another person sharing the phone, as families do), or, when no
    name is given, the only patient with this phone. Merging sets the e-mail and adds the tags.
    Returns (patient, created, changed fields).

    Raises InvalidPhoneNumber (naming `phone`) or InvalidInput for tags out of bounds; nothing is written then.
    """
    tags = _clean_tags(tags)
    with transaction.atomic():
        known = [] if (name or "").strip() else scheduling_patients.patients_with_phone(clinic=clinic, phone=phone)
        if len(known) == 1:
            patient, created = known[0], False
        else:
            patient, created = scheduling_services.patient_find_or_create(
                clinic=clinic, phone=phone, name=name, email=email, tags=tags, actor=actor)
        changed = []
        if not created:
            changed = scheduling_services.patient_merge_details(patient=patient, name=name, email=email, tags=tags,
                                                                actor=actor)
    return patient, created, changed


def _clean_tags(tags) -> list[str]:
    cleaned = []
    for tag in tags or ():
        text = str(tag).strip()
        if not text:
            continue
        if len(text) > MAX_TAG_LENGTH:
            raise InvalidInput.on("tags", _("A tag has at most %(n)s characters.") % {"n": MAX_TAG_LENGTH})
        if text not in cleaned:
            cleaned.append(text)
    if len(cleaned) > MAX_TAGS:
        raise InvalidInput.on("tags", _("At most %(n)s tags.") % {"n": MAX_TAGS})
    return cleaned


def contact_erase(*, clinic, phone_index_value: str, former=None) -> dict:
    """Right to erasure: wipe the bodies, numbers, template variables and transcripts of the clinic's messages and
    calls with this phone (its blind index), and every value naming or reaching the patient in the clinic's
    outgoing webhook payloads (`former`: the name, phone, e-mail and owner name the patient had); another clinic's
    rows stay as they are. Rows stay, so counts and statuses still add up. Returns how many rows were wiped."""
    # A phone is looked for without its "+", as payloads may carry it either way.
    needles = [value.lstrip("+") for value in (former or {}).values() if value and len(value.lstrip("+")) >= 3]
    counts = {"messages": 0, "calls": 0, "webhook_deliveries": 0}
    with transaction.atomic():
        if phone_index_value:
            counts["messages"] = (
                Message.objects.for_clinic(clinic)
                .filter(Q(to_phone_index=phone_index_value) | Q(from_phone_index=phone_index_value))
                .update(body=ERASED, to_phone="", from_phone="", to_phone_index="", from_phone_index="",
                        content_variables={}))
            erased_calls = Call.objects.for_clinic(clinic).filter(phone_index=phone_index_value)
            recordings = [path for path in erased_calls.values_list("recording_path", flat=True) if path]
            counts["calls"] = erased_calls.update(
                phone_number="", phone_index="", summary="", transcript=[], tool_calls=[], webhook_payload={},
                recording_path="")
            # The audio is the patient's voice: it goes with the rest, once the erasure is committed.
            transaction.on_commit(lambda: [default_storage.delete(path) for path in recordings])
        if needles:
            mentions = Q()
            for needle in needles:
                mentions |= Q(payload_text__icontains=needle)
            deliveries = (WebhookDelivery.objects.for_clinic(clinic)
                          .annotate(payload_text=Cast("payload", TextField())).filter(mentions))
            for delivery in deliveries:
                delivery.payload = _scrubbed(delivery.payload, needles)
                delivery.save(update_fields=["payload"])
                counts["webhook_deliveries"] += 1
    return counts


def _scrubbed(value, needles):
    """`value` (JSON) with every string that contains one of `needles` replaced by ERASED."""
    if isinstance(value, dict):
        return {key: _scrubbed(item, needles) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrubbed(item, needles) for item in value]
    if isinstance(value, str) and any(needle.casefold() in value.casefold() for needle in needles):
        return ERASED
    return value


# --- outbound messages ----------------------------------------------------------------------------------------

def _check_content_variables(content_variables) -> dict:
    variables = content_variables or {}
    if not isinstance(variables, dict) or len(variables) > MAX_CONTENT_VARIABLES:
        raise InvalidInput.on("variables", _("At most %(n)s variables.") % {"n": MAX_CONTENT_VARIABLES})
    cleaned = {}
    for key, value in variables.items():
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise InvalidInput.on("variables", _("Each variable is a short text."))
        key, value = str(key), str(value)
        if not key or len(key) > MAX_CONTENT_VARIABLE_KEY or len(value) > MAX_CONTENT_VARIABLE_VALUE:
            raise InvalidInput.on("variables", _("A variable name has at most %(key)s characters and its value at "
                                                 "most %(value)s.") % {"key": MAX_CONTENT_VARIABLE_KEY,
                                                                       "value": MAX_CONTENT_VARIABLE_VALUE})
        cleaned[key] = value
    return cleaned


def message_queue(*, clinic, to: str, body: str, purpose: str = "", channel=Message.Channel.SMS,
                  content_sid: str = "", content_variables=None, field: str = "to") -> Message:
    """Normalise `to` to E.164 and store the message as queued (nothing is sent yet).

    Raises InvalidPhoneNumber (naming `field`), EmptyMessage, or InvalidInput for a body or variables out of
    bounds; nothing is stored then.
    """
    phone = normalise_clinic_phone(clinic, to, field)
    if not (body or "").strip():
        raise EmptyMessage()
    if len(body) > MAX_BODY_LENGTH:
        raise InvalidInput.on("body", _("At most %(n)s characters.") % {"n": MAX_BODY_LENGTH})
    variables = _check_content_variables(content_variables)
    return Message.objects.create(
        clinic=clinic, channel=channel, direction=Message.Direction.OUTBOUND, to_phone=phone,
        to_phone_index=phone_index(phone), body=body, status=Message.Status.QUEUED, purpose=(purpose or "")[:60],
        content_sid=(content_sid or "")[:64], content_variables=variables,
    )


# How long a delivery run may hold its claim (status `sending`) before another run treats it as interrupted: longer
# than the provider's answer takes (the SDK's HTTP timeout), shorter than the sweeper's patience.
DELIVERY_CLAIM_SECONDS = 120


def message_deliver(*, message: Message) -> Message:
    """Hand a queued message to the configured SMS backend; store its id and status, or the failure.

    A claim (status `sending`, `attempted_at`) is committed before the provider is called, so a redelivered task
    (a worker killed mid-send) never texts the patient twice: a claim younger than DELIVERY_CLAIM_SECONDS is left
    to its run, an older one is marked failed with a reason to check it by hand (the provider may have taken it).
    A message already handed over is returned untouched (idempotent). On a provider failure the row is marked
    failed with the reason and MessageDeliveryFailed is raised: the outbox shows what was not sent.
    """
    now = timezone.now()
    with transaction.atomic():
        message.refresh_from_db(from_queryset=Message.objects.select_for_update())
        if message.provider_message_id:
            return message
        if message.status == Message.Status.SENDING:
            if message.attempted_at and message.attempted_at > now - timedelta(seconds=DELIVERY_CLAIM_SECONDS):
                return message
            message.status = Message.Status.FAILED
            message.error = _("Delivery was interrupted while the provider was being called: it may have been "
                              "sent. Check before sending it again.")
            message.save(update_fields=["status", "error", "updated_at"])
            logger.warning("Message %s: delivery interrupted at %s, marked failed for review", message.id,
                           message.provider)
            return message
        if message.status != Message.Status.QUEUED:
            return message
        backend = SMS.backend()
        message.provider, message.status, message.attempted_at = backend.name, Message.Status.SENDING, now
        message.save(update_fields=["provider", "status", "attempted_at", "updated_at"])
    # The claim is committed (unless the caller holds a transaction of its own, message_send): a run that dies in
    # the provider call leaves `sending`, never `queued`.
    try:
        provider_id = backend.send(message)
    except ProviderError as exc:
        message.status = Message.Status.FAILED
        # A provider's reason may quote the number ("The 'To' number +351... is not valid"): the column is
        # not encrypted, so it keeps the reason without the person.
        message.error = scrub(exc.reason)[:1000]
        message.save(update_fields=["status", "error", "updated_at"])
        logger.warning("Message %s failed at %s: %s", message.id, backend.name, exc.reason)
        raise MessageDeliveryFailed(message, exc.reason) from None
    now = timezone.now()
    message.provider_message_id = provider_id
    message.status = backend.accepted_status
    message.sent_at = now
    if message.status == Message.Status.DELIVERED:
        message.delivered_at = now
    message.error = ""
    message.save(update_fields=["provider_message_id", "status", "sent_at", "delivered_at", "error", "updated_at"])
    if early_reports_apply(provider_message_ids=[provider_id]):
        message.refresh_from_db(fields=["status", "delivered_at", "error"])
    return message


def message_send(*, clinic, to: str, body: str, channel=Message.Channel.SMS, purpose: str = "",
                 content_sid: str = "", content_variables=None, actor=None, field: str = "to") -> Message:
    """Send an SMS or WhatsApp message now through the configured backend and return its row; audited once the
    provider took it.

    Raises InvalidPhoneNumber, EmptyMessage or InvalidInput (nothing stored), or MessageDeliveryFailed (the row is
    kept, marked failed with the reason, and no success is audited; a caller inside its own transaction that
    lets the error escape rolls the row back with it).
    """
    message = message_queue(clinic=clinic, to=to, body=body, purpose=purpose, channel=channel,
                            content_sid=content_sid, content_variables=content_variables, field=field)
    message = message_deliver(message=message)
    if actor is not None:
        record(actor, "message.sent", "message", str(message.id), clinic=clinic, channel=message.channel,
               purpose=message.purpose)
    return message


def message_enqueue(*, clinic, to: str, body: str, purpose: str = "", channel=Message.Channel.SMS) -> Message:
    """Store the message as queued; a Celery worker sends it once the surrounding transaction commits. With the
    broker down the message stays queued without `queued_at` (the outbox) and config/sweeper.py publishes it later:
    the caller's request still succeeds."""
    # Imported here: tasks.py imports this module (the task calls message_deliver).
    from .tasks import queue_delivery

    message = message_queue(clinic=clinic, to=to, body=body, purpose=purpose, channel=channel)
    message_id = str(message.id)
    transaction.on_commit(lambda: queue_delivery([message_id]))
    return message


def enqueue_sms(clinic, to, body, purpose="", channel=Message.Channel.SMS) -> Message:
    """The positional form scheduling's public booking page still calls; see `message_enqueue`."""
    return message_enqueue(clinic=clinic, to=to, body=body, purpose=purpose, channel=channel)


def _render_template(body: str, variables: dict) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda match: variables.get(match.group(1), match.group(0)), body)


def whatsapp_template_send(*, clinic, to: str, template_name: str = "", template_sid: str = "", variables=None,
                           body: str = "", actor=None) -> Message:
    """Send an approved WhatsApp template (a Twilio Content SID filled with `variables`), or, without a SID, the
    template's text rendered with them (docs/api/voice.md, WhatsApp). The outbox keeps the rendered text."""
    if not template_name and not template_sid:
        raise InvalidInput.on("templateName", _("Give templateName or templateSid."))
    if not template_sid and not body:
        raise InvalidInput.on("body", _("Without templateSid the template's body is required."))
    variables = _check_content_variables(variables)
    text = _render_template(body, variables) if body else (
        f"[{template_name or template_sid}] "
        + ", ".join(f"{key}: {value}" for key, value in sorted(variables.items()))).strip()
    return message_send(clinic=clinic, to=to, body=text, channel=Message.Channel.WHATSAPP,
                        purpose=f"whatsapp_template:{template_name or template_sid}", content_sid=template_sid,
                        content_variables=variables, actor=actor)


# --- delivery reports and inbound messages ------------------------------------------------------------------------

# Twilio's message statuses, folded into ours; the rank keeps late callbacks from moving a message backwards.
TWILIO_STATUSES = {
    "accepted": Message.Status.SENT, "scheduled": Message.Status.SENT, "queued": Message.Status.SENT,
    "sending": Message.Status.SENT, "sent": Message.Status.SENT,
    "delivered": Message.Status.DELIVERED, "read": Message.Status.DELIVERED,
    "undelivered": Message.Status.FAILED, "failed": Message.Status.FAILED, "canceled": Message.Status.FAILED,
    "receiving": Message.Status.RECEIVED, "received": Message.Status.RECEIVED,
}
STATUS_RANK = {Message.Status.QUEUED: 0, Message.Status.SENT: 1, Message.Status.DELIVERED: 2,
               Message.Status.FAILED: 2, Message.Status.RECEIVED: 2}


def message_status_record(*, provider: str, provider_message_id: str, provider_status: str, error_code: str = "",
                          error_message: str = "") -> Message | None:
    """Apply a delivery report to the message it names. A report for an id that no message holds yet (a bulk
    batch records its ids once the whole batch was handed over, and the provider may report first) is kept as an
    EarlyDeliveryReport and applied when the id is recorded (`early_reports_apply`); None then.

    The provider's id is the only key a report carries, so this lookup is across clinics by design.
    """
    status = TWILIO_STATUSES.get((provider_status or "").lower())
    provider_message_id = provider_message_id[:64]
    with transaction.atomic():
        message = (Message.objects.select_for_update()
                   .filter(provider=provider, provider_message_id=provider_message_id).first())
        if status is None:
            return message
        if message is None:
            EarlyDeliveryReport.objects.get_or_create(
                provider=provider, provider_message_id=provider_message_id,
                provider_status=provider_status.lower()[:40],
                defaults={"error_code": error_code[:40], "error_message": scrub(error_message)[:500]})
            return None
        _status_apply(message, status, provider_status, error_code, error_message)
        return message


def _status_apply(message: Message, status: str, provider_status: str, error_code: str, error_message: str):
    """Move a locked message's status forward (never backwards, never twice)."""
    if STATUS_RANK[status] < STATUS_RANK[message.status] or message.status == status:
        return
    message.status = status
    fields = ["status", "updated_at"]
    if status == Message.Status.DELIVERED:
        message.delivered_at = timezone.now()
        fields.append("delivered_at")
    if status == Message.Status.FAILED:
        message.error = f"{provider_status} {error_code} {error_message}".strip()[:1000]
        fields.append("error")
    message.save(update_fields=fields)


# How long a delivery report waits for its message before the sweeper drops it (a message of another system
# sharing the provider account never comes).
EARLY_REPORT_DAYS = 7


def early_reports_apply(*, provider_message_ids=None) -> int:
    """Apply the kept early delivery reports whose message now holds their provider id (all of them, or those of
    these ids), in status order, and drop them; the count applied. Called where ids are recorded and by the
    sweeper (which catches a report stored while its message's id was being committed)."""
    reports = EarlyDeliveryReport.objects.all()
    if provider_message_ids is not None:
        ids = [value for value in provider_message_ids if value]
        if not ids:
            return 0
        reports = reports.filter(provider_message_id__in=ids)
    applied = 0
    for report in sorted(reports, key=lambda report: STATUS_RANK.get(TWILIO_STATUSES.get(report.provider_status), 0)):
        with transaction.atomic():
            message = (Message.objects.select_for_update()
                       .filter(provider=report.provider, provider_message_id=report.provider_message_id).first())
            if message is None:
                continue
            _status_apply(message, TWILIO_STATUSES[report.provider_status], report.provider_status,
                          report.error_code, report.error_message)
            report.delete()
            applied += 1
    return applied


def early_reports_purge(*, now) -> int:
    """Drop the reports no message claimed within EARLY_REPORT_DAYS; the count dropped."""
    deleted, _ = EarlyDeliveryReport.objects.filter(received_at__lt=now - timedelta(days=EARLY_REPORT_DAYS)).delete()
    return deleted


# A reply to the platform's shared sending number belongs to the clinic that wrote to the sender within this window.
REPLY_WINDOW = timedelta(days=14)


def _clinic_for_inbound(to_e164: str, from_index: str):
    """The clinic whose VERIFIED messaging number was texted (`telephony.numbers`). Else, only when the text went
    to the platform's own shared sending number (the SMS backend's `shared_numbers`), the one clinic that wrote to
    this sender from it in the last REPLY_WINDOW; when two or more clinics did, nobody can tell whose patient
    answers, so the message stays unassigned (a clinic writing to another's patient must not capture the replies).
    The clinic's free-text phone never routes: it is neither unique nor proved."""
    if not to_e164:
        return None
    # A verified number belongs to one clinic (database constraint), so one equality lookup finds it.
    number = (MessagingNumber.objects.filter(phone=to_e164, status=MessagingNumber.Status.VERIFIED)
              .select_related("clinic").first())
    if number is not None:
        return number.clinic
    if to_e164 not in SMS.backend().shared_numbers():
        return None
    # An outbound message always has a clinic (constraint `message_outbound_has_clinic`).
    writers = list(Message.objects.filter(to_phone_index=from_index, direction=Message.Direction.OUTBOUND,
                                          created_at__gte=timezone.now() - REPLY_WINDOW)
                   .order_by().values_list("clinic_id", flat=True).distinct()[:2])
    if len(writers) != 1:
        if writers:
            logger.info("An inbound message to the shared number stays unassigned: several clinics wrote to the "
                        "sender recently")
        return None
    return Clinic.objects.get(pk=writers[0])


def message_receive(*, provider: str, provider_message_id: str, from_phone: str, to_phone: str,
                    body: str) -> Message:
    """Store an inbound message once per provider id and let the apps above react (`message_received`, e.g. a
    reminder's SIM/NAO), in one transaction: a replayed webhook returns the row already stored. An unexpected
    failure of a reaction stores nothing (the provider retries); a refused one keeps the message."""
    provider_message_id = (provider_message_id or "")[:64]
    # The provider's id is the only key an inbound webhook carries; the clinic is found from the numbers below.
    existing = Message.objects.filter(provider=provider, provider_message_id=provider_message_id).first()
    if existing is not None:
        return existing
    channel = Message.Channel.WHATSAPP if (from_phone or "").startswith("whatsapp:") else Message.Channel.SMS
    sender = _plain_phone(from_phone)
    recipient = _plain_phone(to_phone)
    sender_index = phone_index(sender)
    try:
        with transaction.atomic():
            message = Message.objects.create(
                clinic=_clinic_for_inbound(recipient, sender_index), channel=channel,
                direction=Message.Direction.INBOUND, to_phone=recipient, to_phone_index=phone_index(recipient),
                from_phone=sender, from_phone_index=sender_index, body=body or "", status=Message.Status.RECEIVED,
                provider=provider, provider_message_id=provider_message_id, delivered_at=timezone.now(),
            )
            if message.clinic_id:
                _announce_inbound(message)
            return message
    except IntegrityError:
        # The same webhook arrived twice at once; the other request stored it.
        return Message.objects.get(provider=provider, provider_message_id=provider_message_id)


def _announce_inbound(message: Message) -> None:
    """Let the apps above react to an inbound message; a reaction they refuse (a DomainError) never loses the
    message, which the staff still read in the outbox."""
    try:
        with transaction.atomic():
            message_received.send(sender=Message, message=message)
    except DomainError as refused:
        logger.warning("Inbound message %s: a reaction was refused: %s", message.id, refused)


def _plain_phone(value: str) -> str:
    try:
        return normalise_phone(value)
    except InvalidPhoneNumber:
        # Short codes and alphanumeric senders are not E.164; keep them as sent.
        return (value or "").removeprefix("whatsapp:")[:40]


# --- calls --------------------------------------------------------------------------------------------------------

def call_request_callback(*, clinic, call: Call | None = None, phone_number: str = "", scheduled_at=None,
                          actor=None) -> Call:
    """Record an outbound call back to a person, placed by the voice provider now (pending) or at
    `scheduled_at` (scheduled): POST /v1/calls/{id}/callback names the call to return (docs/api/clinic-v1.md,
    Calls), POST /api/calls the number (docs/api/dashboard.md, Calls), which returns the clinic's last inbound
    call from it when there is one. Audited.

    Raises CallNotFound (another clinic's call), NoPhoneNumber, InvalidPhoneNumber, ScheduledInPast or
    InvalidInput (more than a year ahead); nothing is stored then.
    """
    if call is not None:
        if not call.belongs_to(clinic):
            raise CallNotFound()
        if not call.phone_number:
            raise NoPhoneNumber()
        phone, origin = call.phone_number, call
    else:
        phone = normalise_clinic_phone(clinic, phone_number, "phone_number")
        origin = (Call.objects.for_clinic(clinic)
                  .filter(phone_index=phone_index(phone), direction=Call.Direction.INBOUND)
                  .order_by("-created_at", "-id").first())
    # A minute of slack: "now" typed by a person is already a few seconds old when it arrives.
    if scheduled_at is not None and scheduled_at < timezone.now() - timedelta(minutes=1):
        raise ScheduledInPast()
    if scheduled_at is not None and scheduled_at > timezone.now() + MAX_SCHEDULE_AHEAD:
        raise InvalidInput.on("scheduled_at", _("At most a year ahead."))
    status = Call.Status.SCHEDULED if scheduled_at else Call.Status.PENDING
    with transaction.atomic():
        callback = Call.objects.create(
            clinic=clinic, direction=Call.Direction.OUTBOUND, phone_number=phone, phone_index=phone_index(phone),
            status=status, scheduled_at=scheduled_at, callback_of=origin,
            agent_id=origin.agent_id if origin is not None else "")
        record(actor, "call.callback_requested", "call", str(callback.id), clinic=clinic,
               callback_of=str(origin.id) if origin is not None else None)
        _queue_dial(callback)
    return callback


def _queue_dial(call: Call) -> None:
    """Once the call back is stored, the `voice` worker places it: now, or at its scheduled time."""
    # Imported here: tasks.py imports this module.
    from .tasks import place_call_task

    eta = call.scheduled_at if call.status == Call.Status.SCHEDULED else None
    transaction.on_commit(lambda: place_call_task.apply_async(args=(str(call.id),), eta=eta))


# A provider's status reports (Twilio's vocabulary, which ElevenLabs relays): the call's status each one leaves,
# and its rank, since reports only move a call forward; one arriving late or twice changes nothing.
PROVIDER_CALL_STATUSES = {
    "queued": (Call.Status.QUEUED, 1),
    "ringing": (Call.Status.RINGING, 2),
    "in-progress": (Call.Status.IN_PROGRESS, 3),
    "completed": (Call.Status.COMPLETED, 4),
    "no-answer": (Call.Status.NO_ANSWER, 4),
    "busy": (Call.Status.FAILED, 4),
    "failed": (Call.Status.FAILED, 4),
    "canceled": (Call.Status.FAILED, 4),
}
STATUS_EVENTS_KEY = "status_events"


def call_status_report(*, call_id, provider_status: str) -> Call | None:
    """Apply the voice provider's report that a placed call is `provider_status`: move the call's status, keep the
    report in the call's status events (in order, `webhook_payload["status_events"]`), audit it and tell the
    clinic's subscribed endpoints (`conversation.status`, docs/api/voice.md, Webhooks).

    A report for an unknown call, or one that does not move the call forward (late, repeated, after the end),
    changes nothing. Returns the call, or None when there is none.
    """
    if provider_status not in PROVIDER_CALL_STATUSES:
        raise InvalidInput.on("status", _("Unknown call status."))
    status, rank = PROVIDER_CALL_STATUSES[provider_status]
    with transaction.atomic():
        call = Call.objects.select_for_update().filter(pk=call_id).first()
        if call is None:
            return None
        payload = call.webhook_payload if isinstance(call.webhook_payload, dict) else {}
        events = list(payload.get(STATUS_EVENTS_KEY) or [])
        last_rank = max((PROVIDER_CALL_STATUSES.get(e.get("status"), (None, 0))[1] for e in events), default=0)
        if rank <= last_rank or call.status in Call.ENDED_STATUSES:
            return call
        now = timezone.now()
        events.append({"status": provider_status, "at": now.isoformat()})
        call.webhook_payload = {**payload, STATUS_EVENTS_KEY: events}
        call.status = status
        fields = ["webhook_payload", "status"]
        if provider_status == "in-progress":
            call.started_at = now
            fields.append("started_at")
        if rank == 4:
            call.ended_at = now
            fields.append("ended_at")
            if call.started_at and status == Call.Status.COMPLETED:
                call.duration_secs = max(int((now - call.started_at).total_seconds()), 0)
                fields.append("duration_secs")
        call.save(update_fields=fields)
        record(None, "call.status", "call", str(call.id), clinic=call.clinic, status=call.status,
               provider_status=provider_status)
        outbound_webhooks.call_status_changed(call, provider_status=provider_status)
    return call


def _conversation_fields(data: dict) -> dict:
    """Read a post-call payload in the flat shape of docs/api/dashboard.md or in ElevenLabs' nested one."""
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    analysis = data.get("analysis") if isinstance(data.get("analysis"), dict) else {}
    phone_call = metadata.get("phone_call") if isinstance(metadata.get("phone_call"), dict) else {}
    transcript = data.get("transcript") if isinstance(data.get("transcript"), list) else []
    tool_calls = data.get("tool_calls") if isinstance(data.get("tool_calls"), list) else [
        call for turn in transcript if isinstance(turn, dict) for call in (turn.get("tool_calls") or [])]
    started = metadata.get("start_time_unix_secs")
    duration = data.get("duration_secs", metadata.get("call_duration_secs")) or 0
    try:
        duration = max(int(duration), 0)
    except (TypeError, ValueError):
        duration = 0
    fields = {
        "agent_id": str(data.get("agent_id") or "")[:100],
        "duration_secs": min(duration, 2_147_483_647),
        "call_successful": str(data.get("call_successful") or analysis.get("call_successful") or "")[:20],
        "summary": str(data.get("summary") or analysis.get("transcript_summary") or ""),
        "title": str(data.get("title") or analysis.get("call_summary_title") or "")[:200],
        "sentiment": str(data.get("sentiment") or "")[:20],
        "intent": str(data.get("intent") or "")[:40],
        "transcript": transcript,
        "tool_calls": tool_calls,
        # The agent books through its book-appointment tool; the flat shape may say so outright.
        "appointment_booked": bool(data.get("appointment_booked")) or any(
            "book" in str(call.get("tool_name") or call.get("name") or "") for call in tool_calls
            if isinstance(call, dict)),
        "direction": (Call.Direction.OUTBOUND if (phone_call.get("direction") or data.get("direction")) == "outbound"
                      else Call.Direction.INBOUND),
    }
    try:
        if started:
            fields["started_at"] = datetime.fromtimestamp(int(started), tz=dt_timezone.utc)
            fields["ended_at"] = fields["started_at"] + timedelta(seconds=fields["duration_secs"])
    except (TypeError, ValueError, OverflowError, OSError):
        fields.pop("started_at", None)
    number = str(data.get("end_user_id") or phone_call.get("external_number") or "")
    if number:
        try:
            fields["phone_number"] = normalise_phone(number)
            fields["phone_index"] = phone_index(fields["phone_number"])
        except InvalidPhoneNumber:
            pass
    return fields


def conversation_record(*, clinic, payload: dict, agent_id: str = "") -> Call:
    """Store the voice agent's post-call report (`{"type": "post_call_transcription", "data": {...}}`) as the
    clinic's completed call and queue its webhooks out, in one transaction (docs/api/voice.md, Webhooks).

    Idempotent by the conversation id within the clinic: a replayed report updates the same call. `agent_id` is
    our id of the agent the report came from (the report names the provider's). Raises MissingConversationId.
    """
    data = payload.get("data") or {}
    conversation_id = str(data.get("conversation_id") or "")[:100]
    if not conversation_id:
        raise MissingConversationId()
    fields = {**_conversation_fields(data), "status": Call.Status.COMPLETED, "webhook_payload": payload}
    if agent_id:
        fields["agent_id"] = agent_id
    with transaction.atomic():
        call, _created = Call.objects.select_for_update().update_or_create(
            clinic=clinic, conversation_id=conversation_id, defaults=fields)
        analysis = data.get("analysis") if isinstance(data.get("analysis"), dict) else {}
        outbound_webhooks.conversation_completed(call, analysis)
    return call


# --- call recordings (docs/api/clinic-v1.md, Calls; docs/api/public.md, ElevenLabs) ------------------------------

def _decoded_audio(encoded) -> bytes:
    if not isinstance(encoded, str) or not encoded:
        raise InvalidInput.on("full_audio", _("data.full_audio is required."))
    try:
        audio = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput.on("full_audio", _("data.full_audio is not base64."))
    if not audio:
        raise InvalidInput.on("full_audio", _("data.full_audio is required."))
    return audio


def call_recording_store(*, clinic, payload: dict, agent_id: str = "") -> Call:
    """Store the voice agent's `post_call_audio` event (base64 MP3 in `data.full_audio`) in the default storage as
    the recording of the clinic's call with that conversation id, creating the call when the audio comes before
    the transcription report. Idempotent: a replay replaces the file. Raises MissingConversationId, InvalidInput."""
    data = payload.get("data") or {}
    conversation_id = str(data.get("conversation_id") or "")[:100]
    if not conversation_id:
        raise MissingConversationId()
    audio = _decoded_audio(data.get("full_audio"))
    with transaction.atomic():
        call, _created = Call.objects.select_for_update().get_or_create(
            clinic=clinic, conversation_id=conversation_id,
            defaults={"status": Call.Status.COMPLETED, "agent_id": agent_id})
        name = f"recordings/{clinic.id}/{call.id}.mp3"
        if call.recording_path and call.recording_path != name:
            default_storage.delete(call.recording_path)
        # A replay overwrites: the filesystem storage would otherwise save beside it under another name.
        default_storage.delete(name)
        call.recording_path = default_storage.save(name, ContentFile(audio))
        call.save(update_fields=["recording_path"])
        record(None, "call.recording_stored", "call", str(call.id), clinic=clinic, size=len(audio))
    return call


def call_recording_link(*, clinic, call: Call, actor=None):
    """A link to the clinic's call recording valid for 24 hours, and when it stops working; the read is audited.
    Raises RecordingNotFound when the call has none."""
    if call.clinic_id != clinic.id or not call.recording_path:
        raise RecordingNotFound()
    url, expires_at = recording_link(call)
    record(actor, "call.recording_read", "call", str(call.id), clinic=clinic)
    return url, expires_at


def _outbound_rows(clinic, items, channel, **fields) -> tuple[list, list]:
    """Unsaved outbound rows for (to, body, purpose) items, and per item the row or the domain error refusing it."""
    outcomes, rows = [], []
    for to, body, purpose in items:
        try:
            phone = normalise_clinic_phone(clinic, to, "to")
            if not (body or "").strip():
                raise EmptyMessage()
            if len(body) > MAX_BODY_LENGTH:
                raise InvalidInput.on("body", _("At most %(n)s characters.") % {"n": MAX_BODY_LENGTH})
        except DomainError as error:
            outcomes.append(error)
            continue
        row = Message(clinic=clinic, channel=channel, direction=Message.Direction.OUTBOUND, to_phone=phone,
                      to_phone_index=phone_index(phone), body=body, purpose=(purpose or "")[:60], **fields)
        outcomes.append(row)
        rows.append(row)
    return outcomes, rows


def message_enqueue_many(*, clinic, items, channel=Message.Channel.SMS) -> list:
    """Store many outbound messages as queued with one INSERT, and queue each one's delivery (the `send_sms` task)
    once the surrounding transaction commits; a bulk sender calls it inside its own transaction.

    `items` is a sequence of (to, body, purpose). Returns, in the same order, the stored Message or the domain
    error that refused that item (InvalidPhoneNumber, EmptyMessage, InvalidInput for a body too long); a refused
    item stores nothing and does not stop the others.
    """
    # Imported here: tasks.py imports this module (the task calls message_deliver).
    from .tasks import queue_delivery

    outcomes, rows = _outbound_rows(clinic, items, channel, status=Message.Status.QUEUED)
    if rows:
        Message.objects.bulk_create(rows)
        ids = [str(row.id) for row in rows]
        transaction.on_commit(lambda: queue_delivery(ids))
    return outcomes


def message_claim_many(*, clinic, items, channel=Message.Channel.SMS, now=None) -> list:
    """Store many outbound messages with one INSERT, already claimed for delivery (status `sending`, `attempted_at`,
    the backend named): a bulk sender (campaigns) stores them in its own transaction, then hands them to the
    provider itself with `message_hand_over_many` and `message_outcomes_record`; no `send_sms` task is queued.
    A run that dies in between leaves the claims, which config/sweeper.py marks failed for review after
    DELIVERY_CLAIM_SECONDS (`message_deliver`): never sent twice. `items` and the result as `message_enqueue_many`.
    """
    now = now or timezone.now()
    outcomes, rows = _outbound_rows(clinic, items, channel, status=Message.Status.SENDING,
                                    provider=SMS.backend().name, attempted_at=now, created_at=now)
    if rows:
        Message.objects.bulk_create(rows)
    return outcomes


# A batch stops calling the provider this long after its claim: what is left goes back to the outbox (queued, for
# the `send_sms` task) well before the sweeper would take the claims for interrupted runs.
HAND_OVER_SECONDS = DELIVERY_CLAIM_SECONDS // 2


def message_hand_over_many(*, messages) -> list[Message]:
    """Hand messages claimed by `message_claim_many` (and committed) to the SMS backend as one batch; nothing is
    written here, each message says its outcome in memory: `accepted_status` with the provider's id, failed with
    the reason, or queued again (not sent) when HAND_OVER_SECONDS ran out first. Record them at once with
    `message_outcomes_record`. Called outside any transaction, after the claims committed."""
    if not messages:
        return messages
    backend = SMS.backend()
    claimed_at = min(message.attempted_at for message in messages)
    deadline = time.monotonic() + max(HAND_OVER_SECONDS - (timezone.now() - claimed_at).total_seconds(), 0)
    results = backend.send_many(messages, deadline=deadline)
    now = timezone.now()
    for message, result in zip(messages, results):
        if result is None:
            message.status, message.attempted_at, message.queued_at = Message.Status.QUEUED, None, None
        elif isinstance(result, ProviderError):
            # A provider's reason may quote the number: the column is not encrypted (as in message_deliver).
            message.status, message.error = Message.Status.FAILED, scrub(result.reason)[:1000]
            logger.warning("Message %s failed at %s: %s", message.id, backend.name, result.reason)
        else:
            message.provider_message_id, message.status, message.sent_at = result, backend.accepted_status, now
            message.delivered_at = now if message.status == Message.Status.DELIVERED else None
            message.error = ""
    return messages


# The outcome of every message of a batch in one statement (Django's bulk_update builds a CASE per column and row,
# which for 500 rows cost more than the rest of the batch).
RECORD_OUTCOMES_SQL = """
UPDATE telephony_message AS message
SET status = outcome.status, provider_message_id = outcome.provider_message_id, error = outcome.error,
    sent_at = outcome.sent_at, delivered_at = outcome.delivered_at, attempted_at = outcome.attempted_at,
    queued_at = outcome.queued_at, updated_at = %s
FROM unnest(%s::uuid[], %s::varchar[], %s::varchar[], %s::text[], %s::timestamptz[], %s::timestamptz[],
            %s::timestamptz[], %s::timestamptz[])
     AS outcome(id, status, provider_message_id, error, sent_at, delivered_at, attempted_at, queued_at)
WHERE message.id = outcome.id AND message.clinic_id = %s
"""


def message_outcomes_record(*, clinic, messages) -> None:
    """Store what `message_hand_over_many` says of each message of `clinic`, with one UPDATE: run it in the bulk
    sender's transaction that records its own rows too. A message queued again goes to the outbox (`send_sms`, via
    config/sweeper.py)."""
    if not messages:
        return
    columns = [[message.id for message in messages]] + [
        [getattr(message, field) for message in messages]
        for field in ("status", "provider_message_id", "error", "sent_at", "delivered_at", "attempted_at",
                      "queued_at")]
    with connection.cursor() as cursor:
        cursor.execute(RECORD_OUTCOMES_SQL, [timezone.now(), *columns, clinic.pk])
    early_reports_apply(provider_message_ids=[message.provider_message_id for message in messages])
