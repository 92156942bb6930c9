import shutil
import subprocess

import pytest

SPOKEN_NOTE = ("The patient complains of a cough for three days. On exam the temperature is thirty eight degrees. "
               "The diagnosis is bronchitis. The plan is rest and fluids.")


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Uploaded recordings land in the test's own directory."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def eager_tasks():
    """Run the pipeline in-process: pytest-django reads the settings before the root conftest sets
    CELERY_TASK_ALWAYS_EAGER, so a Redis on the machine would otherwise receive the tasks."""
    from config.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.fixture(autouse=True)
def local_providers(settings):
    settings.PROVIDERS = {**settings.PROVIDERS, "stt": "local", "llm": "local"}


@pytest.fixture
def notes_client(make_client, clinic):
    """A client of `clinic` sending its key as `X-API-KEY`, as docs/api/notes.md documents."""
    return make_client(clinic, header="x-api-key")


@pytest.fixture
def foreign_notes_client(make_client, other_clinic):
    return make_client(other_clinic, header="x-api-key")


def speak(text: str, path, voice="en-us", speed=140) -> str:
    """Write `text` spoken by espeak-ng to a WAV file; skip the test when espeak-ng is not installed."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.skip("espeak-ng is not installed (apt-get install -y espeak-ng; `make test` installs it)")
    subprocess.run([espeak, "-v", voice, "-s", str(speed), "-w", str(path), text], check=True,
                   capture_output=True)
    return str(path)


@pytest.fixture
def spoken_note_wav(tmp_path_factory):
    return speak(SPOKEN_NOTE, tmp_path_factory.mktemp("speech") / "consultation.wav")


# Smallest valid heads of each accepted container; enough for format detection.
def wav_bytes(payload=b"\x00\x00" * 800) -> bytes:
    import struct

    data = payload
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
            + b"data" + struct.pack("<I", len(data)) + data)


def encode_audio(wav_path, out_path, container: str, codec: str, rate=48000) -> str:
    """Re-encode a WAV file with PyAV (e.g. webm/libopus as browsers record, mp3, m4a/aac)."""
    import av

    with av.open(str(wav_path)) as source, av.open(str(out_path), "w", format=container) as target:
        stream = target.add_stream(codec, rate=rate, layout="mono")
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate)
        for frame in source.decode(audio=0):
            frame.pts = None
            for resampled in resampler.resample(frame):
                target.mux(stream.encode(resampled))
        for resampled in resampler.resample(None):
            target.mux(stream.encode(resampled))
        target.mux(stream.encode(None))
    return str(out_path)
