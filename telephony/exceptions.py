"""Domain errors of telephony: codes in `telephony.errors.TelephonyCode`, no HTTP (each surface maps codes)."""
from django.utils.translation import gettext as _

from clinics.errors import DomainError
from clinics.phones import InvalidPhoneNumber  # noqa: F401 — raised by telephony services, caught by callers

from .errors import TelephonyCode


class TelephonyError(DomainError):
    """Base of the telephony domain errors."""


class EmptyMessage(TelephonyError):
    def __init__(self):
        super().__init__(TelephonyCode.EMPTY_MESSAGE, _("The message body is empty."),
                         {"body": [_("This field may not be blank.")]})


class ScheduledInPast(TelephonyError):
    def __init__(self):
        message = _("scheduled_at must be in the future.")
        super().__init__(TelephonyCode.SCHEDULED_IN_PAST, message, {"scheduled_at": [message]})


class NoPhoneNumber(TelephonyError):
    def __init__(self):
        super().__init__(TelephonyCode.NO_PHONE_NUMBER, _("This call has no phone number to call back."))


class RecordingNotFound(TelephonyError):
    def __init__(self):
        super().__init__(TelephonyCode.RECORDING_NOT_FOUND, _("This call has no recording."))


class MissingConversationId(TelephonyError):
    def __init__(self):
        message = _("data.conversation_id is required.")
        super().__init__(TelephonyCode.VALIDATION_ERROR, message, {"conversation_id": [message]})


class MessageDeliveryFailed(TelephonyError):
    """The provider refused or could not be reached; the message row is kept, marked failed with the reason."""

    def __init__(self, message_row, reason: str):
        self.message_row = message_row
        self.reason = reason
        super().__init__(TelephonyCode.MESSAGE_DELIVERY_FAILED, _("The message could not be sent: %(reason)s")
                         % {"reason": reason}, {"message_id": str(message_row.id)})


class ProviderError(Exception):
    """Raised by a backend when the provider refuses a request or cannot be reached."""

    def __init__(self, reason: str, code: str = ""):
        self.reason = reason
        self.code = code
        super().__init__(reason)
