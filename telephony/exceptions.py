"""Domain errors of telephony. They carry an HTTP status and machine code, so any surface renders them."""
from django.utils.translation import gettext as _

from config.surfaces.errors import ApiError


class TelephonyError(ApiError):
    """Base of the telephony domain errors."""


class InvalidPhoneNumber(TelephonyError):
    def __init__(self, raw: str, field: str = "phone_number"):
        message = _("Not a valid phone number: %(number)s") % {"number": raw or "''"}
        super().__init__(400, "INVALID_PHONE_NUMBER", message, {field: [message]})


class EmptyMessage(TelephonyError):
    def __init__(self):
        super().__init__(400, "EMPTY_MESSAGE", _("The message body is empty."),
                         {"body": [_("This field may not be blank.")]})


class ScheduledInPast(TelephonyError):
    def __init__(self):
        message = _("scheduled_at must be in the future.")
        super().__init__(400, "SCHEDULED_IN_PAST", message, {"scheduled_at": [message]})


class NoPhoneNumber(TelephonyError):
    def __init__(self):
        super().__init__(409, "NO_PHONE_NUMBER", _("This call has no phone number to call back."))


class RecordingNotFound(TelephonyError):
    def __init__(self):
        super().__init__(404, "RECORDING_NOT_FOUND", _("This call has no recording."))


class MissingConversationId(TelephonyError):
    def __init__(self):
        message = _("data.conversation_id is required.")
        super().__init__(400, "VALIDATION_ERROR", message, {"conversation_id": [message]})


class MessageDeliveryFailed(TelephonyError):
    """The provider refused or could not be reached; the message row is kept, marked failed with the reason."""

    def __init__(self, message_row, reason: str):
        self.message_row = message_row
        self.reason = reason
        super().__init__(502, "MESSAGE_DELIVERY_FAILED", _("The message could not be sent: %(reason)s")
                         % {"reason": reason}, {"message_id": str(message_row.id)})


class ProviderError(Exception):
    """Raised by a backend when the provider refuses a request or cannot be reached."""

    def __init__(self, reason: str, code: str = ""):
        self.reason = reason
        self.code = code
        super().__init__(reason)
