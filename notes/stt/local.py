"""Offline recogniser: faster-whisper (CTranslate2) on Whisper models shipped inside Python packages.

Models are loaded by path (notes/stt/bundled_models.py), so nothing is downloaded at run time: the multilingual
"base" by default, "tiny.en" for English when NOTES_STT_ENGLISH_MODEL_SIZE says so; NOTES_STT_MODEL_PATH overrides
both. The note's language is passed to the model and never replaced: an English-only model refuses another
language. A transcript Whisper itself doubts (the spoken language is not the note's, low log-probability, a
repetition loop, mostly no speech) is refused with the reason, so the note fails instead of completing with
invented text. faster-whisper decodes wav, mp3, m4a, ogg/opus and webm with PyAV.
"""
import os
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from . import bundled_models
from .vocabulary import initial_prompt
from .base import SpeechToText, Transcription, TranscriptionError

_lock = threading.Lock()
_models: dict[tuple, object] = {}
SAMPLING_RATE = 16000
# Whisper's own rule for a silent window: no-speech probability above the limit and log-probability below this.
SILENCE_LOGPROB = -1.0


class UnreliableTranscription(TranscriptionError):
    """The model produced text, but its own measures say the text cannot be trusted; `reason` is a code
    (language_mismatch, low_confidence, repetition, no_speech), `details` the measures behind it and `text` what
    was heard, if anything (never put in the message: the failure reason is stored in clear)."""

    def __init__(self, reason: str, message: str, details: dict, text: str = ""):
        super().__init__(message)
        self.reason, self.details, self.text = reason, details, text


@dataclass
class Confidence:
    """Whisper's measures over a transcript, weighted by each segment's duration; `silent_share` is the share of
    the duration in segments Whisper's own rule calls silence (no-speech probability above the maximum and
    log-probability below -1: a confident segment with a high no-speech probability is speech)."""
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float
    silent_share: float


def model_name(language: str) -> str:
    """The bundled model used for `language` (NOTES_STT_ENGLISH_MODEL_SIZE for English)."""
    if language == "en" and settings.NOTES_STT_ENGLISH_MODEL_SIZE:
        return settings.NOTES_STT_ENGLISH_MODEL_SIZE
    return settings.NOTES_STT_MODEL_SIZE or bundled_models.BASE


def model_path(language: str = "en") -> Path:
    """The model directory for `language`: NOTES_STT_MODEL_PATH, else the bundled model its setting names."""
    if settings.NOTES_STT_MODEL_PATH:
        path = Path(settings.NOTES_STT_MODEL_PATH)
    else:
        path = bundled_models.path_of(model_name(language))
    if not (path / "model.bin").is_file():
        raise ImproperlyConfigured(f"NOTES_STT_MODEL_PATH {path} holds no CTranslate2 model.bin")
    return path


def load_model(language: str = "en"):
    """The process-wide WhisperModel for `language`; loading takes a second or two, so it is done once per
    worker and model."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    key = (str(model_path(language)), settings.NOTES_STT_COMPUTE_TYPE, settings.NOTES_STT_CPU_THREADS)
    with _lock:
        if key not in _models:
            from faster_whisper import WhisperModel

            _models[key] = WhisperModel(key[0], device="cpu", compute_type=key[1], cpu_threads=key[2],
                                        local_files_only=True)
        return _models[key]


def compression_ratio(text: str) -> float:
    """Whisper's repetition measure: text bytes over zlib-compressed bytes (a loop compresses well)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def confidence_of(segments) -> Confidence:
    weights = [max(segment.end - segment.start, 0.01) for segment in segments]
    total = sum(weights)

    def mean(values):
        return sum(value * weight for value, weight in zip(values, weights)) / total

    silent = [segment.no_speech_prob > settings.NOTES_STT_MAX_NO_SPEECH_PROB
              and segment.avg_logprob < SILENCE_LOGPROB for segment in segments]
    return Confidence(avg_logprob=mean([segment.avg_logprob for segment in segments]),
                      compression_ratio=mean([compression_ratio(segment.text) for segment in segments]),
                      no_speech_prob=mean([segment.no_speech_prob for segment in segments]),
                      silent_share=mean([float(flag) for flag in silent]))


def check_confidence(confidence: Confidence) -> None:
    """Refuse a transcript whose confidence is past the NOTES_STT_* limits, naming the measure."""
    details = {"avg_logprob": round(confidence.avg_logprob, 3),
               "compression_ratio": round(confidence.compression_ratio, 3),
               "no_speech_prob": round(confidence.no_speech_prob, 3),
               "silent_share": round(confidence.silent_share, 3)}
    if confidence.silent_share > 0.5:
        raise UnreliableTranscription(
            "no_speech", f"Not valid: most of the recording seems to hold no speech ({confidence.silent_share:.0%} "
            f"of it has a no-speech probability above {settings.NOTES_STT_MAX_NO_SPEECH_PROB} and a "
            f"log-probability below {SILENCE_LOGPROB}).", details)
    if confidence.compression_ratio > settings.NOTES_STT_MAX_COMPRESSION_RATIO:
        raise UnreliableTranscription(
            "repetition", f"Not valid: the transcript repeats itself (compression ratio "
            f"{confidence.compression_ratio:.2f} > {settings.NOTES_STT_MAX_COMPRESSION_RATIO}).", details)
    if confidence.avg_logprob < settings.NOTES_STT_MIN_AVG_LOGPROB:
        raise UnreliableTranscription(
            "low_confidence", f"Not valid: the recogniser is not confident of the transcript (mean "
            f"log-probability {confidence.avg_logprob:.2f} < {settings.NOTES_STT_MIN_AVG_LOGPROB}).", details)


def check_language(model, audio, language: str) -> tuple[str, float]:
    """Detect the spoken language on the first 30 seconds; refuse unless the note's language is the detector's
    first pick or at least NOTES_STT_MIN_LANGUAGE_PROB probable. Returns the detected language and its
    probability."""
    detected, probability, ranked = model.detect_language(audio=audio[:30 * SAMPLING_RATE])
    requested_probability = dict(ranked).get(language, 0.0)
    if detected != language and requested_probability < settings.NOTES_STT_MIN_LANGUAGE_PROB:
        raise UnreliableTranscription(
            "language_mismatch",
            f"Not valid: the recording sounds like {detected!r} (probability {probability:.2f}), not the "
            f"note's language {language!r} (probability {requested_probability:.2f}).",
            {"detected_language": detected, "detected_probability": round(probability, 3),
             "requested_language": language, "requested_probability": round(requested_probability, 3)})
    return detected, probability


class LocalSpeechToText(SpeechToText):
    name = "local"

    def transcribe(self, audio_path, language, mime=""):
        from faster_whisper.audio import decode_audio

        language = (language or "en").split("-")[0].lower()
        model = load_model(language)
        if not model.model.is_multilingual and language != "en":
            raise TranscriptionError(
                f"The speech-to-text model {model_name(language)!r} is English-only and the note is in "
                f"{language!r}; set NOTES_STT_MODEL_SIZE=base (or NOTES_STT_MODEL_PATH to a multilingual model).")
        try:
            audio = decode_audio(audio_path, sampling_rate=SAMPLING_RATE)
        except Exception as exc:  # PyAV raises its own error family for undecodable input
            raise TranscriptionError(f"Could not decode the audio: {exc}") from exc
        if not len(audio):
            raise TranscriptionError("No speech was recognised in the recording.")
        if model.model.is_multilingual:
            check_language(model, audio, language)
        try:
            segments, info = model.transcribe(audio, language=language, beam_size=settings.NOTES_STT_BEAM_SIZE,
                                              vad_filter=False, condition_on_previous_text=False,
                                              initial_prompt=initial_prompt(language))
            segments = [segment for segment in segments if segment.text.strip()]
        except Exception as exc:
            raise TranscriptionError(f"Could not transcribe the audio: {exc}") from exc
        text = " ".join(segment.text.strip() for segment in segments).strip()
        if not text:
            raise TranscriptionError("No speech was recognised in the recording.")
        confidence = confidence_of(segments)
        try:
            check_confidence(confidence)
        except UnreliableTranscription as exc:
            exc.text = text
            raise
        return Transcription(text=text, language=language, duration_seconds=info.duration,
                             confidence={key: round(value, 3) for key, value in vars(confidence).items()})
