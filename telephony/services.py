"""Writes of telephony: send and receive text messages, record provider status, schedule calls."""
import logging
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from clinics.models import Clinic
from config.providers import SMS

from .exceptions import (EmptyMessage, InvalidPhoneNumber, MessageDeliveryFailed, MissingConversationId, NoPhoneNumber,
                         ProviderError, ScheduledInPast)
from .models import Call, Message, phone_index
from clinics.phones import clinic_region, normalise_phone

logger = logging.getLogger(__name__)

# What an erased message body reads; not translated, since it is stored.
ERASED = "[erased]"


def queue_message(clinic, to, body, purpose="", channel=Message.Channel.SMS, content_sid="",
                  content_variables=None) -> Message:
    """Normalise `to` to E.164 and store the message as queued (nothing is sent yet).

    Raises InvalidPhoneNumber for a number that is not valid and EmptyMessage for an empty body.
    """
    phone = normalise_phone(to, clinic_region(clinic))
    if not (body or "").strip():
        raise EmptyMessage()
    return Message.objects.create(
        clinic=clinic, channel=channel, direction=Message.Direction.OUTBOUND, to_phone=phone,
        to_phone_index=phone_index(phone), body=body, status=Message.Status.QUEUED, purpose=purpose[:60],
        content_sid=content_sid or "", content_variables=content_variables or {},
    )


def deliver(message: Message) -> Message:
    """Hand a queued message to the configured SMS backend; store its id and status, or the failure.

    A message already handed over is returned untouched (idempotent). On a provider failure the row is marked
    failed with the reason and MessageDeliveryFailed is raised: the message is never lost.
    """
    with transaction.atomic():
        message = Message.objects.select_for_update().get(pk=message.pk)
        if message.status != Message.Status.QUEUED or message.provider_message_id:
            return message
        backend = SMS.backend()
        message.provider = backend.name
        try:
            provider_id = backend.send(message)
        except ProviderError as exc:
            message.status = Message.Status.FAILED
            message.error = exc.reason[:1000]
            message.save(update_fields=["provider", "status", "error", "updated_at"])
            logger.warning("Message %s failed at %s: %s", message.id, backend.name, exc.reason)
            failure = exc
        else:
            now = timezone.now()
            message.provider_message_id = provider_id
            message.status = backend.accepted_status
            message.sent_at = now
            if message.status == Message.Status.DELIVERED:
                message.delivered_at = now
            message.error = ""
            message.save(update_fields=["provider", "provider_message_id", "status", "sent_at", "delivered_at",
                                        "error", "updated_at"])
            return message
    raise MessageDeliveryFailed(message, failure.reason)


def send_sms(clinic, to, body, purpose="") -> Message:
    """Send an SMS now through the configured backend and return its Message row.

    Raises InvalidPhoneNumber (nothing stored) or MessageDeliveryFailed (row kept, status failed; a caller inside
    its own transaction that lets the error escape rolls the row back with it, so catch it there).
    """
    return deliver(queue_message(clinic, to, body, purpose, Message.Channel.SMS))


def send_whatsapp(clinic, to, body, purpose="", content_sid="", content_variables=None) -> Message:
    """As send_sms, over WhatsApp (Twilio addresses the number as `whatsapp:+E164`).

    With `content_sid` the provider sends that approved template filled with `content_variables`; `body` is the
    rendered text kept in the outbox.
    """
    return deliver(queue_message(clinic, to, body, purpose, Message.Channel.WHATSAPP, content_sid,
                                 content_variables))


def enqueue_sms(clinic, to, body, purpose="", channel=Message.Channel.SMS) -> Message:
    """Store the message as queued and let a Celery worker send it after the transaction commits."""
    from .tasks import send_sms_task

    message = queue_message(clinic, to, body, purpose, channel)
    transaction.on_commit(lambda: send_sms_task.delay(str(message.id)))
    return message


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


def record_provider_status(provider: str, provider_message_id: str, provider_status: str, error_code="",
                           error_message="") -> Message | None:
    """Apply a delivery report to the message it names; None when no message has that id."""
    status = TWILIO_STATUSES.get((provider_status or "").lower())
    with transaction.atomic():
        message = (Message.objects.select_for_update()
                   .filter(provider=provider, provider_message_id=provider_message_id).first())
        if message is None or status is None:
            return message
        if STATUS_RANK[status] < STATUS_RANK[message.status] or message.status == status:
            return message
        message.status = status
        fields = ["status", "updated_at"]
        if status == Message.Status.DELIVERED:
            message.delivered_at = timezone.now()
            fields.append("delivered_at")
        if status == Message.Status.FAILED:
            message.error = f"{provider_status} {error_code} {error_message}".strip()[:1000]
            fields.append("error")
        message.save(update_fields=fields)
        return message


def _clinic_for_inbound(to_e164: str, from_index: str):
    """The clinic whose number was texted, else the clinic that last wrote to this sender."""
    # Clinic numbers are stored in E.164, so one equality lookup finds the clinic that was texted.
    clinic = Clinic.objects.filter(phone=to_e164).order_by("created_at").first() if to_e164 else None
    if clinic is not None:
        return clinic
    last = (Message.objects.filter(to_phone_index=from_index, direction=Message.Direction.OUTBOUND,
                                   clinic__isnull=False)
            .select_related("clinic").order_by("-created_at").first())
    return last.clinic if last else None


def receive_message(provider: str, provider_message_id: str, from_phone: str, to_phone: str, body: str) -> Message:
    """Store an inbound message once per provider id: a replayed webhook returns the row already stored."""
    existing = Message.objects.filter(provider=provider, provider_message_id=provider_message_id).first()
    if existing is not None:
        return existing
    channel = Message.Channel.WHATSAPP if (from_phone or "").startswith("whatsapp:") else Message.Channel.SMS
    sender = _plain_phone(from_phone)
    recipient = _plain_phone(to_phone)
    sender_index = phone_index(sender)
    try:
        with transaction.atomic():
            return Message.objects.create(
                clinic=_clinic_for_inbound(recipient, sender_index), channel=channel,
                direction=Message.Direction.INBOUND, to_phone=recipient, to_phone_index=phone_index(recipient),
                from_phone=sender, from_phone_index=sender_index, body=body or "", status=Message.Status.RECEIVED,
                provider=provider, provider_message_id=provider_message_id, delivered_at=timezone.now(),
            )
    except IntegrityError:
        # The same webhook arrived twice at once; the other request stored it.
        return Message.objects.get(provider=provider, provider_message_id=provider_message_id)


def _plain_phone(value: str) -> str:
    try:
        return normalise_phone(value)
    except InvalidPhoneNumber:
        # Short codes and alphanumeric senders are not E.164; keep them as sent.
        return (value or "").removeprefix("whatsapp:")


def schedule_call(clinic, phone_number, scheduled_at=None, callback_of=None, agent_id="") -> Call:
    """Record an outbound call to place now (pending) or at `scheduled_at` (scheduled).

    The voice provider places it later; raises InvalidPhoneNumber or ScheduledInPast.
    """
    phone = normalise_phone(phone_number, clinic_region(clinic))
    # A minute of slack: "now" typed by a person is already a few seconds old when it arrives.
    if scheduled_at is not None and scheduled_at < timezone.now() - timedelta(minutes=1):
        raise ScheduledInPast()
    status = Call.Status.SCHEDULED if scheduled_at else Call.Status.PENDING
    return Call.objects.create(clinic=clinic, direction=Call.Direction.OUTBOUND, phone_number=phone,
                               phone_index=phone_index(phone), status=status, scheduled_at=scheduled_at,
                               callback_of=callback_of, agent_id=agent_id)


def request_callback(call: Call, scheduled_at=None) -> Call:
    """Record an outbound call back to the person of `call`, placed by the voice provider when it is due.

    Raises NoPhoneNumber when the original call has no number to call back.
    """
    if not call.phone_number:
        raise NoPhoneNumber()
    return schedule_call(call.clinic, call.phone_number, scheduled_at, callback_of=call, agent_id=call.agent_id)


def erase_contact(clinic, e164_index: str) -> dict:
    """Right to erasure: wipe the bodies, numbers and transcripts of every message and call with this phone.

    Takes the phone's blind index (`phone_index(e164)`); rows stay, so counts and statuses still add up.
    Returns how many messages and calls were wiped.
    """
    if not e164_index:
        return {"messages": 0, "calls": 0}
    messages = (Message.objects.filter(clinic=clinic)
                .filter(Q(to_phone_index=e164_index) | Q(from_phone_index=e164_index))
                .update(body=ERASED, to_phone="", from_phone="", to_phone_index="", from_phone_index=""))
    calls = Call.objects.filter(clinic=clinic, phone_index=e164_index).update(
        phone_number="", phone_index="", summary="", transcript=[], tool_calls=[], webhook_payload={},
        recording_path="")
    return {"messages": messages, "calls": calls}


def _conversation_fields(data: dict) -> dict:
    """Read a post-call payload in the seed's flat shape or in ElevenLabs' nested one (metadata, analysis)."""
    metadata = data.get("metadata") or {}
    analysis = data.get("analysis") or {}
    phone_call = metadata.get("phone_call") or {}
    transcript = data.get("transcript") or []
    tool_calls = data.get("tool_calls") or [
        call for turn in transcript if isinstance(turn, dict) for call in (turn.get("tool_calls") or [])]
    started = metadata.get("start_time_unix_secs")
    duration = data.get("duration_secs", metadata.get("call_duration_secs")) or 0
    fields = {
        "agent_id": str(data.get("agent_id") or "")[:100],
        "duration_secs": max(int(duration), 0),
        "call_successful": str(data.get("call_successful") or analysis.get("call_successful") or "")[:20],
        "summary": data.get("summary") or analysis.get("transcript_summary") or "",
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
    if started:
        fields["started_at"] = datetime.fromtimestamp(int(started), tz=dt_timezone.utc)
        fields["ended_at"] = fields["started_at"] + timedelta(seconds=fields["duration_secs"])
    number = data.get("end_user_id") or phone_call.get("external_number") or ""
    if number:
        try:
            fields["phone_number"] = normalise_phone(number)
            fields["phone_index"] = phone_index(fields["phone_number"])
        except InvalidPhoneNumber:
            pass
    return fields


def record_conversation(clinic, payload: dict) -> Call:
    """Store the voice agent's post-call report (`{"type": "post_call_transcription", "data": {...}}`).

    Idempotent by the conversation id within the clinic: a replayed report updates the same call.
    """
    data = payload.get("data") or {}
    conversation_id = str(data.get("conversation_id") or "")[:100]
    if not conversation_id:
        raise MissingConversationId()
    fields = {**_conversation_fields(data), "status": Call.Status.COMPLETED, "webhook_payload": payload}
    with transaction.atomic():
        call, _created = Call.objects.select_for_update().update_or_create(
            clinic=clinic, conversation_id=conversation_id, defaults=fields)
    return call
