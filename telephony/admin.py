"""Messages, calls, voice agents, outbound webhooks and video consultations for support staff.

Rows holding personal data are clinics/admin_pii.py's: read-only (they change through telephony's services and
the providers' webhooks), phones masked and bodies, summaries, transcripts, webhook payloads and referral reasons
hidden for support viewers, every read audited. Lists that show no personal data write nothing; only opening a
row is audited. Secrets are never shown: an agent's token appears as its preview, a webhook's signing secret and
a video participant's join token not at all.
"""
import datetime as dt
import json

from django.contrib import admin, messages
from django.contrib.admin.utils import display_for_value
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from clinics.admin_pii import PiiAdmin, PiiInline, shown
from clinics.admin_scoping import ClinicScopedAdmin, ReadOnlyScopedAdmin
from clinics.masking import mask_name, mask_phone
from scheduling.admin_patient_rows import AboutPatient

from .models import (Agent, Call, Message, MessagingNumber, Referral, VideoMeeting, VideoParticipant,
                     WebhookDelivery, WebhookEndpoint)
from .outbound_webhooks import MAX_ATTEMPTS, backoff_seconds, webhook_deliveries_retry


@admin.register(Message)
class MessageAdmin(PiiAdmin):
    audit_action = audit_object_type = "message"
    list_shows_pii = False  # phones and bodies stay off the list: support staff open a row only when they need it
    list_display = ("id", "clinic", "channel", "direction", "status", "provider", "purpose", "created_at")
    list_filter = ("channel", "direction", "status", "provider")
    list_select_related = ("clinic",)
    search_fields = ("provider_message_id",)
    fields = ("id", "clinic", "channel", "direction", "to_phone_shown", "from_phone_shown", "body_shown", "status",
              "provider", "provider_message_id", "error", "purpose", "content_sid", "content_variables_shown",
              "created_at", "updated_at", "queued_at", "attempted_at", "sent_at", "delivered_at")

    @admin.display(description=_("to"))
    def to_phone_shown(self, message):
        return shown(message, message.to_phone, mask_phone)

    @admin.display(description=_("from"))
    def from_phone_shown(self, message):
        return shown(message, message.from_phone, mask_phone)

    @admin.display(description=_("body"))
    def body_shown(self, message):
        return shown(message, message.body)

    @admin.display(description=_("template variables"))
    def content_variables_shown(self, message):
        return shown(message, message.content_variables)


@admin.register(Call)
class CallAdmin(PiiAdmin):
    audit_action = audit_object_type = "call"
    list_shows_pii = False
    list_display = ("id", "clinic", "direction", "status", "conversation_id", "duration_secs", "created_at")
    list_filter = ("direction", "status", "sentiment")
    list_select_related = ("clinic",)
    search_fields = ("conversation_id",)
    fields = ("id", "clinic", "direction", "phone_shown", "status", "scheduled_at", "started_at", "ended_at",
              "duration_secs", "conversation_id", "agent_id", "call_successful", "title", "summary_shown",
              "sentiment", "intent", "appointment_booked", "callback_of", "transcript_shown", "tool_calls_shown",
              "created_at")

    @admin.display(description=_("phone"))
    def phone_shown(self, call):
        return shown(call, call.phone_number, mask_phone)

    @admin.display(description=_("summary"))
    def summary_shown(self, call):
        return shown(call, call.summary)

    @admin.display(description=_("transcript"))
    def transcript_shown(self, call):
        return shown(call, call.transcript)

    @admin.display(description=_("tool calls"))
    def tool_calls_shown(self, call):
        return shown(call, call.tool_calls)


@admin.register(MessagingNumber)
class MessagingNumberAdmin(ClinicScopedAdmin):
    """Numbers inbound messages route by: support staff read them; verification goes through telephony.numbers."""

    list_display = ("phone", "clinic", "status", "verified_by", "verified_at", "created_at")
    list_filter = ("status", "verified_by")
    search_fields = ("phone",)
    exclude = ("code_digest",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Agent)
class AgentAdmin(ReadOnlyScopedAdmin):
    """The clinic's phone agent: its ids, status and provider metadata. Its action token is shown by its preview
    only (and not even decrypted here); names, status and tokens change through telephony.agents."""

    list_display = ("agent_name", "clinic", "agent_id", "status", "provider_agent_id", "token_preview",
                    "token_rotated_at", "created_at")
    list_filter = ("status",)
    list_select_related = ("clinic",)
    search_fields = ("agent_name", "agent_id", "provider_agent_id")
    fields = ("id", "clinic", "agent_id", "agent_name", "status", "provider_agent_id", "elevenlabs_metadata",
              "token_preview", "token_rotated_at", "created_at")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("token_encrypted")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyScopedAdmin):
    """An integrator's URL and the events it chose, with how many of its deliveries are pending or abandoned. The
    signing secret is never shown (nor decrypted here); endpoints are registered and removed through
    telephony.outbound_webhooks."""

    list_display = ("url", "clinic", "events_shown", "active", "pending_deliveries", "failed_deliveries",
                    "created_at")
    list_filter = ("active",)
    list_select_related = ("clinic",)
    search_fields = ("url",)
    fields = ("id", "clinic", "url", "events_shown", "active", "pending_deliveries", "failed_deliveries",
              "deliveries", "created_at")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("secret").annotate(
            pending_count=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.PENDING)),
            failed_count=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.FAILED)))

    @admin.display(description=_("events"))
    def events_shown(self, endpoint):
        return ", ".join(endpoint.events or [])

    @admin.display(description=_("pending"), ordering="pending_count")
    def pending_deliveries(self, endpoint):
        return endpoint.pending_count

    @admin.display(description=_("failed"), ordering="failed_count")
    def failed_deliveries(self, endpoint):
        return endpoint.failed_count

    @admin.display(description=_("deliveries"))
    def deliveries(self, endpoint):
        url = reverse("admin:telephony_webhookdelivery_changelist")
        return format_html('<a href="{}?endpoint__id__exact={}">{}</a>', url, endpoint.pk, _("List the deliveries"))


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(PiiAdmin):
    """One event sent to one endpoint: status, attempts, the last answer and when the next attempt is due. The
    payload carries the caller's number and name and the call's summary, and a receiver's error may echo it: both
    hidden for support viewers, the page audited. The list shows neither, so it is not audited. A delivery
    abandoned after its attempts is sent again by the "retry" action (`webhook_deliveries_retry`), once the
    integrator says their receiver is mended."""

    audit_action = audit_object_type = "webhook_delivery"
    actions = ["retry_selected"]
    list_shows_pii = False
    list_display = ("event", "endpoint_url", "clinic", "status", "attempts", "last_status_code", "last_attempt_at",
                    "next_attempt_at", "delivered_at", "created_at")
    list_filter = ("status", "event")
    list_select_related = ("endpoint__clinic",)
    search_fields = ("event_id", "endpoint__url")
    date_hierarchy = "created_at"
    fields = ("id", "clinic", "endpoint", "event", "event_id", "status", "attempts", "last_status_code",
              "last_error_shown", "last_attempt_at", "next_attempt_at", "delivered_at", "created_at", "payload_shown")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("endpoint__secret")

    def audit_clinic(self, obj):
        return obj.endpoint.clinic

    def lookup_allowed(self, lookup, value, request=None):
        # The endpoint's page links here with its deliveries (the rows are scoped, so the filter reveals nothing).
        return lookup == "endpoint__id__exact" or super().lookup_allowed(lookup, value, request)

    @admin.display(description=_("clinic"))
    def clinic(self, delivery):
        return delivery.endpoint.clinic

    @admin.display(description=_("endpoint"))
    def endpoint_url(self, delivery):
        return delivery.endpoint.url

    @admin.display(description=_("next attempt"))
    def next_attempt_at(self, delivery):
        """When the pending delivery is tried again (telephony.outbound_webhooks: the backoff after each failed
        attempt); none once it was delivered or abandoned after MAX_ATTEMPTS."""
        if delivery.status != WebhookDelivery.Status.PENDING or delivery.attempts >= MAX_ATTEMPTS:
            return ""
        if not delivery.attempts or delivery.last_attempt_at is None:
            return _("queued")
        return display_for_value(
            delivery.last_attempt_at + dt.timedelta(seconds=backoff_seconds(delivery.attempts)), "")

    def has_retry_permission(self, request):
        """Sending an integrator's events again changes deliveries: support staff who may change them."""
        return request.user.has_perm("telephony.change_webhookdelivery")

    @admin.action(description=_("Send the selected failed deliveries again"), permissions=["retry"])
    def retry_selected(self, request, queryset):
        selected = list(queryset.select_related("endpoint__clinic"))
        by_clinic = {}
        for delivery in selected:
            by_clinic.setdefault(delivery.endpoint.clinic, []).append(delivery.pk)
        retried = sum(len(webhook_deliveries_retry(clinic=clinic, delivery_ids=ids, actor=request))
                      for clinic, ids in by_clinic.items())
        self.message_user(request, gettext("%(retried)d of %(selected)d deliveries are sent again (only failed ones "
                                           "of an active endpoint are).") % {"retried": retried,
                                                                             "selected": len(selected)},
                          messages.SUCCESS if retried else messages.WARNING)

    @admin.display(description=_("last error"))
    def last_error_shown(self, delivery):
        return shown(delivery, delivery.last_error)

    @admin.display(description=_("payload"))
    def payload_shown(self, delivery):
        text = json.dumps(delivery.payload, ensure_ascii=False, indent=2)
        return shown(delivery, format_html("<pre>{}</pre>", text))


class VideoParticipantInline(PiiInline, admin.TabularInline):
    """Who may join the meeting: the name masked, the integrator's id of the person and the picture hidden for
    support viewers; the join token never shown (nor decrypted here)."""

    model = VideoParticipant
    fields = ("name_shown", "custom_participant_id_shown", "picture_shown", "preset_name", "provider_participant_id",
              "created_at")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("token")

    @admin.display(description=_("name"))
    def name_shown(self, participant):
        return shown(participant, participant.name, mask_name)

    @admin.display(description=_("participant id"))
    def custom_participant_id_shown(self, participant):
        return shown(participant, participant.custom_participant_id)

    @admin.display(description=_("picture"))
    def picture_shown(self, participant):
        return shown(participant, participant.picture)


@admin.register(VideoMeeting)
class VideoMeetingAdmin(PiiAdmin):
    """A video room and its participants (inline): the list shows rooms only, so it is not audited; a meeting's
    page shows its participants, so it is. Meetings and participants are created through telephony.video."""

    audit_action = audit_object_type = "video_meeting"
    list_shows_pii = False
    list_display = ("title", "clinic", "provider", "provider_meeting_id", "status", "participant_count",
                    "created_at")
    list_filter = ("provider", "status")
    list_select_related = ("clinic",)
    search_fields = ("provider_meeting_id", "title")
    fields = ("id", "clinic", "title", "provider", "provider_meeting_id", "status", "preferred_region",
              "record_on_start", "live_stream_on_start", "persist_chat", "summarize_on_end", "recording_config",
              "provider_created_at", "provider_updated_at", "created_at")
    inlines = [VideoParticipantInline]

    def get_queryset(self, request):
        # A subquery rather than a join: the filters' queries over the same queryset stay without GROUP BY.
        count = (VideoParticipant.objects.filter(meeting=OuterRef("pk")).order_by().values("meeting")
                 .annotate(count=Count("pk")).values("count"))
        return super().get_queryset(request).annotate(
            participants_count=Coalesce(Subquery(count, output_field=IntegerField()), 0))

    @admin.display(description=_("participants"), ordering="participants_count")
    def participant_count(self, meeting):
        return meeting.participants_count


@admin.register(Referral)
class ReferralAdmin(AboutPatient, PiiAdmin):
    """A patient referred to a specialist: the reason (health data) hidden and the patient's name masked for
    support viewers; the list names the patients (by hash), so it is audited too; found by patient through the
    keyed hashes. Referrals change through telephony.video."""

    audit_action = audit_object_type = "referral"
    list_display = ("id", "clinic", "patient_hash", "requesting_professional", "specialist", "status", "meeting",
                    "created_at")
    list_filter = ("status", "requester_in_meeting", "specialist_in_meeting")
    list_select_related = ("clinic", "patient", "requesting_professional", "specialist", "meeting")
    date_hierarchy = "created_at"
    fields = ("id", "clinic", "patient_hash", "patient_name", "requesting_professional", "specialist",
              "reason_shown", "status", "meeting", "requester_in_meeting", "specialist_in_meeting", "created_at",
              "updated_at")

    @admin.display(description=_("reason"))
    def reason_shown(self, referral):
        return shown(referral, referral.reason)
