"""Webhooks from Twilio: delivery reports and inbound messages.

Authenticated by Twilio's request signature alone (no API credential), never rate limited, and idempotent by
MessageSid, because Twilio retries.
"""
import logging

from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .backends.sms import TwilioSMSBackend
from .services import receive_message, record_provider_status
from .signals import message_received

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _forbidden():
    return JsonResponse({"detail": _("Invalid Twilio signature."), "code": "INVALID_SIGNATURE"}, status=403)


def _missing(field):
    return JsonResponse({"detail": _("Missing field: %(field)s") % {"field": field}, "code": "VALIDATION_ERROR"},
                        status=400)


@csrf_exempt
@require_POST
def twilio_status(request):
    """Twilio's StatusCallback for a message we sent: moves its status forward."""
    if not TwilioSMSBackend.verify_webhook(request):
        return _forbidden()
    sid = request.POST.get("MessageSid") or request.POST.get("SmsSid")
    if not sid:
        return _missing("MessageSid")
    message = record_provider_status(TwilioSMSBackend.name, sid, request.POST.get("MessageStatus", ""),
                                     request.POST.get("ErrorCode", ""), request.POST.get("ErrorMessage", ""))
    if message is None:
        logger.info("Twilio status for unknown message %s", sid)
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def twilio_inbound(request):
    """An SMS or WhatsApp message sent to one of our numbers: stored once, answered with empty TwiML."""
    if not TwilioSMSBackend.verify_webhook(request):
        return _forbidden()
    sid = request.POST.get("MessageSid") or request.POST.get("SmsSid")
    if not sid:
        return _missing("MessageSid")
    message = receive_message(TwilioSMSBackend.name, sid, request.POST.get("From", ""), request.POST.get("To", ""),
                              request.POST.get("Body", ""))
    if message.clinic_id:
        message_received.send(sender=type(message), message=message)
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")
