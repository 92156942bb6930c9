from django.contrib import admin

from clinics.admin_scoping import ClinicScopedAdmin

from .models import Call, Message, MessagingNumber


@admin.register(Message)
class MessageAdmin(ClinicScopedAdmin):
    # Phones and bodies stay off the list: support staff open a row only when they need it.
    list_display = ("id", "clinic", "channel", "direction", "status", "provider", "purpose", "created_at")
    list_filter = ("channel", "direction", "status", "provider")
    search_fields = ("provider_message_id",)
    readonly_fields = ("to_phone_index", "from_phone_index", "provider_message_id", "created_at", "updated_at")
    raw_id_fields = ("clinic",)


@admin.register(Call)
class CallAdmin(ClinicScopedAdmin):
    list_display = ("id", "clinic", "direction", "status", "conversation_id", "duration_secs", "created_at")
    list_filter = ("direction", "status", "sentiment")
    search_fields = ("conversation_id",)
    readonly_fields = ("phone_index", "created_at")
    raw_id_fields = ("clinic", "callback_of")


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
