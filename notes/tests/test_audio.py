import pytest

from notes.audio import describe_unknown, detect_audio_format
from notes.tests.conftest import wav_bytes


@pytest.mark.parametrize(("head", "name", "mime"), [
    (wav_bytes(), "wav", "audio/wav"),
    (b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x00" * 20, "mp3", "audio/mpeg"),
    (b"\xff\xfb\x90\x64" + b"\x00" * 20, "mp3", "audio/mpeg"),
    (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00", "m4a", "audio/mp4"),
    (b"\xff\xf1\x50\x80" + b"\x00" * 20, "aac", "audio/aac"),
    (b"OggS\x00\x02" + b"\x00" * 22 + b"OpusHead\x01\x01", "ogg", "audio/ogg; codecs=opus"),
    (b"OggS\x00\x02" + b"\x00" * 22 + b"\x01vorbis", "ogg", "audio/ogg"),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01", "webm", "audio/webm"),
])
def test_accepted_containers_are_recognised_from_their_bytes(head, name, mime):
    detected = detect_audio_format(head)
    assert (detected.name, detected.mime) == (name, mime)


@pytest.mark.parametrize(("head", "received"), [
    (b"%PDF-1.7\n", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"hello, this is not audio", "text/plain"),
])
def test_other_files_are_not_audio_and_are_named(head, received):
    assert detect_audio_format(head) is None
    assert describe_unknown(head, "audio/mpeg") == received
