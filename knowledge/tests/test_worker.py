"""Embedding as a real Celery worker runs it: a separate process, Redis in between, the local model loaded there."""
import pytest

from knowledge.models import KnowledgeChunk

from .factories import KnowledgeChunkFactory, KnowledgeFileFactory

pytestmark = pytest.mark.worker


@pytest.fixture
def local_worker(monkeypatch):
    """The worker process embeds with the local model (requested before the worker starts)."""
    monkeypatch.setenv("EMBEDDINGS_BACKEND", "local")


def test_worker_embeds_a_files_chunks_and_marks_it_processed(transactional_db, clinic, local_worker,
                                                             celery_worker_queue):
    from knowledge.tasks import embed_chunks

    document = KnowledgeFileFactory(clinic=clinic)
    chunks = [KnowledgeChunkFactory(clinic=clinic, file=document, position=n) for n in range(3)]

    result = embed_chunks.apply_async(([str(chunk.pk) for chunk in chunks],), queue=celery_worker_queue)

    assert result.get(timeout=120) == 3
    assert all(len(chunk.embedding) == 384 for chunk in KnowledgeChunk.objects.filter(file=document))
    document.refresh_from_db()
    assert document.processed
    # Delivered again (acks_late after a crash, say): nothing is embedded twice.
    assert embed_chunks.apply_async(([str(chunks[0].pk)],), queue=celery_worker_queue).get(timeout=60) == 0


def test_a_worker_fails_a_zip_bomb_and_keeps_serving(transactional_db, clinic, local_worker,
                                                     django_capture_on_commit_callbacks,
                                                     celery_worker_queue_after_media):
    """Issue 12 item 9 on a real worker of its own process: the bomb fails its document with a reason, and the same
    worker then reads the next document."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import transaction

    from knowledge import services
    from knowledge.models import KnowledgeFile
    from knowledge.tasks import parse_file
    from tests.test_security_items import DOCX_HEAD, zip_bomb

    bomb = zip_bomb("word/document.xml", DOCX_HEAD, b"<w:p><w:r><w:t>a</w:t></w:r></w:p>", 200 * 1024 * 1024,
                    b"</w:body></w:document>")
    # Stored as the upload request stores them; the parsing it queues is dropped, this test sends it itself.
    with transaction.atomic(), django_capture_on_commit_callbacks(execute=False):
        stored = services.knowledge_file_upload(clinic=clinic, uploaded=SimpleUploadedFile("bomb.docx", bomb),
                                                actor=None)
        readable = services.knowledge_file_upload(clinic=clinic, actor=None,
                                                  uploaded=SimpleUploadedFile("hours.txt", b"We open at nine."))

    assert parse_file.apply_async((str(stored.pk),), queue=celery_worker_queue_after_media).get(timeout=120) == "failed"
    assert parse_file.apply_async((str(readable.pk),), queue=celery_worker_queue_after_media).get(timeout=120) == (
        "parsed")
    stored.refresh_from_db()
    assert stored.status == "failed" and stored.failure_reason
    assert KnowledgeFile.objects.get(pk=readable.pk).chunks.count() == 1


@pytest.fixture
def celery_worker_queue_after_media(settings, tmp_path, monkeypatch, request):
    """A real worker that stores and reads documents where this test does (started after MEDIA_ROOT is set)."""
    media = str(tmp_path / "worker-media")
    settings.MEDIA_ROOT = media
    monkeypatch.setenv("MEDIA_ROOT", media)
    return request.getfixturevalue("celery_worker_queue")
