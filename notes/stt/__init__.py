"""The speech-to-text capability: `stt.backend().transcribe(path, language)`, chosen by settings.PROVIDERS["stt"]."""
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .base import SpeechToText, Transcription, TranscriptionError

BACKENDS = {
    "local": "notes.stt.local.LocalSpeechToText",
    "openai": "notes.stt.openai_backend.OpenAISpeechToText",
}

__all__ = ["BACKENDS", "SpeechToText", "Transcription", "TranscriptionError", "backend"]


def backend() -> SpeechToText:
    choice = settings.PROVIDERS.get("stt") or "local"
    if choice not in BACKENDS:
        raise ImproperlyConfigured(f"PROVIDERS['stt'] = {choice!r}; expected one of {sorted(BACKENDS)}")
    return import_string(BACKENDS[choice])()
