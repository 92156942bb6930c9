"""Writes of the knowledge base: chunks written by hand, uploaded files cut into chunks, and their embeddings.

Embedding happens in a Celery task queued when the transaction commits; a chunk is searchable once it has an
embedding of the configured model. Every write is keyword-only, audited, runs in one transaction and raises
`clinics.errors.DomainError`s with the codes of `knowledge/errors.py`; the API and the console call the same ones.
"""
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from clinics import audit
from clinics.errors import Forbidden, InvalidInput, NotFound, PayloadTooLarge
from clinics.selectors import features_of

from . import chunking, extraction
from .embeddings import EMBEDDINGS
from .errors import KnowledgeCode
from .models import KnowledgeChunk, KnowledgeFile

logger = logging.getLogger(__name__)

MAX_CHUNK_CHARS = 4000
MAX_TITLE_CHARS = 200
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
        raise InvalidInput(KnowledgeCode.VALIDATION_ERROR, _("content: This field may not be blank."),
                           {"content": [_("This field may not be blank.")]})
    if len(content) > MAX_CHUNK_CHARS:
        raise InvalidInput(KnowledgeCode.VALIDATION_ERROR, _("content: Keep a chunk under %(limit)d characters.")
                           % {"limit": MAX_CHUNK_CHARS}, {"content": [_("Too long.")]})
    return content


def _clean_title(title) -> str:
    title = (title or "").strip()
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidInput.on("title", _("Keep the title under %(limit)d characters.") % {"limit": MAX_TITLE_CHARS})
    return title


def _chunk_of(clinic, chunk_id) -> KnowledgeChunk:
    chunk = KnowledgeChunk.objects.for_clinic(clinic).defer("embedding").filter(pk=chunk_id).first()
    if chunk is None:
        raise NotFound(KnowledgeCode.NOT_FOUND, _("Chunk not found"))
    return chunk


def chunk_create(*, clinic, actor, content: str, title: str = "") -> KnowledgeChunk:
    """Add a chunk written by hand to `clinic`'s knowledge base and queue its embedding."""
    with transaction.atomic():
        chunk = KnowledgeChunk.objects.create(clinic=clinic, content=_clean_content(content),
                                              title=_clean_title(title))
        audit.record(actor, "knowledge.chunk.create", "knowledge_chunk", chunk.pk, clinic=clinic)
        _queue_embedding([chunk.pk])
    return chunk


def chunk_update(*, clinic, chunk_id, actor, **fields) -> KnowledgeChunk:
    """Change the title or text of one of `clinic`'s chunks; either is part of what is embedded, so a change
    queues a new embedding. Another clinic's chunk is NOT_FOUND."""
    chunk = _chunk_of(clinic, chunk_id)
    changed = []
    if "title" in fields and _clean_title(fields["title"]) != chunk.title:
        chunk.title = _clean_title(fields["title"])
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
            KnowledgeFile.objects.for_clinic(clinic).filter(pk=chunk.file_id).update(processed=False)
        _queue_embedding([chunk.pk])
        audit.record(actor, "knowledge.chunk.update", "knowledge_chunk", chunk.pk, clinic=clinic,
                     fields=changed)
    return chunk


def chunk_delete(*, clinic, chunk_id, actor) -> None:
    """Remove one of `clinic`'s chunks; a file it came from stays (and stays processed)."""
    with transaction.atomic():
        chunk = _chunk_of(clinic, chunk_id)
        audit.record(actor, "knowledge.chunk.delete", "knowledge_chunk", chunk.pk, clinic=clinic)
        chunk.delete()


def max_upload_bytes() -> int:
    return settings.KNOWLEDGE_MAX_UPLOAD_BYTES


def knowledge_file_upload(*, clinic, uploaded, actor) -> KnowledgeFile:
    """Store an uploaded document and queue the reading of its text (`knowledge_file_parse`, a worker of the
    `heavy` queue): the request never inflates or parses it. The file is `pending` until then.

    Refuses a file over the size limit (PAYLOAD_TOO_LARGE), of an unsupported type (UNSUPPORTED_FILE_TYPE), an
    empty one (EMPTY_FILE), and one more file than the clinic's plan allows (PLAN_LIMIT_REACHED); nothing is
    stored then. A document that cannot be read ends `failed`, with the reason, once the worker tried.
    """
    if uploaded.size > max_upload_bytes():
        raise PayloadTooLarge(max_upload_bytes(), uploaded.size)
    filename = (uploaded.name or "").replace("\\", "/").rsplit("/", 1)[-1][:255] or "document"
    kind = extraction.kind_of(filename, getattr(uploaded, "content_type", "") or "")
    if kind is None:
        raise InvalidInput(KnowledgeCode.UNSUPPORTED_FILE_TYPE,
                           _("Unsupported file type: send a PDF, DOCX, TXT, CSV, JSON or XLSX file."),
                           {"file": [_("Supported types: PDF, DOCX, TXT, CSV, JSON, XLSX.")]})
    if uploaded.size == 0:
        raise InvalidInput(KnowledgeCode.EMPTY_FILE, _("The file is empty."), {"file": [_("The file is empty.")]})
    limit = features_of(clinic).get("knowledge_base_files")
    if limit is not None and KnowledgeFile.objects.for_clinic(clinic).count() >= limit:
        raise Forbidden(KnowledgeCode.PLAN_LIMIT_REACHED,
                        _("Your plan allows %(limit)d knowledge base files; delete one or upgrade.") % {"limit": limit})

    file_kind = extraction.KINDS[kind]
    document = KnowledgeFile(clinic=clinic, filename=filename, file_size=uploaded.size, file_type=file_kind.mime,
                             extension=file_kind.extension, status=KnowledgeFile.Status.PENDING)
    document.file.save(document.file.field.generate_filename(document, filename), uploaded, save=False)
    try:
        with transaction.atomic():
            document.save(force_insert=True)
            audit.record(actor, "knowledge.file.upload", "knowledge_file", document.pk, clinic=clinic,
                         filename=filename, file_size=uploaded.size)
            _queue_parsing(document.pk)
    except Exception:
        document.file.storage.delete(document.file.name)
        raise
    return document


def _queue_parsing(file_id) -> None:
    from .tasks import parse_file

    # Robust: the upload stands even if the broker is down; the file then stays `pending` (uploading it again
    # retries).
    transaction.on_commit(lambda: parse_file.delay(str(file_id)), robust=True)


def parse_limits() -> extraction.Limits:
    return extraction.Limits(inflated_bytes=settings.KNOWLEDGE_PARSE_MAX_INFLATED_BYTES,
                             ratio=settings.KNOWLEDGE_PARSE_MAX_RATIO, seconds=settings.KNOWLEDGE_PARSE_SECONDS)


def knowledge_file_parse(*, file_id) -> KnowledgeFile | None:
    """Read a pending file's text within `parse_limits()`, cut it into chunks and queue their embedding; the file
    is `parsed` then. A file that cannot be read, or whose reading would exceed the limits (a ZIP bomb), is
    `failed` with the reason and keeps no chunk. Idempotent: a file no longer pending (or deleted) is left alone."""
    document = KnowledgeFile.objects.filter(pk=file_id, status=KnowledgeFile.Status.PENDING).first()
    if document is None:
        return None
    try:
        with document.file.open("rb") as stored:
            data = stored.read(max_upload_bytes() + 1)
        text = extraction.extract_text(extraction.kind_of(document.filename, document.file_type), data,
                                       parse_limits())
    except extraction.ExtractionError as exc:
        return knowledge_file_fail(file_id=document.pk, reason=str(exc))
    except (OSError, ValueError):
        return knowledge_file_fail(file_id=document.pk, reason=_("The stored document could not be read."))
    pieces = chunking.split_into_chunks(text, settings.KNOWLEDGE_CHUNK_CHARS, settings.KNOWLEDGE_CHUNK_OVERLAP_CHARS)
    with transaction.atomic():
        locked = KnowledgeFile.objects.select_for_update().filter(pk=document.pk,
                                                                 status=KnowledgeFile.Status.PENDING).first()
        if locked is None:
            return None
        now = timezone.now()
        chunks = KnowledgeChunk.objects.bulk_create([
            KnowledgeChunk(clinic_id=locked.clinic_id, file=locked, position=position, content=piece,
                           created_at=now, updated_at=now)
            for position, piece in enumerate(pieces)])
        locked.status = KnowledgeFile.Status.PARSED
        locked.failure_reason = ""
        locked.save(update_fields=["status", "failure_reason"])
        audit.record(None, "knowledge.file.parse", "knowledge_file", locked.pk, clinic=locked.clinic,
                     chunks=len(chunks))
        _queue_embedding([chunk.pk for chunk in chunks])
    return locked


def knowledge_file_fail(*, file_id, reason: str) -> KnowledgeFile | None:
    """Mark a pending file `failed` with `reason` (shown to the uploader); a file no longer pending is left alone."""
    with transaction.atomic():
        document = KnowledgeFile.objects.select_for_update().filter(
            pk=file_id, status=KnowledgeFile.Status.PENDING).first()
        if document is None:
            return None
        document.status = KnowledgeFile.Status.FAILED
        document.failure_reason = str(reason)[:300]
        document.save(update_fields=["status", "failure_reason"])
        audit.record(None, "knowledge.file.parse_failed", "knowledge_file", document.pk, clinic=document.clinic,
                     reason=document.failure_reason)
    logger.info("Knowledge file %s failed: %s", document.pk, document.failure_reason)
    return document


def knowledge_file_delete(*, clinic, file_id, actor) -> None:
    """Remove one of `clinic`'s uploaded files, its chunks, and (once committed) the stored document. Another
    clinic's file is NOT_FOUND."""
    document = KnowledgeFile.objects.for_clinic(clinic).filter(pk=file_id).first()
    if document is None:
        raise NotFound(KnowledgeCode.NOT_FOUND, _("File not found"))
    storage, name = document.file.storage, document.file.name
    with transaction.atomic():
        audit.record(actor, "knowledge.file.delete", "knowledge_file", document.pk, clinic=clinic,
                     filename=document.filename)
        document.delete()
        transaction.on_commit(lambda: storage.delete(name) if name else None, robust=True)


def chunks_embed(*, chunk_ids) -> int:
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


def stale_embeddings_queue(*, clinic=None) -> int:
    """Queue every chunk without an embedding of the configured model (after switching models, or a lost task)."""
    model_id = EMBEDDINGS.backend().model_id
    chunks = KnowledgeChunk.objects.filter(Q(embedding__isnull=True) | ~Q(embedding_model=model_id))
    if clinic is not None:
        chunks = chunks.for_clinic(clinic)
    ids = list(chunks.values_list("pk", flat=True))
    with transaction.atomic():
        KnowledgeFile.objects.filter(chunks__pk__in=ids, processed=True).update(processed=False)
        _queue_embedding(ids)
    return len(ids)
