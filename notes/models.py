"""Consultation notes: an audio recording, its transcript and the structured sections drawn from it.

Everything that identifies or describes the patient (name, metadata, transcript, section content) is
encrypted at rest; the name is searchable through keyed hashes of its words (`name_index`) and of each word's
prefixes of two letters and more (`name_prefix_index`), so a partial name search matches the start of any word
("mar" finds "Maria Silva", "sil" too; "ria" does not) (docs/api/notes.md, List notes).
"""
import json
import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinics.crypto import (BlindIndexArrayField, EncryptedTextField, blind_index, encrypt, name_prefix_hashes,
                            name_tokens)
from clinics.tenancy import ClinicOwned

NAME_INDEX_PURPOSE = "note-name"
NAME_PREFIX_PURPOSE = "note-name-prefix"


def name_index_for(name: str) -> list[str]:
    """The blind-index hashes of each word of a name, as stored in `Note.name_index`."""
    return [blind_index(token, NAME_INDEX_PURPOSE) for token in name_tokens(name or "")]


def name_prefix_index_for(name: str) -> list[str]:
    """The blind-index hashes of each word's prefixes, as stored in `Note.name_prefix_index`."""
    return name_prefix_hashes(name_tokens(name or ""), NAME_PREFIX_PURPOSE)


def name_search_hashes(query: str) -> list[str]:
    """What a name search looks for: each word of the query as the prefix of some word of the name."""
    return [blind_index(token, NAME_PREFIX_PURPOSE) for token in name_tokens(query or "")]


class EncryptedJSONField(EncryptedTextField):
    """A JSON value stored as AES-GCM ciphertext of its text; Python code sees the decoded value."""

    def from_db_value(self, value, expression, connection):
        text = super().from_db_value(value, expression, connection)
        return json.loads(text) if text else []

    def to_python(self, value):
        if isinstance(value, str):
            return json.loads(value) if value else []
        return value

    def get_prep_value(self, value):
        if value is None:
            return None
        return encrypt(json.dumps(value, ensure_ascii=False))

    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj), ensure_ascii=False)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "notes.models.EncryptedJSONField", args, kwargs


def audio_upload_to(note, filename):
    extension = note.audio_format or "bin"
    return f"notes/audio/{note.clinic_id}/{note.id}.{extension}"


class Note(ClinicOwned):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PROCESSING = "processing", _("Processing")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")

    class Step(models.TextChoices):
        TRANSCRIPTION = "transcription", _("Transcription")
        STRUCTURING = "structuring", _("Structuring")

    class Gender(models.TextChoices):
        MALE = "male", _("Male")
        FEMALE = "female", _("Female")
        OTHER = "other", _("Other")
        UNKNOWN = "unknown", _("Unknown")

    class Template(models.TextChoices):
        HUMAN = "human", _("Human")
        VETERINARY = "veterinary", _("Veterinary")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="notes")
    name = EncryptedTextField(blank=True, default="")
    name_index = BlindIndexArrayField()
    name_prefix_index = BlindIndexArrayField()
    gender = models.CharField(max_length=10, choices=Gender.choices, blank=True, default="")
    external_id = models.CharField(max_length=120, blank=True, default="")
    metadata = EncryptedJSONField(blank=True, default=list)
    # Optional links to the clinic's records; a note stands on its own (docs/api/notes.md knows neither).
    patient = models.ForeignKey("scheduling.Patient", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="consultation_notes")
    appointment = models.ForeignKey("scheduling.Appointment", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="consultation_notes")

    audio = models.FileField(upload_to=audio_upload_to, max_length=300, blank=True)
    audio_format = models.CharField(max_length=10, blank=True, default="")
    audio_mime = models.CharField(max_length=40, blank=True, default="")
    audio_bytes = models.PositiveBigIntegerField(default=0)
    duration_seconds = models.FloatField(null=True, blank=True)

    transcription_status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    failed_step = models.CharField(max_length=20, choices=Step.choices, blank=True, default="")
    failure_reason = models.TextField(blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    transcript = EncryptedTextField(blank=True, default="")
    language = models.CharField(max_length=10, default="en")
    template = models.CharField(max_length=12, choices=Template.choices, default=Template.HUMAN)
    stt_backend = models.CharField(max_length=20, blank=True, default="")
    processing_seconds = models.FloatField(null=True, blank=True)
    # The transactional outbox of the pipeline: null while the processing task is not yet handed to the broker
    # (Redis was down when the note was stored); config/sweeper.py queues such notes once the broker answers.
    queued_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["clinic", "-created_at"], name="notes_note_clinic_created_idx"),
            models.Index(fields=["clinic", "transcription_status"], name="notes_note_clinic_status_idx"),
            models.Index(fields=["clinic", "external_id"], name="notes_note_clinic_ext_idx"),
            GinIndex(fields=["name_index"], name="notes_note_name_index_gin"),
            GinIndex(fields=["name_prefix_index"], name="notes_note_name_prefix_gin"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(transcription_status__in=["pending", "processing", "completed", "failed"]),
                name="notes_note_status_valid"),
        ]

    def __str__(self):
        return f"Note {self.id}"

    def set_name(self, name: str):
        self.name = name or ""
        self.name_index = name_index_for(self.name)
        self.name_prefix_index = name_prefix_index_for(self.name)


class NoteSection(ClinicOwned):
    clinic_lookup = "note__clinic"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="sections")
    title = models.CharField(max_length=200)
    label = models.CharField(max_length=60)
    content = EncryptedTextField(blank=True, default="")
    order = models.PositiveSmallIntegerField(default=1)
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    # An API key has no user: who edited is then "key:<key id>" here.
    edited_by_actor = models.CharField(max_length=80, blank=True, default="")
    edited_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "label"]
        constraints = [
            models.UniqueConstraint(fields=["note", "label"], name="notes_section_unique_label_per_note"),
        ]

    def __str__(self):
        return f"{self.label} of {self.note_id}"

    @property
    def version(self) -> str:
        """What an editor sends back with a save (the API's ETag): it changes with every save of the section, by
        a person or by structuring, so a save made from an older copy is refused (NOTE_CHANGED)."""
        return self.updated_at.isoformat() if self.updated_at else ""
