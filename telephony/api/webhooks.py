"""Webhooks from Twilio: delivery reports and inbound messages (docs/api/voice.md, Webhooks).

Authenticated by Twilio's request signature alone (no API credential), never rate limited, and idempotent by
MessageSid, because Twilio retries. Plain Django views: a refused request answers `{"detail", "code"}` with the
status `config.surfaces.errors.status_for` gives its code (403 INVALID_SIGNATURE; 503 WEBHOOK_NOT_CONFIGURED while
TWILIO_AUTH_TOKEN is unset, logged as an error).
"""
import logging

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from clinics.errors import DomainError, InvalidInput
from config.surfaces.errors import status_for

from telephony.backends.sms import TwilioSMSBackend
from telephony.exceptions import InvalidSignature, WebhookSecretMissing
from telephony.services import message_receive, message_status_record

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
# Twilio's SIDs are 34 characters; anything longer is not Twilio's.
MAX_SID_LENGTH = 64


def _refused(error: DomainError) -> JsonResponse:
    return JsonResponse({"detail": error.message, "code": error.code}, status=status_for(error.code))


def _verified_sid(request) -> str:
    """The MessageSid of a request Twilio signed; raises WebhookSecretMissing (no TWILIO_AUTH_TOKEN to verify with),
    InvalidSignature or InvalidInput."""
    if not settings.TWILIO_AUTH_TOKEN:
        error = WebhookSecretMissing("Twilio", "TWILIO_AUTH_TOKEN")
        logger.error("Twilio webhook refused: %s is not set, so no request can be verified.", error.setting)
        raise error
    if not TwilioSMSBackend.verify_webhook(request):
        raise InvalidSignature("Twilio")
    sid = request.POST.get("MessageSid") or request.POST.get("SmsSid")
    if not sid or len(sid) > MAX_SID_LENGTH:
        raise InvalidInput.on("MessageSid", _("Missing field: %(field)s") % {"field": "MessageSid"})
    return sid


@csrf_exempt
@require_POST
def twilio_status(request):
    """Twilio's StatusCallback for a message we sent: moves its status forward (kept for later when the message's
    id is not recorded yet: telephony.services.message_status_record)."""
    try:
        sid = _verified_sid(request)
    except DomainError as error:
        return _refused(error)
    message = message_status_record(provider=TwilioSMSBackend.name, provider_message_id=sid,
                                    provider_status=request.POST.get("MessageStatus", "")[:40],
                                    error_code=request.POST.get("ErrorCode", "")[:40],
                                    error_message=request.POST.get("ErrorMessage", "")[:500])
    if message is None:
        logger.info("Twilio status for message %s, not recorded yet: kept until it is", sid)
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def twilio_inbound(request):
    """An SMS or WhatsApp message sent to one of our numbers: stored once, answered with empty TwiML."""
    try:
        sid = _verified_sid(request)
    except DomainError as error:
        return _refused(error)
    message_receive(provider=TwilioSMSBackend.name, provider_message_id=sid,
                    from_phone=request.POST.get("From", "")[:60], to_phone=request.POST.get("To", "")[:60],
                    body=request.POST.get("Body", "")[:10000])
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")
