"""Messages (the SMS/WhatsApp outbox and log) and calls (the voice agent's conversations).

Phone numbers and message bodies are personal data: stored encrypted, found through a keyed blind index.
"""
import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinics.crypto import EncryptedTextField, blind_index
from clinics.tenancy import ClinicOwned

PHONE_INDEX_PURPOSE = "phone"


def phone_index(e164: str) -> str:
    """The blind index of an E.164 number, shared with every app that looks people up by phone."""
    return blind_index(e164, PHONE_INDEX_PURPOSE) if e164 else ""


class Message(ClinicOwned):
    """One SMS or WhatsApp message, outbound (the outbox) or inbound."""

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        WHATSAPP = "whatsapp", _("WhatsApp")

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", _("Outbound")
        INBOUND = "inbound", _("Inbound")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        # Claimed by a delivery run and being handed to the provider (`attempted_at` says since when).
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        RECEIVED = "received", _("Received")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Null only for an inbound message that matched no clinic: kept so that nothing a patient sent is lost.
    clinic = models.ForeignKey("clinics.Clinic", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="messages")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.SMS)
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.OUTBOUND)
    to_phone = EncryptedTextField()
    to_phone_index = models.CharField(max_length=32, db_index=True)
    from_phone = EncryptedTextField(blank=True, default="")
    from_phone_index = models.CharField(max_length=32, blank=True, default="", db_index=True)
    body = EncryptedTextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    provider = models.CharField(max_length=30, blank=True, default="")
    provider_message_id = models.CharField(max_length=64, blank=True, default="")
    error = models.TextField(blank=True, default="")
    purpose = models.CharField(max_length=60, blank=True, default="")
    # A WhatsApp template (Twilio Content API): its SID and variables; `body` then holds the rendered text.
    content_sid = models.CharField(max_length=64, blank=True, default="")
    content_variables = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # The outbox marker: set when the broker took the `telephony.send_sms` task; a queued message without it was
    # stored while the broker was down, and config/sweeper.py publishes it when the broker is back.
    queued_at = models.DateTimeField(null=True, blank=True)
    # When a delivery run claimed the message (status `sending`), committed before the provider is called.
    attempted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["clinic", "-created_at"], name="message_clinic_created_idx"),
                   models.Index(fields=["created_at"], condition=models.Q(status="queued", queued_at__isnull=True),
                                name="message_unqueued_idx")]
        constraints = [
            # A replayed provider webhook finds the row it already created instead of adding one.
            models.UniqueConstraint(fields=["provider", "provider_message_id"],
                                    condition=~models.Q(provider_message_id=""),
                                    name="message_unique_provider_id"),
            # Replies to the shared number are routed by who wrote to the sender: every outbound row names a clinic.
            models.CheckConstraint(condition=models.Q(direction="inbound") | models.Q(clinic__isnull=False),
                                   name="message_outbound_has_clinic"),
        ]

    def __str__(self):
        return f"{self.get_direction_display()} {self.get_channel_display()} {self.id} ({self.status})"

    @property
    def counterpart_phone(self) -> str:
        return self.to_phone if self.direction == self.Direction.OUTBOUND else self.from_phone


class EarlyDeliveryReport(models.Model):
    """A provider's delivery report that arrived before the message it names was recorded with the provider's id
    (a bulk batch records its ids after the whole batch was handed over; a report can beat it). Kept here, then
    applied by `telephony.services.early_reports_apply` once the id is recorded, so no report is lost. The report
    names no clinic (its message's is not known yet) and holds no person: the provider's id, status and error code.
    Reports no message ever claims are purged by the sweeper after EARLY_REPORT_DAYS."""

    provider = models.CharField(max_length=30)
    provider_message_id = models.CharField(max_length=64)
    provider_status = models.CharField(max_length=40)
    error_code = models.CharField(max_length=40, blank=True, default="")
    error_message = models.CharField(max_length=500, blank=True, default="")
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "provider_message_id", "provider_status"],
                                               name="early_report_unique")]

    def __str__(self):
        return f"{self.provider} {self.provider_message_id} {self.provider_status}"


class MessagingNumber(ClinicOwned):
    """A phone number a clinic receives SMS/WhatsApp on. Inbound messages are routed by a VERIFIED number only
    (`telephony.services._clinic_for_inbound`): the clinic's free-text phone is neither unique nor proved, and a
    clinic typing another's number would otherwise read its patients' replies.

    A number is verified by provider ownership (the messaging account holds it, e.g. Twilio's
    IncomingPhoneNumbers), by a code sent to it and typed back, or by `seed_demo` for the demo's local number.
    Among verified numbers a number belongs to one clinic (database constraint)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending verification")
        VERIFIED = "verified", _("Verified")

    class Method(models.TextChoices):
        PROVIDER = "provider", _("Held by the messaging provider account")
        CODE = "code", _("Code sent to the number")
        SEED = "seed", _("Demo data")

    CODE_LIFETIME_SECONDS = 15 * 60
    CODE_MAX_ATTEMPTS = 5

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="messaging_numbers")
    # A clinic's business line in E.164 (not a patient's number: stored in clear so it can be routed on).
    phone = models.CharField(max_length=20)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    verified_by = models.CharField(max_length=10, choices=Method.choices, blank=True, default="")
    verified_at = models.DateTimeField(null=True, blank=True)
    code_digest = models.CharField(max_length=64, blank=True, default="")
    code_sent_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "phone"], name="telephony_messagingnumber_clinic_phone_unique"),
            models.UniqueConstraint(fields=["phone"], condition=models.Q(status="verified"),
                                    name="telephony_messagingnumber_verified_phone_unique"),
            models.CheckConstraint(condition=~models.Q(status="verified") | ~models.Q(verified_by=""),
                                   name="telephony_messagingnumber_verified_has_method"),
        ]

    def __str__(self):
        return f"{self.phone} ({self.status})"


class Call(ClinicOwned):
    """A phone conversation handled by the voice agent, or an outbound call scheduled by the clinic."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", _("Inbound")
        OUTBOUND = "outbound", _("Outbound")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SCHEDULED = "scheduled", _("Scheduled")
        INITIATED = "initiated", _("Initiated")
        # The provider's own progress reports (docs/api/voice.md, Webhooks): queued at the carrier, ringing the
        # patient, and nobody answering, which is not a failure of ours.
        QUEUED = "queued", _("Queued")
        RINGING = "ringing", _("Ringing")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        NO_ANSWER = "no_answer", _("No answer")
        FAILED = "failed", _("Failed")

    # A call in one of these has ended: no later report moves it.
    ENDED_STATUSES = (Status.COMPLETED, Status.NO_ANSWER, Status.FAILED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="calls")
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.INBOUND)
    phone_number = EncryptedTextField(blank=True, default="")
    phone_index = models.CharField(max_length=32, blank=True, default="", db_index=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_secs = models.PositiveIntegerField(default=0)
    conversation_id = models.CharField(max_length=100, null=True, blank=True)
    agent_id = models.CharField(max_length=100, blank=True, default="")
    call_successful = models.CharField(max_length=20, blank=True, default="")
    summary = models.TextField(blank=True, default="")
    title = models.CharField(max_length=200, blank=True, default="")
    sentiment = models.CharField(max_length=20, blank=True, default="")
    intent = models.CharField(max_length=40, blank=True, default="")
    appointment_booked = models.BooleanField(default=False)
    callback_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="callbacks")
    transcript = models.JSONField(default=list, blank=True)
    tool_calls = models.JSONField(default=list, blank=True)
    recording_path = models.CharField(max_length=500, blank=True, default="")
    webhook_payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["clinic", "created_at", "id"], name="call_clinic_created_idx")]
        constraints = [
            models.UniqueConstraint(fields=["clinic", "conversation_id"], name="call_unique_clinic_conversation"),
        ]

    def __str__(self):
        return f"{self.get_direction_display()} call {self.conversation_id or self.id} ({self.status})"


class Agent(ClinicOwned):
    """The clinic's phone agent (one per clinic): its public id, name, provider metadata and action token.

    The token authenticates the agent's tool calls (`X-Agent-Token`). It is looked up by its SHA-256 digest;
    an AES-GCM copy is kept so the dashboard can show it again, as the dashboard API documents.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")

    TOKEN_PREFIX = "fd_agent_"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.OneToOneField("clinics.Clinic", on_delete=models.CASCADE, related_name="phone_agent")
    agent_id = models.CharField(max_length=100, unique=True)
    agent_name = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    elevenlabs_metadata = models.JSONField(default=dict, blank=True)
    # The voice provider's own id of this agent (`elevenlabs_metadata["agent_id"]`), held in a column so that the
    # database keeps it unique: post-call transcripts are routed by it, so two clinics must never share one.
    provider_agent_id = models.CharField(max_length=100, blank=True, default="")
    token_digest = models.CharField(max_length=64, unique=True)
    token_preview = models.CharField(max_length=40)
    token_encrypted = EncryptedTextField()
    token_rotated_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider_agent_id"], condition=~models.Q(provider_agent_id=""),
                                    name="telephony_agent_provider_agent_id_unique"),
        ]

    def __str__(self):
        return f"{self.agent_name} ({self.agent_id})"


class WebhookEndpoint(ClinicOwned):
    """A URL of the clinic's integration that receives the chosen voice events, signed with its secret."""

    class Event(models.TextChoices):
        CONVERSATION_UPDATE = "conversation.update", _("Conversation update")
        CONVERSATION_END_REPORT = "conversation.end_report", _("Conversation end report")
        CONVERSATION_STATUS = "conversation.status", _("Conversation status")
        INTENT_CALL = "intent.call", _("Intent call")
        TEXT_EVALUATION = "evaluation.text", _("Text evaluation")
        VOICE_EVALUATION = "evaluation.voice", _("Voice evaluation")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    secret = EncryptedTextField()
    events = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.url} ({', '.join(self.events)})"


class WebhookDelivery(ClinicOwned):
    """One event sent (or being sent) to one endpoint: the log of attempts, unique per endpoint and event."""
    clinic_lookup = "endpoint__clinic"


    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    event_id = models.CharField(max_length=120)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_unique_event"),
        ]

    def __str__(self):
        return f"{self.event} {self.event_id} -> {self.endpoint_id} ({self.status})"


class VideoMeeting(ClinicOwned):
    """A video room at the video provider (Dyte, or the offline `local` backend), as the provider described it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="video_meetings")
    provider = models.CharField(max_length=20)
    provider_meeting_id = models.CharField(max_length=100)
    title = models.CharField(max_length=200)
    preferred_region = models.CharField(max_length=40, blank=True, default="")
    record_on_start = models.BooleanField(default=False)
    live_stream_on_start = models.BooleanField(default=False)
    persist_chat = models.BooleanField(default=False)
    summarize_on_end = models.BooleanField(default=False)
    status = models.CharField(max_length=20, blank=True, default="ACTIVE")
    recording_config = models.CharField(max_length=40, blank=True, default="NOT_CONFIGURED")
    provider_created_at = models.DateTimeField(null=True, blank=True)
    provider_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "provider_meeting_id"], name="video_meeting_unique_provider_id"),
        ]

    def __str__(self):
        return f"{self.title} ({self.provider} {self.provider_meeting_id})"


class VideoParticipant(ClinicOwned):
    """Someone allowed into a meeting; `token` is their join credential, so it is encrypted at rest."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="video_participants")
    meeting = models.ForeignKey(VideoMeeting, on_delete=models.CASCADE, related_name="participants")
    provider_participant_id = models.CharField(max_length=100)
    name = EncryptedTextField(blank=True, default="")
    picture = models.URLField(max_length=500, blank=True, default="")
    # The integrator's own id of the person (often an e-mail or a patient number): encrypted at rest.
    custom_participant_id = EncryptedTextField()
    preset_name = models.CharField(max_length=60)
    token = EncryptedTextField(blank=True, default="")
    provider_created_at = models.DateTimeField(null=True, blank=True)
    provider_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "provider_participant_id"],
                                    name="video_participant_unique_provider_id"),
        ]

    def __str__(self):
        # What admin pages and logs show: the provider's id, never the integrator's id of the person.
        return f"participant {self.provider_participant_id} in {self.meeting_id} ({self.preset_name})"


class Referral(ClinicOwned):
    """A requesting professional sends a patient to a specialist; both meet by video about it.

    `requester_in_meeting` and `specialist_in_meeting` say who is in the referral's video call right now.
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="referrals")
    requesting_professional = models.ForeignKey("scheduling.Professional", on_delete=models.PROTECT,
                                                related_name="referrals_requested")
    specialist = models.ForeignKey("scheduling.Professional", on_delete=models.PROTECT,
                                   related_name="referrals_received")
    patient = models.ForeignKey("scheduling.Patient", on_delete=models.CASCADE, related_name="referrals")
    # Why the patient is referred: health data, encrypted like every other clinical text.
    reason = EncryptedTextField(blank=True, default="")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REQUESTED)
    meeting = models.ForeignKey(VideoMeeting, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="referrals")
    requester_in_meeting = models.BooleanField(default=False)
    specialist_in_meeting = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["clinic", "created_at"], name="referral_clinic_created")]

    def __str__(self):
        return f"referral {self.id} ({self.status})"


class ToolCall(ClinicOwned):
    """One tool the phone agent called during a call (list services, availability, book, ...), written as it
    happens, in order; the post-call report adds the transcript later. `arguments` keep what the call asked for
    without personal data (no name, phone, e-mail or free text): dates, times, service and appointment ids."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="tool_calls")
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="recorded_tool_calls")
    name = models.CharField(max_length=40)
    arguments = models.JSONField(default=dict, blank=True)
    # "OK" or the reason code the agent heard (SLOT_TAKEN, CLOSED, OFF_GRID, AMBIGUOUS_SERVICE, ...).
    outcome = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["call", "created_at"], name="toolcall_call_created_idx")]

    def __str__(self):
        return f"{self.name} -> {self.outcome} ({self.call_id})"
