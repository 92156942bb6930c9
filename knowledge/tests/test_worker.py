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
