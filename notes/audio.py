"""What an uploaded recording is, decided from its first bytes, never from its name or declared type."""
from dataclasses import dataclass


@dataclass(frozen=True)
class AudioFormat:
    name: str       # short name, also the stored file's extension
    mime: str


WAV = AudioFormat("wav", "audio/wav")
MP3 = AudioFormat("mp3", "audio/mpeg")
M4A = AudioFormat("m4a", "audio/mp4")
AAC = AudioFormat("aac", "audio/aac")
OGG_OPUS = AudioFormat("ogg", "audio/ogg; codecs=opus")
OGG_VORBIS = AudioFormat("ogg", "audio/ogg")
WEBM = AudioFormat("webm", "audio/webm")

ACCEPTED_MIME_TYPES = ("audio/wav", "audio/mpeg", "audio/mp4", "audio/aac", "audio/ogg", "audio/webm")

# Common things people upload by mistake, so the error can say what was received.
_OTHER_SIGNATURES = (
    (b"%PDF", "application/pdf"),
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
    (b"fLaC", "audio/flac"),
    (b"#!AMR", "audio/amr"),
)

HEAD_BYTES = 64


def _mpeg_frame_sync(head: bytes) -> AudioFormat | None:
    if len(head) < 2 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    layer = (head[1] >> 1) & 0b11
    # ADTS (raw AAC) shares the sync word but always has layer 00; MP3 never does.
    if layer == 0:
        return AAC if head[1] & 0xF6 == 0xF0 else None
    return MP3


def detect_audio_format(head: bytes) -> AudioFormat | None:
    """The audio container of a file from its first bytes (`HEAD_BYTES` are enough), or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    if head[:3] == b"ID3":
        return MP3
    if head[4:8] == b"ftyp":
        return M4A
    if head[:4] == b"OggS":
        return OGG_OPUS if b"OpusHead" in head else OGG_VORBIS
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return WEBM
    return _mpeg_frame_sync(head)


def describe_unknown(head: bytes, declared: str | None) -> str:
    """A content type for a file that is not accepted audio: sniffed when recognisable, else as declared."""
    for signature, mime in _OTHER_SIGNATURES:
        if head.startswith(signature):
            return mime
    if head and all(32 <= byte < 127 or byte in (9, 10, 13) for byte in head):
        return "text/plain"
    return declared or "application/octet-stream"
