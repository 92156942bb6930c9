"""Outbound calls by the voice agent, and the voice provider's webhook signature: one class per provider, picked
by `settings.PROVIDERS["voice"]`.

A backend places one `telephony.Call` (already stored as initiated) and returns the provider's conversation id,
which the provider's post-call report later names, so the report completes the same row.
"""
import hashlib
import hmac
import logging
import time

import httpx
from celery import signature
from django.conf import settings

from config.providers import Capability, register
from telephony.exceptions import ProviderError

logger = logging.getLogger(__name__)

# ElevenLabs rejects webhook signatures older than 30 minutes; we hold its webhooks to the same window.
ELEVENLABS_SIGNATURE_TOLERANCE_SECONDS = 30 * 60
# A timestamp ahead of our clock by more than this is refused: clocks drift by seconds, not minutes, and a
# signature dated in the future would otherwise stay replayable for that much longer than the window above.
ELEVENLABS_SIGNATURE_FUTURE_SKEW_SECONDS = 5 * 60


class VoiceBackend:
    """The contract: `place_call(call, ...) -> provider conversation id` (or "" when it has none yet), raising
    ProviderError when the provider refuses or cannot be reached."""

    name = ""

    def place_call(self, call, *, provider_agent_id: str, phone_number_id: str = "", prompt: str = "",
                   overwrite_prompt: bool = False, first_message: str = "", about: str = "") -> str:
        raise NotImplementedError

    def placed(self, call) -> None:
        """Called once the placed call is stored (after commit). A real provider then reports the call's progress
        to our webhooks by itself, so by default nothing happens here."""


# What the local backend's pretend callee does: it answers, except numbers ending with this, which ring out.
LOCAL_NO_ANSWER_SUFFIX = "000"
# The status reports a provider posts for an answered call and for one nobody picks up, in order.
LOCAL_ANSWERED = ("queued", "ringing", "in-progress", "completed")
LOCAL_NOT_ANSWERED = ("queued", "ringing", "no-answer")


class LocalVoiceBackend(VoiceBackend):
    """Works offline: nothing is dialled, but the call goes through the status reports a provider would post
    (queued, ringing, in-progress, completed; or no-answer for a number ending with 000), queued as the task
    `telephony.local_call_progress` once the placed call is stored."""

    name = "local"

    def place_call(self, call, **kwargs):
        logger.info("Local voice backend placed call %s without dialling", call.id)
        return f"local-{call.id}"

    def placed(self, call) -> None:
        reports = LOCAL_NOT_ANSWERED if call.phone_number.endswith(LOCAL_NO_ANSWER_SUFFIX) else LOCAL_ANSWERED
        # By name: the task module imports the services that import this backend.
        signature("telephony.local_call_progress", args=(str(call.id), list(reports))).apply_async(countdown=1)


class ElevenLabsVoiceBackend(VoiceBackend):
    """ElevenLabs Agents Platform, outbound call over its Twilio integration (`POST /v1/convai/twilio/outbound-call`).

    `prompt.overwrite` replaces the agent's prompt for this call (a conversation config override, which the agent
    must allow in its security settings); otherwise the prompt text and `participant.about` travel as dynamic
    variables (`additional_instructions`, `participant_about`) that the agent's prompt may reference.
    """

    name = "elevenlabs"

    def place_call(self, call, *, provider_agent_id, phone_number_id="", prompt="", overwrite_prompt=False,
                   first_message="", about=""):
        phone_number_id = phone_number_id or settings.ELEVENLABS_AGENT_PHONE_NUMBER_ID
        if not settings.ELEVENLABS_API_KEY or not phone_number_id:
            raise ProviderError("ElevenLabs is not configured: set ELEVENLABS_API_KEY and the agent's phone number id")
        agent_override = {}
        if prompt and overwrite_prompt:
            agent_override["prompt"] = {"prompt": prompt}
        if first_message:
            agent_override["first_message"] = first_message
        dynamic_variables = {"frontdesk_call_id": str(call.id)}
        if prompt and not overwrite_prompt:
            dynamic_variables["additional_instructions"] = prompt
        if about:
            dynamic_variables["participant_about"] = about
        client_data = {"dynamic_variables": dynamic_variables}
        if agent_override:
            client_data["conversation_config_override"] = {"agent": agent_override}
        body = {"agent_id": provider_agent_id, "agent_phone_number_id": phone_number_id,
                "to_number": call.phone_number, "conversation_initiation_client_data": client_data}
        url = settings.ELEVENLABS_API_BASE.rstrip("/") + "/v1/convai/twilio/outbound-call"
        try:
            response = httpx.post(url, json=body, headers={"xi-api-key": settings.ELEVENLABS_API_KEY},
                                  timeout=settings.ELEVENLABS_TIMEOUT_SECONDS)
        except httpx.HTTPError as exc:
            raise ProviderError(f"ElevenLabs unreachable: {exc.__class__.__name__}")
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code >= 400 or answer.get("success") is False:
            detail = answer.get("detail") or answer.get("message") or response.text[:300]
            raise ProviderError(f"ElevenLabs answered {response.status_code}: {detail}", code=str(response.status_code))
        return str(answer.get("conversation_id") or "")

    WEBHOOK_SECRET_SETTING = "ELEVENLABS_WEBHOOK_SECRET"

    @staticmethod
    def webhook_secret_configured() -> bool:
        """False when ELEVENLABS_WEBHOOK_SECRET is unset: then every post-call event is refused, since an event
        signed with an empty key proves nothing."""
        return bool(settings.ELEVENLABS_WEBHOOK_SECRET)

    @staticmethod
    def verify_webhook(raw_body: bytes, header: str, now: float | None = None) -> bool:
        """True when `ElevenLabs-Signature: t=<unix>,v0=<hex>` is HMAC-SHA256(secret, "<t>.<raw body>") and t is
        at most 30 minutes old and at most 5 minutes ahead of our clock, as ElevenLabs signs its post-call
        webhooks."""
        secret = settings.ELEVENLABS_WEBHOOK_SECRET
        if not secret:  # an empty header fails below: it has no timestamp
            return False
        parts = {}
        for item in header.split(","):
            key, _sep, value = item.strip().partition("=")
            parts.setdefault(key, value)
        try:
            timestamp = int(parts.get("t", ""))
        except ValueError:
            return False
        now = time.time() if now is None else now
        if timestamp < now - ELEVENLABS_SIGNATURE_TOLERANCE_SECONDS:
            return False
        if timestamp > now + ELEVENLABS_SIGNATURE_FUTURE_SKEW_SECONDS:
            return False
        expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, parts.get("v0", ""))


VOICE = register(Capability("voice", {
    "local": "telephony.backends.voice.LocalVoiceBackend",
    "elevenlabs": "telephony.backends.voice.ElevenLabsVoiceBackend",
}))
