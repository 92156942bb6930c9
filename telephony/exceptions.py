"""Domain errors of telephony: codes in `telephony.errors.TelephonyCode`, no HTTP (each surface maps codes)."""
from django.utils.translation import gettext as _

from clinics.errors import ClinicCode, CommonCode, DomainError
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


class AgentNotFound(TelephonyError):
    def __init__(self):
        super().__init__(TelephonyCode.AGENT_NOT_FOUND, _("Agent not found"))


class AgentPaused(TelephonyError):
    def __init__(self):
        super().__init__(TelephonyCode.AGENT_PAUSED, _("This agent is paused; set it active to place calls."))


class CallFailed(TelephonyError):
    """The voice provider refused the call or could not be reached; the call is kept, marked failed."""

    def __init__(self, call, reason: str):
        self.call = call
        super().__init__(TelephonyCode.CALL_FAILED, _("The call could not be placed: %(reason)s") % {"reason": reason},
                         {"callId": str(call.id)})


class CallNotFound(TelephonyError):
    """No call with this id in the clinic (another clinic's call is the same as none)."""

    default_code = CommonCode.NOT_FOUND

    def __init__(self):
        super().__init__(CommonCode.NOT_FOUND, _("Call not found."))


class ReferralNotFound(TelephonyError):
    def __init__(self):
        super().__init__(TelephonyCode.REFERRAL_NOT_FOUND, _("Referral not found."))


class MeetingNotFound(TelephonyError):
    def __init__(self):
        super().__init__(TelephonyCode.MEETING_NOT_FOUND, _("Meeting not found."))


class MeetingNotOfReferral(TelephonyError):
    def __init__(self):
        super().__init__(TelephonyCode.MEETING_NOT_OF_REFERRAL, _("This meeting is not the referral's meeting."))


class UserNotInReferral(TelephonyError):
    def __init__(self):
        message = _("Not a professional of this referral.")
        super().__init__(TelephonyCode.USER_NOT_IN_REFERRAL, message, {"userId": [message]})


class VideoProviderError(TelephonyError):
    def __init__(self, provider: str):
        super().__init__(TelephonyCode.VIDEO_PROVIDER_ERROR,
                         _("The video provider could not be reached or refused the request."), {"provider": provider})


class InvalidSignature(TelephonyError):
    """A provider webhook whose signature is missing or wrong."""

    def __init__(self, provider: str):
        super().__init__(ClinicCode.INVALID_SIGNATURE, _("Invalid %(provider)s signature.") % {"provider": provider})


class WebhookSecretMissing(TelephonyError):
    """A provider webhook arrived but the secret that verifies it is not set: nothing is accepted (an unsigned
    event never is), and the answer is 503 WEBHOOK_NOT_CONFIGURED naming the setting an operator must fill in, as
    Stripe's webhook answers: the fault is this server's, not the sender's, a 5xx is what monitoring alerts on, and
    the provider retries until the secret is set."""

    def __init__(self, provider: str, setting: str):
        self.setting = setting
        super().__init__(ClinicCode.WEBHOOK_NOT_CONFIGURED,
                         _("%(provider)s webhooks are refused: %(setting)s is not set on this server.")
                         % {"provider": provider, "setting": setting}, {"setting": setting})
