"""Time and peak memory of reading a DOCX ZIP bomb and a large legitimate DOCX with `knowledge.extraction`, each in a
fresh child process (its own peak RSS), as the `heavy` worker reads uploads (issue 12 item 9).

    .venv/bin/python bench/knowledge_zip_bomb.py [--inflate-mb 60] [--legit-mb 8]

The bomb is one `word/document.xml` of tiny paragraphs inflating to --inflate-mb (deflated at level 9, well under
1 MB); the legitimate file has the same paragraphs with varied words (so it compresses like a real document) and
inflates to --legit-mb. For each: bytes on disk, outcome (characters of text, or the failure reason), seconds,
and the child's peak RSS.
"""
import argparse
import io
import json
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>')
TAIL = b"</w:body></w:document>"
CHILD = """
import json, os, resource, sys, time
sys.path.insert(0, %r)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
import django; django.setup()
from knowledge import extraction
from knowledge.services import parse_limits
data = sys.stdin.buffer.read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.monotonic()
try:
    outcome = "%%d characters" %% len(extraction.extract_text("docx", data, parse_limits()))
except extraction.ExtractionError as exc:
    outcome = "failed: %%s" %% exc
print(json.dumps({"outcome": outcome, "seconds": round(time.monotonic() - started, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                  "rss_before_mb": round(before / 1024, 1)}))
""" % str(ROOT)


def docx(megabytes: int, varied: bool) -> bytes:
    words = ["clinic", "opening", "hours", "saturday", "cleaning", "price", "dentist", "appointment", "parking"]
    rng = random.Random(7)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            part.write(HEAD)
            written = 0
            while written < megabytes * 1024 * 1024:
                if varied:
                    text = " ".join(rng.choice(words) + str(rng.randint(0, 999)) for _ in range(12))
                    block = "".join(f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>" for _ in range(20)).encode()
                else:
                    block = b"<w:p><w:r><w:t>a</w:t></w:r></w:p>" * 30_000
                part.write(block)
                written += len(block)
            part.write(TAIL)
    return buffer.getvalue()


def measure(label: str, data: bytes) -> None:
    child = subprocess.run([sys.executable, "-c", CHILD], input=data, capture_output=True, cwd=ROOT, timeout=600)
    result = json.loads(child.stdout.decode().strip().splitlines()[-1])
    print(f"{label:<34} {len(data) / 1024:>9.0f} KiB on disk  {result['seconds']:>6.2f} s  "
          f"peak RSS {result['peak_rss_mb']:>7.1f} MB (at start {result['rss_before_mb']:.1f})  {result['outcome']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--inflate-mb", type=int, default=60)
    parser.add_argument("--legit-mb", type=int, default=8)
    arguments = parser.parse_args()
    measure(f"ZIP bomb, {arguments.inflate_mb} MB inflated", docx(arguments.inflate_mb, varied=False))
    measure(f"varied DOCX, {arguments.legit_mb} MB inflated", docx(arguments.legit_mb, varied=True))
