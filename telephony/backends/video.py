"""Video meetings: one small class per provider, picked by `settings.PROVIDERS["video"]` ("local" or "dyte").

A backend creates a meeting and adds participants, returning the provider's description of each in Dyte's
shape (the one the video API documents); the service stores the rows. Webhook verification lives here too.

Settings (read from Django settings, else the environment): DYTE_BASE_URL (e.g. https://api.dyte.io/v2),
DYTE_TOKEN (base64 of "organization id:API key", sent as `Authorization: Basic`), DYTE_TIMEOUT_SECONDS, and
DYTE_WEBHOOK_PUBLIC_KEY (PEM). Every webhook must carry a valid `dyte-signature`; with no public key set every
webhook is refused (`webhook_key_configured`), naming the missing setting, since nothing can be verified then.
"""
import base64
import json
import logging
import os
import secrets
import uuid

import httpx
from django.conf import settings
from django.utils import timezone

from config.providers import Capability, register
from telephony.exceptions import ProviderError

logger = logging.getLogger(__name__)

# The payload the video API documents for every new meeting (docs/api/video.md).
MEETING_DEFAULTS = {"preferred_region": "ap-south-1", "record_on_start": False, "live_stream_on_start": False}
PRESETS = ("group_call_host", "group_call_participant")


def setting(name: str, default: str = "") -> str:
    value = getattr(settings, name, None)
    if value in (None, ""):
        value = os.environ.get(name, default)
    return value


class VideoBackend:
    """The contract: `create_meeting(title) -> dict` and `add_participant(meeting_id, ...) -> dict` (with
    `token`), both in Dyte's field names; ProviderError when the provider refuses or cannot be reached."""

    name = ""

    def create_meeting(self, title: str) -> dict:
        raise NotImplementedError

    def add_participant(self, meeting_id: str, *, name: str, picture: str, custom_participant_id: str,
                        preset_name: str) -> dict:
        raise NotImplementedError


class LocalVideoBackend(VideoBackend):
    """Works offline: meetings and participants get ids and a signed join token that the local join page opens."""

    name = "local"

    def create_meeting(self, title):
        now = timezone.now().isoformat()
        return {"id": str(uuid.uuid4()), "title": title, **MEETING_DEFAULTS, "created_at": now, "updated_at": now,
                "persist_chat": False, "summarize_on_end": False, "status": "ACTIVE",
                "recording_config": "NOT_CONFIGURED"}

    def add_participant(self, meeting_id, *, name, picture, custom_participant_id, preset_name):
        from django.core import signing

        now = timezone.now().isoformat()
        participant_id = str(uuid.uuid4())
        token = signing.dumps({"meeting": meeting_id, "participant": participant_id, "nonce": secrets.token_hex(4)},
                              salt="telephony.video.local")
        return {"id": participant_id, "name": name, "picture": picture, "custom_participant_id": custom_participant_id,
                "preset_name": preset_name, "created_at": now, "updated_at": now, "token": token}

    @staticmethod
    def open_token(token: str, max_age: int = 24 * 3600) -> dict | None:
        """The {meeting, participant} a local join token names, or None when it is forged or too old."""
        from django.core import signing

        try:
            return signing.loads(token, salt="telephony.video.local", max_age=max_age)
        except signing.BadSignature:
            return None


class DyteVideoBackend(VideoBackend):
    """Dyte's REST API v2 over httpx, with the organisation's Basic credentials."""

    name = "dyte"

    def _post(self, path: str, payload: dict) -> dict:
        base_url = setting("DYTE_BASE_URL", "https://api.dyte.io/v2").rstrip("/")
        token = setting("DYTE_TOKEN")
        if not token:
            raise ProviderError("DYTE_TOKEN is not configured")
        try:
            response = httpx.post(f"{base_url}{path}", json=payload,
                                  headers={"Authorization": f"Basic {token}", "Accept": "application/json"},
                                  timeout=float(setting("DYTE_TIMEOUT_SECONDS", "10")))
        except httpx.HTTPError as exc:
            raise ProviderError(f"Dyte unreachable: {exc.__class__.__name__}")
        if response.status_code >= 400:
            raise ProviderError(f"Dyte answered {response.status_code}: {response.text[:300]}",
                                code=str(response.status_code))
        try:
            body = response.json()
        except ValueError:
            raise ProviderError("Dyte answered with a body that is not JSON")
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or not data.get("id"):
            raise ProviderError("Dyte's answer has no data.id")
        return data

    def create_meeting(self, title):
        return self._post("/meetings", {"title": title, **MEETING_DEFAULTS})

    def add_participant(self, meeting_id, *, name, picture, custom_participant_id, preset_name):
        return self._post(f"/meetings/{meeting_id}/participants", {
            "name": name, "picture": picture, "preset_name": preset_name,
            "custom_participant_id": custom_participant_id})


WEBHOOK_KEY_SETTING = "DYTE_WEBHOOK_PUBLIC_KEY"


def webhook_key_configured() -> bool:
    """False when DYTE_WEBHOOK_PUBLIC_KEY is unset: then every webhook is refused (an unsigned event is never
    trusted, whichever video backend is in use)."""
    return bool(setting(WEBHOOK_KEY_SETTING))


def verify_webhook(raw_body: bytes, signature: str) -> bool:
    """True when the request may be trusted: `dyte-signature` is a base64 RSA-SHA256 (PKCS#1 v1.5) signature by
    DYTE_WEBHOOK_PUBLIC_KEY. Dyte signs the JSON of the payload, so the raw body and its compact re-serialisation
    (what JSON.stringify writes) are both tried. With no key configured, nothing is accepted."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    pem = setting(WEBHOOK_KEY_SETTING)
    if not pem:
        return False
    if not signature:
        return False
    try:
        key = serialization.load_pem_public_key(pem.replace("\\n", "\n").encode())
        decoded = base64.b64decode(signature, validate=True)
    except (ValueError, TypeError):
        logger.warning("Dyte webhook: unreadable public key or signature")
        return False
    candidates = [raw_body]
    try:
        candidates.append(json.dumps(json.loads(raw_body), separators=(",", ":"), ensure_ascii=False).encode())
    except ValueError:
        pass
    for candidate in candidates:
        try:
            key.verify(decoded, candidate, padding.PKCS1v15(), hashes.SHA256())
            return True
        except InvalidSignature:
            continue
    return False


VIDEO = register(Capability("video", {
    "local": "telephony.backends.video.LocalVideoBackend",
    "dyte": "telephony.backends.video.DyteVideoBackend",
}))
