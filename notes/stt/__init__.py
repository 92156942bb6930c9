"""The speech-to-text capability: `stt.backend().transcribe(path, language)`, chosen by settings.PROVIDERS["stt"]."""
from config.providers import Capability, register

from .base import SpeechToText, Transcription, TranscriptionError

BACKENDS = {
    "local": "notes.stt.local.LocalSpeechToText",
    "openai": "notes.stt.openai_backend.OpenAISpeechToText",
}

__all__ = ["STT", "BACKENDS", "SpeechToText", "Transcription", "TranscriptionError", "backend"]


STT = register(Capability("stt", BACKENDS))


def backend() -> SpeechToText:
    """A fresh instance of the configured backend (it reads its settings, e.g. OPENAI_BASE_URL, when built)."""
    return STT.backend_class()()
