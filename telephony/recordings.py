"""Call recordings: links that work for 24 hours, signed by the object store or, on local disk, by us."""
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.files.storage import storages
from django.urls import reverse
from django.utils import timezone

LINK_LIFETIME = timedelta(hours=24)
_SALT = "telephony.recording"


def recording_link(call) -> tuple[str, timezone.datetime]:
    """A URL to the call's recording valid for 24 hours, and when it stops working."""
    expires_at = timezone.now() + LINK_LIFETIME
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # pragma: no cover - django-storages is a pinned dependency
        S3Storage = None
    storage = storages["default"]
    if S3Storage is not None and isinstance(storage, S3Storage):
        return storage.url(call.recording_path, expire=int(LINK_LIFETIME.total_seconds())), expires_at
    token = signing.TimestampSigner(salt=_SALT).sign(str(call.id))
    path = reverse("v1-call-recording-file", kwargs={"token": token})
    return settings.SITE_URL.rstrip("/") + path, expires_at


def call_id_for_token(token: str) -> str | None:
    """The call a local recording link names, or None when the link is forged or older than 24 hours."""
    try:
        return signing.TimestampSigner(salt=_SALT).unsign(token, max_age=LINK_LIFETIME)
    except signing.BadSignature:
        return None
