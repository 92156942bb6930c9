"""The audio upload's size limit (`NOTES_MAX_AUDIO_BYTES`), enforced before the body is read."""
from django.conf import settings

from clinics.uploads import SizeLimitHandler


class AudioSizeLimitHandler(SizeLimitHandler):
    @classmethod
    def max_bytes(cls) -> int:
        return settings.NOTES_MAX_AUDIO_BYTES


check_declared_length = AudioSizeLimitHandler.check_declared_length
