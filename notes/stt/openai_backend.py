"""OpenAI speech-to-text through the official SDK (`audio.transcriptions.create`)."""
from pathlib import Path

from django.conf import settings

from .base import SpeechToText, Transcription, TranscriptionError


def openai_client():
    """An SDK client on the configured key and base URL (tests point the base URL at a local fake); the SDK
    itself retries connection errors, 429 and 5xx with backoff before a step is marked failed."""
    import openai

    return openai.OpenAI(api_key=settings.OPENAI_API_KEY or "missing-key", base_url=settings.OPENAI_BASE_URL,
                         timeout=settings.OPENAI_TIMEOUT_SECONDS, max_retries=2)


class OpenAISpeechToText(SpeechToText):
    name = "openai"

    def transcribe(self, audio_path, language, mime=""):
        import openai

        path = Path(audio_path)
        # The API takes ISO 639-1 ("pt"), not a locale ("pt-PT").
        language = (language or "en").replace("_", "-").split("-")[0].lower()
        try:
            with path.open("rb") as handle:
                result = openai_client().audio.transcriptions.create(
                    model=settings.OPENAI_TRANSCRIPTION_MODEL,
                    file=(path.name, handle, mime or "application/octet-stream"),
                    language=language,
                    response_format="json",
                )
        except openai.OpenAIError as exc:
            raise TranscriptionError(f"OpenAI transcription failed: {exc}") from exc
        text = (getattr(result, "text", "") or "").strip()
        if not text:
            raise TranscriptionError("OpenAI returned an empty transcript.")
        return Transcription(text=text, language=language)
