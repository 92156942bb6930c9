"""Phones and browsers record compressed audio: each accepted container is detected and transcribed offline."""
import pytest

from notes.tests.conftest import encode_audio


@pytest.mark.parametrize(("container", "codec", "suffix", "audio_format", "mime"), [
    ("webm", "libopus", "webm", "webm", "audio/webm"),
    ("ogg", "libopus", "ogg", "ogg", "audio/ogg; codecs=opus"),
    ("mp3", "libmp3lame", "mp3", "mp3", "audio/mpeg"),
    ("mp4", "aac", "m4a", "m4a", "audio/mp4"),
])
def test_compressed_recording_is_detected_and_transcribed(notes_client, clinic, spoken_note_wav, tmp_path,
                                                          django_capture_on_commit_callbacks, container, codec,
                                                          suffix, audio_format, mime):
    from notes.models import Note

    clinic.locale = "en"
    clinic.save()
    path = encode_audio(spoken_note_wav, tmp_path / f"consultation.{suffix}", container, codec)
    # A misleading name: the bytes decide.
    with open(path, "rb") as audio, django_capture_on_commit_callbacks(execute=True):
        response = notes_client.post("/notes/v1/notes", {"audio": audio}, format="multipart")
    assert response.status_code == 201, response.content

    note = Note.objects.get(pk=response.json()["data"]["id"])
    assert (note.audio_format, note.audio_mime) == (audio_format, mime)
    assert note.transcription_status == "completed", note.failure_reason
    assert "cough" in note.transcript.lower() and "temperature" in note.transcript.lower()
    assert note.duration_seconds == pytest.approx(11.9, abs=1.5)
