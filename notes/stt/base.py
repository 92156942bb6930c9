"""Speech-to-text: what the notes pipeline needs from any recogniser."""
from dataclasses import dataclass


class TranscriptionError(Exception):
    """The recogniser could not turn the audio into text; the message is kept as the note's failure reason."""


@dataclass
class Transcription:
    text: str
    language: str
    duration_seconds: float | None = None
    # The recogniser's own measures, when it has any (the local one: avg_logprob, compression_ratio, ...).
    confidence: dict | None = None


class SpeechToText:
    name = ""

    def transcribe(self, audio_path: str, language: str, mime: str = "") -> Transcription:
        """Text of the recording at `audio_path`, spoken in `language` (ISO 639-1, e.g. "pt")."""
        raise NotImplementedError
