"""Text messages (SMS and WhatsApp): one small class per provider, picked by `settings.PROVIDERS["sms"]`.

A backend sends one `telephony.Message` row and returns the provider's id for it; the service owns the row.
"""
import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
from django.conf import settings
from django.urls import reverse

from telephony.exceptions import ProviderError
from telephony.models import Message

logger = logging.getLogger(__name__)


class SMSBackend:
    """The contract: `send(message) -> provider message id`, raising ProviderError when the provider refuses."""

    name = ""
    # What a message is once the provider accepted it (a real network reports delivery later, by webhook).
    accepted_status = Message.Status.SENT
    # At most this many messages in one batch (`send_many`), or no limit of its own: a provider that reports
    # delivery by webhook gets the batch's ids stored soon after it is called.
    batch_size = None

    def send(self, message: Message) -> str:
        raise NotImplementedError

    def send_many(self, messages, *, deadline: float | None = None) -> list:
        """Send a batch (a campaign's): returns, in order, each message's provider id, the ProviderError that
        refused it, or None when `deadline` (a time.monotonic() value) passed before it was tried (not sent)."""
        return [self._send_before(message, deadline) for message in messages]

    def _send_before(self, message, deadline):
        if deadline is not None and time.monotonic() > deadline:
            return None
        try:
            return self.send(message)
        except ProviderError as exc:
            return exc

    def owns_number(self, phone: str) -> bool:
        """True when the provider account holds `phone` (then it is verified without a code, telephony/numbers.py).
        A backend without accounts holds none."""
        return False

    def shared_numbers(self) -> set[str]:
        """The platform's own sending numbers (E.164), shared by every clinic without a number of its own: a reply
        to one goes to the one clinic that wrote to the sender (telephony.services._clinic_for_inbound)."""
        return set()


class LocalSMSBackend(SMSBackend):
    """Works offline: the message stays in the outbox table and counts as delivered at once."""

    name = "local"
    accepted_status = Message.Status.DELIVERED

    def send(self, message):
        logger.info("Local SMS backend delivered message %s (%s)", message.id, message.channel)
        return f"local-{uuid.uuid4().hex}"


def status_callback_url() -> str:
    return settings.SITE_URL.rstrip("/") + reverse("telephony_twilio_status")


def _twilio_address(phone: str, channel: str) -> str:
    return f"whatsapp:{phone}" if channel == Message.Channel.WHATSAPP else phone


class TwilioSMSBackend(SMSBackend):
    """Twilio Programmable Messaging through the official SDK; WhatsApp goes through the same API."""

    name = "twilio"
    # Requests in flight at once while a batch is sent (TWILIO_SEND_CONCURRENCY): Twilio takes one message per HTTP
    # call (about 150 ms), so one at a time would cap a campaign near 400 a minute. Each send builds its own client.
    batch_size = 50

    def send_many(self, messages, *, deadline=None):
        workers = max(1, min(settings.TWILIO_SEND_CONCURRENCY, len(messages)))
        if workers == 1:
            return super().send_many(messages, deadline=deadline)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="twilio-send") as pool:
            return list(pool.map(lambda message: self._send_before(message, deadline), messages))

    def client(self):
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN,
                        http_client=TwilioHttpClient(timeout=settings.TWILIO_TIMEOUT_SECONDS))
        if settings.TWILIO_API_BASE_URL:
            client.api.base_url = settings.TWILIO_API_BASE_URL
        return client

    def sender(self, channel: str) -> str:
        if channel == Message.Channel.WHATSAPP:
            return settings.TWILIO_WHATSAPP_FROM_NUMBER or settings.TWILIO_FROM_NUMBER
        return settings.TWILIO_FROM_NUMBER

    def send(self, message):
        from twilio.base.exceptions import TwilioException, TwilioRestException

        params = {
            "to": _twilio_address(message.to_phone, message.channel),
            "status_callback": status_callback_url(),
        }
        if message.content_sid:
            # An approved WhatsApp template: Twilio renders it from the Content SID and the variables.
            params["content_sid"] = message.content_sid
            params["content_variables"] = json.dumps(message.content_variables or {})
        else:
            params["body"] = message.body
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            params["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
        else:
            sender = self.sender(message.channel)
            if not sender:
                raise ProviderError("No sender configured: set TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER")
            params["from_"] = _twilio_address(sender, message.channel)
        try:
            created = self.client().messages.create(**params)
        except TwilioRestException as exc:
            raise ProviderError(f"Twilio answered {exc.status}: {exc.msg}", code=str(exc.code or exc.status))
        except (TwilioException, requests.RequestException) as exc:
            raise ProviderError(f"Twilio unreachable: {exc.__class__.__name__}")
        return created.sid

    def shared_numbers(self):
        # The configured senders; a Messaging Service's pool is not known here, so its replies route by verified
        # numbers only.
        return {number.removeprefix("whatsapp:") for number in
                (settings.TWILIO_FROM_NUMBER, settings.TWILIO_WHATSAPP_FROM_NUMBER) if number}

    def owns_number(self, phone):
        """True when the Twilio account lists `phone` among its IncomingPhoneNumbers."""
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            numbers = self.client().incoming_phone_numbers.list(phone_number=phone, limit=20)
        except TwilioRestException as exc:
            raise ProviderError(f"Twilio answered {exc.status}: {exc.msg}", code=str(exc.code or exc.status))
        except (TwilioException, requests.RequestException) as exc:
            raise ProviderError(f"Twilio unreachable: {exc.__class__.__name__}")
        return any(number.phone_number == phone for number in numbers)

    @staticmethod
    def verify_webhook(request) -> bool:
        """True when `X-Twilio-Signature` is Twilio's HMAC-SHA1 of the URL it called plus the POST params."""
        from twilio.request_validator import RequestValidator

        signature = request.META.get("HTTP_X_TWILIO_SIGNATURE", "")
        if not settings.TWILIO_AUTH_TOKEN:  # an empty signature matches no URL below
            return False
        validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
        # Behind a proxy the host we see may differ from the public one Twilio called: try both.
        candidates = {request.build_absolute_uri(), settings.SITE_URL.rstrip("/") + request.get_full_path()}
        return any(validator.validate(url, request.POST, signature) for url in candidates)
