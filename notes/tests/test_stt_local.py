"""The local recogniser: the note's language reaches the multilingual model and is never replaced by English; a
transcript Whisper doubts is refused with the reason (the note fails at transcription, so it is not valid)."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from notes import services
from notes.models import Note
from notes.stt import bundled_models
from notes.stt.local import Confidence, UnreliableTranscription, check_confidence
from notes.tests.conftest import SPOKEN_NOTE, speak

PORTUGUESE_NOTE = ("A doente queixa-se de tosse e febre há três dias. Ao exame, a temperatura é de trinta e oito "
                   "graus. Diagnóstico: bronquite. Plano: repouso e muitos líquidos.")
PORTUGUESE_WORDS = {"a", "o", "de", "e", "do", "da", "que", "em", "com", "os", "as", "um", "uma", "no", "na", "é"}
ENGLISH_WORDS = {"the", "and", "of", "is", "for", "with", "a", "on", "in", "to", "days", "plan", "diagnosis"}


@pytest.fixture
def portuguese_clinic(clinic):
    clinic.locale = "pt-pt"
    clinic.kind = "human"
    clinic.save()
    return clinic


def processed_note(clinic, wav_path) -> Note:
    with open(wav_path, "rb") as handle:
        upload = SimpleUploadedFile("consultation.wav", handle.read(), content_type="audio/wav")
    note = services.note_create(clinic=clinic, audio=upload, actor=None)
    services.note_process(note_id=note.pk)
    note.refresh_from_db()
    return note


def words_of(text: str) -> list[str]:
    return [word.strip(".,:;!?").lower() for word in text.split()]


def test_english_speech_on_a_portuguese_clinics_note_is_not_valid_and_says_which_language_was_heard(
        portuguese_clinic, tmp_path):
    note = processed_note(portuguese_clinic, speak(SPOKEN_NOTE, tmp_path / "english.wav"))

    assert note.language == "pt"
    assert (note.transcription_status, note.failed_step) == ("failed", "transcription")
    assert "'en'" in note.failure_reason and "'pt'" in note.failure_reason
    assert note.transcript == ""
    assert not note.sections.exists()


def test_portuguese_speech_comes_back_portuguese_or_not_valid_never_english(portuguese_clinic, tmp_path):
    note = processed_note(portuguese_clinic, speak(PORTUGUESE_NOTE, tmp_path / "portuguese.wav", voice="pt"))

    if note.transcription_status == "completed":
        heard = words_of(note.transcript)
        assert sum(word in PORTUGUESE_WORDS for word in heard) > sum(word in ENGLISH_WORDS for word in heard)
        assert [section.title for section in note.sections.order_by("order")][:2] == ["Anamnese", "Exame físico"]
    else:
        assert (note.transcription_status, note.failed_step) == ("failed", "transcription")
        assert note.failure_reason.startswith("Not valid:")
        assert note.transcript == ""


def test_an_english_only_model_refuses_a_portuguese_note_instead_of_transcribing_it_as_english(
        portuguese_clinic, settings):
    from notes.tests.conftest import wav_bytes

    settings.NOTES_STT_MODEL_SIZE = "tiny.en"
    note = services.note_create(clinic=portuguese_clinic, audio=SimpleUploadedFile("a.wav", wav_bytes()),
                                actor=None)
    assert services.note_process(note_id=note.pk) == "failed"
    note.refresh_from_db()
    assert note.failed_step == "transcription"
    assert "English-only" in note.failure_reason and "'pt'" in note.failure_reason


@pytest.mark.parametrize(("confidence", "reason"), [
    (Confidence(avg_logprob=-0.9, compression_ratio=1.4, no_speech_prob=0.1, silent_share=0.0), "low_confidence"),
    (Confidence(avg_logprob=-0.3, compression_ratio=3.1, no_speech_prob=0.1, silent_share=0.0), "repetition"),
    (Confidence(avg_logprob=-1.2, compression_ratio=1.2, no_speech_prob=0.9, silent_share=0.8), "no_speech"),
])
def test_doubtful_transcripts_are_refused_with_their_reason(confidence, reason):
    with pytest.raises(UnreliableTranscription) as refused:
        check_confidence(confidence)
    assert refused.value.reason == reason
    assert str(refused.value).startswith("Not valid:")


def test_a_confident_transcript_with_a_high_no_speech_probability_is_speech():
    # Whisper's no-speech probability is high on some clear synthetic speech; its log-probability says otherwise.
    check_confidence(Confidence(avg_logprob=-0.3, compression_ratio=1.1, no_speech_prob=0.72, silent_share=0.0))


def test_the_multilingual_model_is_joined_once_from_its_two_packages(settings, tmp_path):
    settings.NOTES_STT_MODEL_CACHE_DIR = str(tmp_path / "models")
    parts, others, _fingerprint = bundled_models.base_parts()

    path = bundled_models.base_path()

    assert (path / "model.bin").stat().st_size == sum(size for _part, size, _digest in parts)
    assert sorted(item.name for item in path.iterdir()) == sorted(bundled_models.MODEL_FILES)
    assert [item.name for item in path.parent.iterdir()] == [path.name]  # no staging directory left behind
    joined_at = (path / "model.bin").stat().st_mtime_ns
    assert bundled_models.base_path() == path
    assert (path / "model.bin").stat().st_mtime_ns == joined_at
