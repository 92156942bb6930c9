"""The knowledge base of a clinic's phone agent: uploaded files and the text chunks the agent searches.

A chunk's `embedding` is a 384-dimension vector (all-MiniLM-L6-v2, or an OpenAI model asked for 384
dimensions); `embedding_model` says which model made it, because vectors of two models cannot be compared.
"""
import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from pgvector.django import HnswIndex, VectorField

from clinics.tenancy import ClinicOwned

EMBEDDING_DIMENSIONS = 384


def upload_path(instance, filename):
    # The stored name never reuses the caller's file name: it may hold anything.
    return f"knowledge/{instance.clinic_id}/{instance.id}{instance.extension}"


class KnowledgeFile(ClinicOwned):
    """A document uploaded to the knowledge base (PDF, DOCX, TXT, CSV, JSON, XLSX)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="knowledge_files")
    filename = models.CharField(max_length=255)
    file = models.FileField(upload_to=upload_path, max_length=300)
    file_size = models.PositiveBigIntegerField()
    file_type = models.CharField(max_length=120)
    extension = models.CharField(max_length=10)
    # True once every chunk of the file has an embedding of the current model.
    processed = models.BooleanField(default=False)

    class Status(models.TextChoices):
        # Stored; a worker of the `heavy` queue reads its text (the upload request never does).
        PENDING = "pending", _("Pending")
        PARSED = "parsed", _("Parsed")
        FAILED = "failed", _("Failed")

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # Why reading the document failed, in words shown to the uploader ("too large once uncompressed").
    failure_reason = models.CharField(max_length=300, blank=True)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-uploaded_at", "id"]
        indexes = [models.Index(fields=["clinic", "uploaded_at"], name="knowledge_file_clinic_time")]

    def __str__(self):
        return self.filename


class KnowledgeChunk(ClinicOwned):
    """A passage of text the agent can find by meaning; written by hand (API, console) or cut from a file."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    clinic = models.ForeignKey("clinics.Clinic", on_delete=models.CASCADE, related_name="knowledge_chunks")
    file = models.ForeignKey(KnowledgeFile, on_delete=models.CASCADE, null=True, blank=True, related_name="chunks")
    position = models.PositiveIntegerField(default=0, help_text=_("Order of the chunk inside its file."))
    title = models.CharField(max_length=200, blank=True)
    content = models.TextField()
    # Bumped on every change of the text, so an embedding computed for an older text is never saved over it.
    revision = models.PositiveIntegerField(default=1)
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)
    embedding_model = models.CharField(max_length=120, blank=True)
    embedded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["clinic", "created_at", "id"], name="knowledge_chunk_clinic_time"),
            HnswIndex(name="knowledge_chunk_embedding_hnsw", fields=["embedding"], m=16, ef_construction=200,
                      opclasses=["vector_cosine_ops"]),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(content=""), name="knowledge_chunk_content_not_empty"),
        ]

    def __str__(self):
        return self.title or self.content[:60]

    @property
    def embedded(self) -> bool:
        return self.embedding is not None
