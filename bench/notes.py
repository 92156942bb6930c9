"""Seconds of processing per minute of audio for the local recogniser (faster-whisper, bundled tiny.en).

    .venv/bin/python bench/notes.py [--seconds 60] [--runs 2] [--audio file]

Makes about a minute of consultation speech with espeak-ng (or uses --audio), loads the model once (the load is
reported apart, as a worker pays it once), then times the transcription.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

SENTENCES = [
    "The patient complains of a cough for three days.",
    "The owner says the dog has been eating less since Monday.",
    "On exam the temperature is thirty eight degrees and the heart rate is normal.",
    "The lungs sound clear on auscultation.",
    "The diagnosis is bronchitis.",
    "The plan is rest and fluids, and a recheck in one week.",
]


def make_speech(target_seconds: float, directory: str) -> str:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        sys.exit("espeak-ng is not installed: apt-get install -y espeak-ng (or pass --audio)")
    # espeak at 140 words per minute says the six sentences in about 22 seconds.
    repeats = max(1, round(target_seconds / 22))
    path = os.path.join(directory, "bench.wav")
    subprocess.run([espeak, "-v", "en-us", "-s", "140", "-w", path, " ".join(SENTENCES * repeats)], check=True)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of generated speech")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--audio", help="a recording to use instead of generated speech")
    options = parser.parse_args()

    import django

    django.setup()
    from notes.services import audio_duration
    from notes.stt.local import LocalSpeechToText, load_model, model_path

    with tempfile.TemporaryDirectory() as directory:
        audio = options.audio or make_speech(options.seconds, directory)
        duration = audio_duration(audio)
        started = time.perf_counter()
        load_model()
        load_seconds = time.perf_counter() - started
        recogniser = LocalSpeechToText()
        timings = []
        for _run in range(options.runs):
            started = time.perf_counter()
            result = recogniser.transcribe(audio, "en")
            timings.append(time.perf_counter() - started)

    best = min(timings)
    print(f"model: {model_path()}  cpus: {os.cpu_count()}")
    print(f"audio: {duration:.1f} s; model load: {load_seconds:.2f} s; runs: "
          + ", ".join(f"{seconds:.2f} s" for seconds in timings))
    print(f"words recognised: {len(result.text.split())}")
    print(f"{best / duration * 60:.2f} seconds of processing per minute of audio "
          f"(real-time factor {best / duration:.3f})")


if __name__ == "__main__":
    main()
