"""Writes of the knowledge base: chunks written by hand, uploaded files cut into chunks, and their embeddings.

Embedding happens in a Celery task queued when the transaction commits; a chunk is searchable once it has an
embedding of the configured model. Every write is audited.
"""
import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics import audit
from clinics.selectors import features_of
from config.surfaces.errors import ApiError, PayloadTooLarge

from . import chunking, extraction
from .embeddings import EMBEDDINGS
from .models import KnowledgeChunk, KnowledgeFile

logger = logging.getLogger(__name__)

MAX_CHUNK_CHARS = 4000
# One task embeds at most this many chunks, so a large file is spread over several tasks (and workers).
TASK_BATCH = 64


def _queue_embedding(chunk_ids) -> None:
    from .tasks import embed_chunks

    ids = [str(chunk_id) for chunk_id in chunk_ids]
    for start in range(0, len(ids), TASK_BATCH):
        batch = ids[start:start + TASK_BATCH]
        # Robust: the write stands even if the broker is down; `manage.py embed_knowledge` queues what was missed.
        transaction.on_commit(lambda batch=batch: embed_chunks.delay(batch), robust=True)


def _clean_content(content: str) -> str:
    content = (content or "").strip()
    if not content:
        raise ApiError(400, "VALIDATION_ERROR", _("content: This field may not be blank."),
                       {"content": [_("This field may not be blank.")]})
    if len(content) > MAX_CHUNK_CHARS:
        raise ApiError(400, "VALIDATION_ERROR", _("content: Keep a chunk under %(limit)d characters.")
                       % {"limit": MAX_CHUNK_CHARS}, {"content": [_("Too long.")]})
    return content


def create_chunk(clinic, *, content: str, title: str = "", actor=None) -> KnowledgeChunk:
    """Add a chunk written by hand and queue its embedding."""
    with transaction.atomic():
        chunk = KnowledgeChunk.objects.create(clinic=clinic, content=_clean_content(content), title=title.strip())
        audit.record(actor, "knowledge.chunk.create", "knowledge_chunk", chunk.pk, clinic=clinic)
        _queue_embedding([chunk.pk])
    return chunk


def update_chunk(chunk: KnowledgeChunk, *, actor=None, **fields) -> KnowledgeChunk:
    """Change a chunk's title or text; either is part of what is embedded, so a change queues a new embedding."""
    changed = []
    if "title" in fields and (fields["title"] or "").strip() != chunk.title:
        chunk.title = (fields["title"] or "").strip()
        changed.append("title")
    if "content" in fields:
        content = _clean_content(fields["content"])
        if content != chunk.content:
            chunk.content = content
            changed.append("content")
    if not changed:
        return chunk
    chunk.revision += 1
    chunk.embedding = None
    chunk.embedding_model = ""
    chunk.embedded_at = None
    chunk.updated_at = timezone.now()
    with transaction.atomic():
        chunk.save(update_fields=[*changed, "revision", "embedding", "embedding_model", "embedded_at", "updated_at"])
        if chunk.file_id:
            KnowledgeFile.objects.filter(pk=chunk.file_id).update(processed=False)
        _queue_embedding([chunk.pk])
        audit.record(actor, "knowledge.chunk.update", "knowledge_chunk", chunk.pk, clinic=chunk.clinic,
                     fields=changed)
    return chunk


def delete_chunk(chunk: KnowledgeChunk, *, actor=None) -> None:
    """Remove a chunk; a file it came from stays (and stays processed)."""
    with transaction.atomic():
        audit.record(actor, "knowledge.chunk.delete", "knowledge_chunk", chunk.pk, clinic=chunk.clinic)
        chunk.delete()


def max_upload_bytes() -> int:
    return settings.KNOWLEDGE_MAX_UPLOAD_BYTES


def upload_file(clinic, uploaded, *, actor=None) -> KnowledgeFile:
    """Store an uploaded document, cut its text into chunks and queue their embedding.

    Refuses (ApiError) a file over the size limit (413), of an unsupported type (415), one that cannot be read
    or holds no text (400), and one more file than the clinic's plan allows (403).
    """
    if uploaded.size > max_upload_bytes():
        raise PayloadTooLarge(max_upload_bytes(), uploaded.size)
    filename = (uploaded.name or "").replace("\\", "/").rsplit("/", 1)[-1][:255] or "document"
    kind = extraction.kind_of(filename, getattr(uploaded, "content_type", "") or "")
    if kind is None:
        raise ApiError(415, "UNSUPPORTED_FILE_TYPE",
                       _("Unsupported file type: send a PDF, DOCX, TXT, CSV, JSON or XLSX file."),
                       {"file": [_("Supported types: PDF, DOCX, TXT, CSV, JSON, XLSX.")]})
    if uploaded.size == 0:
        raise ApiError(400, "EMPTY_FILE", _("The file is empty."), {"file": [_("The file is empty.")]})
    limit = features_of(clinic).get("knowledge_base_files")
    if limit is not None and KnowledgeFile.objects.filter(clinic=clinic).count() >= limit:
        raise ApiError(403, "PLAN_LIMIT_REACHED",
                       _("Your plan allows %(limit)d knowledge base files; delete one or upgrade.") % {"limit": limit})
    data = b"".join(uploaded.chunks())
    try:
        text = extraction.extract_text(kind, data)
    except extraction.ExtractionError as exc:
        raise ApiError(400, "UNREADABLE_FILE", str(exc), {"file": [str(exc)]})
    pieces = chunking.split_into_chunks(text, settings.KNOWLEDGE_CHUNK_CHARS, settings.KNOWLEDGE_CHUNK_OVERLAP_CHARS)

    file_kind = extraction.KINDS[kind]
    document = KnowledgeFile(clinic=clinic, filename=filename, file_size=len(data), file_type=file_kind.mime,
                             extension=file_kind.extension)
    document.file.save(document.file.field.generate_filename(document, filename), ContentFile(data), save=False)
    try:
        with transaction.atomic():
            document.save(force_insert=True)
            now = timezone.now()
            chunks = KnowledgeChunk.objects.bulk_create([
                KnowledgeChunk(clinic=clinic, file=document, position=position, content=piece, created_at=now,
                               updated_at=now)
                for position, piece in enumerate(pieces)])
            audit.record(actor, "knowledge.file.upload", "knowledge_file", document.pk, clinic=clinic,
                         filename=filename, file_size=len(data), chunks=len(chunks))
            _queue_embedding([chunk.pk for chunk in chunks])
    except Exception:
        document.file.storage.delete(document.file.name)
        raise
    return document


def delete_file(document: KnowledgeFile, *, actor=None) -> None:
    """Remove an uploaded file, its chunks, and (once committed) the stored document."""
    storage, name = document.file.storage, document.file.name
    with transaction.atomic():
        audit.record(actor, "knowledge.file.delete", "knowledge_file", document.pk, clinic=document.clinic,
                     filename=document.filename)
        document.delete()
        transaction.on_commit(lambda: storage.delete(name) if name else None, robust=True)


def embed_chunks(chunk_ids) -> int:
    """Embed the listed chunks that lack an embedding of the configured model; returns how many were saved.

    Idempotent: a chunk already embedded is skipped, and a chunk whose text changed meanwhile keeps waiting for
    the task its change queued (its revision no longer matches).
    """
    backend = EMBEDDINGS.backend()
    model_id = backend.model_id
    pending = list(KnowledgeChunk.objects.filter(pk__in=list(chunk_ids))
                   .filter(Q(embedding__isnull=True) | ~Q(embedding_model=model_id))
                   .values_list("pk", "revision", "content", "title", "file_id"))
    if not pending:
        return 0
    vectors = backend.embed_documents([_embedding_text(title, content) for _pk, _rev, content, title, _f in pending])
    saved = 0
    now = timezone.now()
    with transaction.atomic():
        for (pk, revision, _content, _title, _file), vector in zip(pending, vectors):
            saved += KnowledgeChunk.objects.filter(pk=pk, revision=revision).update(
                embedding=vector, embedding_model=model_id, embedded_at=now)
        mark_processed_files({file_id for *_rest, file_id in pending if file_id}, model_id)
    return saved


def _embedding_text(title: str, content: str) -> str:
    # A title ("Opening hours") often names the topic the passage never repeats; it is part of what is searched.
    return f"{title}\n{content}" if title and title not in content else content


def mark_processed_files(file_ids, model_id: str) -> int:
    """Set `processed` on the files whose chunks all have an embedding of `model_id`."""
    if not file_ids:
        return 0
    stale = KnowledgeChunk.objects.filter(file=OuterRef("pk")).filter(
        Q(embedding__isnull=True) | ~Q(embedding_model=model_id))
    return KnowledgeFile.objects.filter(pk__in=list(file_ids), processed=False).exclude(Exists(stale)).update(
        processed=True)


def queue_stale_embeddings(clinic=None) -> int:
    """Queue every chunk without an embedding of the configured model (after switching models, or a lost task)."""
    model_id = EMBEDDINGS.backend().model_id
    chunks = KnowledgeChunk.objects.filter(Q(embedding__isnull=True) | ~Q(embedding_model=model_id))
    if clinic is not None:
        chunks = chunks.filter(clinic=clinic)
    ids = list(chunks.values_list("pk", flat=True))
    with transaction.atomic():
        KnowledgeFile.objects.filter(chunks__pk__in=ids, processed=True).update(processed=False)
        _queue_embedding(ids)
    return len(ids)
