"""Writes on consultation notes: create from an upload, run the pipeline, retry, edit a section.

Services are keyword-only, run in one transaction, are audited and raise `clinics.errors.DomainError`s with the
codes of `notes/errors.py`; the API (docs/api/notes.md) and the console call the same ones.
"""
import contextlib
import json
import logging
import os
import tempfile
import time

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics import audit
from clinics.bounded_json import json_problem
from clinics.crypto import name_tokens
from clinics.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge

from . import structuring, stt
from .audio import ACCEPTED_MIME_TYPES, HEAD_BYTES, describe_unknown, detect_audio_format
from .errors import NoteCode
from .models import Note, NoteSection, name_index_for

logger = logging.getLogger(__name__)

FAILURE_REASON_MAX = 1000
METADATA_MAX_ITEMS = 50
METADATA_MAX_BYTES = 16 * 1024
METADATA_MAX_DEPTH = 4
METADATA_KEY_MAX = 100
METADATA_VALUE_MAX = 2000


def clinic_language(clinic) -> str:
    """The ISO 639-1 language the clinic consults in ("pt-pt" -> "pt")."""
    return (clinic.locale or "en").split("-")[0].lower()


def _invalid_metadata(message, detail=None):
    return InvalidInput(NoteCode.INVALID_METADATA, message, {"metadata": [detail or message]})


def metadata_items(raw) -> list[dict]:
    """Normalise metadata to the documented list of `{key, value}` (docs/api/notes.md, MetadataItem); a plain JSON
    object is accepted too and becomes one item per key. At most METADATA_MAX_ITEMS items, METADATA_MAX_BYTES
    bytes and METADATA_MAX_DEPTH levels; keys of at most METADATA_KEY_MAX characters and values of at most
    METADATA_VALUE_MAX."""
    if raw in (None, "", b""):
        return []
    if isinstance(raw, (str, bytes)):
        if len(raw) > METADATA_MAX_BYTES:
            raise _invalid_metadata(_("metadata is too large."),
                                    _("At most %(size)d bytes.") % {"size": METADATA_MAX_BYTES})
        try:
            raw = json.loads(raw)
        except ValueError:
            raise _invalid_metadata(_("metadata must be JSON."), _("Not valid JSON."))
    problem = json_problem(raw, max_depth=METADATA_MAX_DEPTH, max_bytes=METADATA_MAX_BYTES)
    if problem:
        raise _invalid_metadata(_("metadata is too large or too deep."), problem)
    if isinstance(raw, dict):
        raw = [{"key": key, "value": value} for key, value in raw.items()]
    if not isinstance(raw, list) or not all(isinstance(item, dict) and "key" in item for item in raw):
        raise _invalid_metadata(_("metadata must be a list of {key, value} items or a JSON object."),
                                _("Expected [{\"key\": ..., \"value\": ...}]."))
    if len(raw) > METADATA_MAX_ITEMS:
        raise _invalid_metadata(_("metadata has too many items."),
                                _("At most %(count)d items.") % {"count": METADATA_MAX_ITEMS})
    items = []
    for item in raw:
        key, value = item["key"], item.get("value")
        key = "" if key is None else str(key)
        value = "" if value is None else (value if isinstance(value, str) else json.dumps(value))
        if not key or len(key) > METADATA_KEY_MAX:
            raise _invalid_metadata(_("Each metadata key is a text of 1 to %(size)d characters.")
                                    % {"size": METADATA_KEY_MAX})
        if len(value) > METADATA_VALUE_MAX:
            raise _invalid_metadata(_("A metadata value is longer than %(size)d characters.")
                                    % {"size": METADATA_VALUE_MAX})
        items.append({"key": key, "value": value})
    return items


def _name_from(name: str, metadata: list[dict]) -> str:
    if name:
        return name
    for item in metadata:
        if item["key"] in ("patient_name", "name", "nome", "paciente"):
            return item["value"]
    return ""


@transaction.atomic
def note_create(*, clinic, audio, metadata=None, patient=None, appointment=None, actor, name="", gender="",
                external_id="", template="", language="") -> Note:
    """Store an uploaded recording as a `pending` note of `clinic` and queue its processing
    (docs/api/notes.md, Create a note).

    The format is decided from the file's first bytes: anything but wav, mp3, m4a/aac, ogg or webm is
    INVALID_AUDIO_FORMAT; a file over NOTES_MAX_AUDIO_BYTES is PAYLOAD_TOO_LARGE. `patient` and `appointment` are
    the ids the caller names; another clinic's are refused like unknown ones, and nothing is stored then.
    """
    if audio.size is not None and audio.size > settings.NOTES_MAX_AUDIO_BYTES:
        raise PayloadTooLarge(settings.NOTES_MAX_AUDIO_BYTES, audio.size)
    audio.seek(0)
    head = audio.read(HEAD_BYTES)
    audio.seek(0)
    audio_format = detect_audio_format(head)
    if audio_format is None:
        raise InvalidInput(NoteCode.INVALID_AUDIO_FORMAT, _("Invalid audio format"), {
            "expected": ", ".join(ACCEPTED_MIME_TYPES),
            "received": describe_unknown(head, getattr(audio, "content_type", None)),
        })
    if not head:
        raise InvalidInput(NoteCode.INVALID_AUDIO_FORMAT, _("The audio file is empty"),
                           {"expected": ", ".join(ACCEPTED_MIME_TYPES), "received": "empty"})
    items = metadata_items(metadata)
    patient, appointment = _linked_records(clinic, patient, appointment)
    note = Note(clinic=clinic, patient=patient, appointment=appointment, gender=gender or "",
                external_id=external_id or "", metadata=items,
                audio_format=audio_format.name, audio_mime=audio_format.mime, audio_bytes=audio.size or 0,
                template=template or (Note.Template.VETERINARY if clinic.kind == "veterinary"
                                      else Note.Template.HUMAN),
                language=language or clinic_language(clinic))
    note.set_name(_name_from(name, items) or (patient.name if patient else ""))
    note.audio.save(f"{note.id}.{audio_format.name}", audio, save=False)
    note.save()
    audit.record(actor, "note.created", "note", note.pk, purpose="consultation note", clinic=clinic)
    enqueue_processing(note)
    return note


def _related(field_name):
    # Notes refer to scheduling's patients and appointments by string references only (notes never imports
    # scheduling): the model comes from the foreign key itself.
    return Note._meta.get_field(field_name).related_model


def _linked_records(clinic, patient_id, appointment_id):
    """The clinic's patient and appointment a note refers to; another clinic's id is as unknown as no id."""
    patient = appointment = None
    if appointment_id:
        appointment = (_related("appointment").objects.for_clinic(clinic).filter(pk=appointment_id)
                       .select_related("patient").first())
        if appointment is None:
            raise InvalidInput(NoteCode.VALIDATION_ERROR, _("Unknown appointment."),
                               {"appointment_id": [_("No such appointment in this clinic.")]})
    if patient_id:
        patient = _related("patient").objects.for_clinic(clinic).filter(pk=patient_id).first()
        if patient is None:
            raise InvalidInput(NoteCode.VALIDATION_ERROR, _("Unknown patient."),
                               {"patient_id": [_("No such patient in this clinic.")]})
    if appointment is not None:
        if patient is not None and appointment.patient_id != patient.pk:
            raise InvalidInput(NoteCode.VALIDATION_ERROR, _("The appointment belongs to another patient."),
                               {"appointment_id": [_("The appointment belongs to another patient.")]})
        patient = patient or appointment.patient
    return patient, appointment


def enqueue_processing(note: Note) -> None:
    """Queue the note's processing once the caller's transaction commits. The note is stored first and stays
    `pending` without `queued_at` when the broker is down (a transactional outbox): the request still succeeds and
    config/sweeper.py queues it when the broker is back."""
    from .tasks import queue_processing

    note_id = str(note.id)
    if note.queued_at is not None:
        Note.objects.filter(pk=note_id).update(queued_at=None)
    transaction.on_commit(lambda: queue_processing(note_id))


@contextlib.contextmanager
def local_audio_path(note: Note):
    """A filesystem path to the note's audio, downloading it first when storage is remote (S3)."""
    try:
        path = note.audio.path
    except NotImplementedError:  # remote storage (S3) has no local path
        path = None
    if path is not None and os.path.isfile(path):
        yield path
        return
    suffix = f".{note.audio_format or 'bin'}"
    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        with default_storage.open(note.audio.name, "rb") as source:
            for chunk in iter(lambda: source.read(1024 * 1024), b""):
                handle.write(chunk)
        handle.flush()
        yield handle.name


def audio_duration(path: str) -> float | None:
    """Seconds of audio in a file, read from its container with PyAV (None when it cannot tell)."""
    try:
        import av

        with av.open(path) as container:
            if container.duration:
                return container.duration / 1_000_000
            stream = container.streams.audio[0]
            if stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
    except Exception:  # a container PyAV cannot read is reported by the recogniser, not here
        return None
    return None


def _fail(note_id, step: str, reason: str) -> None:
    Note.objects.filter(pk=note_id).update(
        transcription_status=Note.Status.FAILED, failed_step=step, failure_reason=reason[:FAILURE_REASON_MAX],
        updated_at=timezone.now())
    logger.warning("Note %s failed at %s: %s", note_id, step, reason)


def _claim(note_id) -> Note | None:
    """Move a pending (or interrupted processing) note to processing; None when there is nothing to do."""
    with transaction.atomic():
        note = Note.objects.select_for_update().filter(pk=note_id).first()
        if note is None or note.transcription_status not in (Note.Status.PENDING, Note.Status.PROCESSING):
            return None
        note.transcription_status = Note.Status.PROCESSING
        note.failed_step = ""
        note.failure_reason = ""
        note.attempts += 1
        note.save(update_fields=["transcription_status", "failed_step", "failure_reason", "attempts",
                                 "updated_at"])
        return note


def transcribe(note: Note) -> None:
    """Step 1: the recording's text, kept on the note. Skipped when a transcript already exists."""
    if note.transcript:
        return
    if not note.audio:
        raise stt.TranscriptionError("The note has no recording.")
    recogniser = stt.backend()
    started = time.monotonic()
    with local_audio_path(note) as path:
        duration = audio_duration(path)
        result = recogniser.transcribe(path, note.language, note.audio_mime)
    note.transcript = result.text
    note.duration_seconds = result.duration_seconds or duration
    note.stt_backend = recogniser.name
    note.processing_seconds = time.monotonic() - started
    note.save(update_fields=["transcript", "duration_seconds", "stt_backend", "processing_seconds", "updated_at"])


def structure(note: Note) -> None:
    """Step 2: the template's sections from the transcript, upserted by label so a rerun never duplicates;
    a section someone already edited keeps its edit."""
    drafts = structuring.backend().structure(note.transcript, note.template, note.language)
    with transaction.atomic():
        existing = {section.label: section for section in note.sections.select_for_update()}
        for draft in drafts:
            section = existing.get(draft.label)
            if section is None:
                NoteSection.objects.create(note=note, label=draft.label, title=draft.title, content=draft.content,
                                           order=draft.order)
            elif section.edited_at is None:
                section.title, section.content, section.order = draft.title, draft.content, draft.order
                section.save(update_fields=["title", "content", "order", "updated_at"])
        Note.objects.filter(pk=note.pk).update(transcription_status=Note.Status.COMPLETED, failed_step="",
                                               failure_reason="", updated_at=timezone.now())


def note_process(*, note_id) -> str:
    """Run the pipeline of one note: transcription then structuring; each step is skipped when already done,
    so running it twice (a redelivered task) or after a failure never repeats finished work.
    Returns the note's final status."""
    note = _claim(note_id)
    if note is None:
        current = Note.objects.filter(pk=note_id).values_list("transcription_status", flat=True).first()
        return current or "missing"
    step = Note.Step.TRANSCRIPTION
    try:
        transcribe(note)
        step = Note.Step.STRUCTURING
        structure(note)
    except (stt.TranscriptionError, structuring.StructuringError) as exc:
        _fail(note.pk, step, str(exc))
        return Note.Status.FAILED
    except Exception as exc:
        logger.exception("Unexpected error processing note %s", note_id)
        _fail(note.pk, step, f"{type(exc).__name__}: {exc}")
        return Note.Status.FAILED
    return Note.Status.COMPLETED


def _note_of(clinic, note_id, *, lock=False) -> Note:
    notes = Note.objects.for_clinic(clinic)
    if lock:
        notes = notes.select_for_update()
    note = notes.filter(pk=note_id).first()
    if note is None:
        raise NotFound(NoteCode.NOTE_NOT_FOUND, _("Note not found"), {"id": str(note_id)})
    return note


@transaction.atomic
def note_retry(*, clinic, note_id, actor) -> Note:
    """Queue a failed note of `clinic` again from the step that failed (a transcription failure forgets the
    partial transcript; a structuring failure keeps it). Any other status is NOTE_NOT_RETRYABLE; another
    clinic's note is NOTE_NOT_FOUND."""
    note = _note_of(clinic, note_id, lock=True)
    if note.transcription_status != Note.Status.FAILED:
        raise InvalidInput(NoteCode.NOTE_NOT_RETRYABLE, _("Only a failed note can be processed again."),
                           {"transcription_status": note.transcription_status})
    if note.failed_step != Note.Step.STRUCTURING:
        note.transcript = ""
    note.transcription_status = Note.Status.PENDING
    note.save(update_fields=["transcript", "transcription_status", "updated_at"])
    audit.record(actor, "note.retried", "note", note.pk, purpose="consultation note", clinic=clinic,
                 failed_step=note.failed_step)
    enqueue_processing(note)
    return note


def _refuse_if_changed(section: NoteSection, version) -> None:
    """NOTE_CHANGED when the editor's copy of `section` (its `version`) is older than the stored one; no version
    (a client that does not send one) saves as before."""
    if version is not None and str(version) != section.version:
        raise Conflict(NoteCode.NOTE_CHANGED,
                       _("This section was changed elsewhere (another tab or person) after you opened it."),
                       {"id": str(section.pk), "version": section.version})


@transaction.atomic
def note_section_update(*, clinic, section_id, actor, content=None, title=None, version=None) -> NoteSection:
    """Edit the content and/or title of a section of one of `clinic`'s notes, recording who and when;
    structuring reruns keep the edit. Another clinic's section is NOTE_SECTION_NOT_FOUND. With `version` (the
    `NoteSection.version` the editor loaded), a section saved meanwhile by someone else is NOTE_CHANGED and is
    left as it is; the error's details carry the current version, to overwrite knowingly."""
    section = (NoteSection.objects.for_clinic(clinic).select_for_update(of=("self",)).select_related("note")
               .filter(pk=section_id).first())
    if section is None:
        raise NotFound(NoteCode.NOTE_SECTION_NOT_FOUND, _("Note section not found"), {"id": str(section_id)})
    _refuse_if_changed(section, version)
    fields = ["edited_by", "edited_by_actor", "edited_at", "updated_at"]
    if content is not None:
        section.content = content
        fields.append("content")
    if title is not None:
        section.title = title
        fields.append("title")
    credential = getattr(actor, "auth", None)
    user = getattr(actor, "user", None)
    # An API key acts for the user who created it, when that user still exists.
    section.edited_by = user if getattr(user, "pk", None) and getattr(user, "is_authenticated", False) else None
    section.edited_by_actor = f"{credential.actor_kind}:{credential.actor_id}" if credential is not None else ""
    section.edited_at = timezone.now()
    section.save(update_fields=fields)
    audit.record(actor, "note.section_edited", "note_section", section.pk, purpose="consultation note",
                 clinic=clinic, note=str(section.note_id), fields=sorted(set(fields) & {"content", "title"}))
    return section


@transaction.atomic
def note_sections_update(*, clinic, note_id, actor, contents: dict, versions: dict | None = None) -> list[NoteSection]:
    """Save the contents of several sections of one of `clinic`'s notes at once (`contents`: section id ->
    text), as `note_section_update` does for one; sections whose text is unchanged are left alone, so who edited
    them stays true. Another clinic's note, or a section of another note, is NOT_FOUND and nothing is saved.
    `versions` (section id -> the version the editor loaded): when a section to change was saved meanwhile by
    someone else, the whole save is NOTE_CHANGED (details: that section's id and current version) and nothing is
    saved."""
    note = _note_of(clinic, note_id, lock=True)
    sections = {str(section.pk): section for section in note.sections.all()}
    contents = {str(section_id): text for section_id, text in contents.items()}
    versions = {str(section_id): version for section_id, version in (versions or {}).items()}
    unknown = [section_id for section_id in contents if section_id not in sections]
    if unknown:
        raise NotFound(NoteCode.NOTE_SECTION_NOT_FOUND, _("Note section not found"), {"id": unknown[0]})
    changed = [section_id for section_id, text in contents.items() if sections[section_id].content != text]
    for section_id in changed:
        _refuse_if_changed(sections[section_id], versions.get(section_id))
    return [note_section_update(clinic=clinic, section_id=section_id, actor=actor, content=contents[section_id])
            for section_id in changed]


def note_read_record(*, note: Note, actor, what: str) -> None:
    """Audit a read of a note's personal content (`what`: "read", "export", "audio")."""
    audit.record(actor, f"note.{what}", "note", note.pk, purpose="consultation note", clinic=note.clinic)


def notes_list_record(*, notes, actor) -> None:
    """Audit a list page that showed these notes' names decrypted: one row naming every note on the page."""
    if notes:
        audit.record(actor, "note.list", "note", notes[0].pk, purpose="consultation note", clinic=notes[0].clinic,
                     note_ids=[str(note.pk) for note in notes])


def notes_of_patient(patient, name: str | None = None):
    """The patient's consultation notes: those linked to them, and the unlinked notes of their clinic whose name is
    the patient's (`name`, else the patient's current name), found through the name's blind index and confirmed
    word for word on the decrypted name, so "Maria Silva Santos" is not taken for "Maria Silva"."""
    name = patient.name if name is None else name
    linked = list(Note.objects.for_clinic(patient.clinic_id).filter(patient_id=patient.pk))
    tokens = name_tokens(name or "")
    named = []
    if tokens:
        candidates = Note.objects.for_clinic(patient.clinic_id).filter(
            patient__isnull=True, name_index__contains=name_index_for(name))
        named = [note for note in candidates if sorted(name_tokens(note.name)) == sorted(tokens)]
    return sorted(linked + named, key=lambda note: (note.created_at, str(note.pk)))


def export_for_patient(patient) -> list[dict]:
    """The patient's consultation notes (linked, or named after them) for an RGPD export: fields, transcript and
    sections."""
    return [{
        "id": str(note.id), "name": note.name, "createdAt": note.created_at.isoformat(),
        "status": note.transcription_status, "externalId": note.external_id, "metadata": note.metadata,
        "transcript": note.transcript,
        "sections": [{"label": section.label, "title": section.title, "content": section.content}
                     for section in note.sections.order_by("order")],
    } for note in notes_of_patient(patient)]


def erase_for_patient(patient, name: str | None = None) -> int:
    """RGPD erasure: the patient's consultation notes (linked, or named `name`, the name they had) lose name,
    gender, metadata, transcript, section contents and audio; the rows stay (with their dates and status) so the clinic's
    records keep their shape. Idempotent."""
    erased = 0
    for note in notes_of_patient(patient, name):
        if note.audio:
            note.audio.delete(save=False)
        note.set_name("")
        note.metadata = []
        note.transcript = ""
        note.external_id = ""
        note.gender = ""
        note.save(update_fields=["name", "name_index", "name_prefix_index", "gender", "metadata", "transcript",
                                 "external_id", "audio", "updated_at"])
        note.sections.update(content="")
        erased += 1
    return erased
