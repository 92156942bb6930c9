"""Messages and calls for support staff (clinics/admin_pii.py): read-only (they change through telephony's
services and the providers' webhooks), phones masked and bodies, summaries and transcripts hidden for support
viewers, every read audited. The lists show no personal data, so only opening a row is audited."""
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from clinics.admin_pii import PiiAdmin, shown
from clinics.admin_scoping import ClinicScopedAdmin
from clinics.masking import mask_phone

from .models import Call, Message, MessagingNumber


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
