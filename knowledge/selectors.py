"""Reads of the knowledge base: the clinic's chunks and files, and semantic search over the chunks."""
from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, Case, QuerySet, Value, When
from pgvector.django import CosineDistance

from clinics import extensions

from .embeddings import EMBEDDINGS
from .models import KnowledgeChunk, KnowledgeFile

MAX_RESULTS = 50
# Candidates the HNSW scan keeps (pgvector's `hnsw.ef_search`). pgvector's default of 40 finds only 84-93 % of the
# true 10 nearest chunks; 200 finds 99 % for about 5 ms (bench/knowledge_search.py).
DEFAULT_EF_SEARCH = 200


def ef_search(k: int) -> int:
    """The `hnsw.ef_search` a search for `k` chunks runs with: settings.KNOWLEDGE_HNSW_EF_SEARCH, at least 2k."""
    configured = int(getattr(settings, "KNOWLEDGE_HNSW_EF_SEARCH", DEFAULT_EF_SEARCH) or DEFAULT_EF_SEARCH)
    return max(1, min(configured, 1000), 2 * k)


def current_model_id() -> str:
    """The model id that chunks must be embedded with to be searched (the configured backend's)."""
    return EMBEDDINGS.backend().model_id


def chunks_for(clinic, file_id=None) -> QuerySet:
    """The clinic's chunks, without their vectors, annotated `is_embedded` (has a vector of the current model)."""
    chunks = (KnowledgeChunk.objects.for_clinic(clinic).defer("embedding")
              .annotate(is_embedded=Case(When(embedding__isnull=False, embedding_model=current_model_id(),
                                              then=Value(True)), default=Value(False), output_field=BooleanField())))
    if file_id is not None:
        chunks = chunks.filter(file_id=file_id)
    return chunks


def files_for(clinic) -> QuerySet:
    """The clinic's uploaded files, newest first."""
    return KnowledgeFile.objects.for_clinic(clinic).order_by("-uploaded_at", "id")


def search(clinic, query: str, k: int = 5, file_id=None) -> list[KnowledgeChunk]:
    """The clinic's `k` chunks closest in meaning to `query` (optionally only those of one file), best first, each
    with `distance` (cosine) and `score` (1 - distance: 1 is the same meaning). Only chunks embedded by the
    configured model take part."""
    query = (query or "").strip()
    k = max(1, min(int(k), MAX_RESULTS))
    if not query:
        return []
    backend = EMBEDDINGS.backend()
    return nearest_chunks(clinic, backend.embed_query(query), k=k, model_id=backend.model_id, file_id=file_id)


def nearest_chunks(clinic, vector, *, k: int, model_id: str, file_id=None, ef: int | None = None) -> list:
    """The clinic's `k` chunks of `model_id` nearest to `vector` (cosine), best first, with `distance` and `score`.

    Runs in its own transaction so that the HNSW settings stay local to it: `hnsw.ef_search` (`ef`, else
    `ef_search(k)`) and an iterative scan, since the index is shared by all clinics."""
    chunks = (KnowledgeChunk.objects.for_clinic(clinic).filter(embedding__isnull=False, embedding_model=model_id)
              .defer("embedding")
              .annotate(distance=CosineDistance("embedding", vector), is_embedded=Value(True))
              .order_by("distance", "id"))
    if file_id is not None:
        chunks = chunks.filter(file_id=file_id)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # The HNSW index is shared by all clinics: keep scanning it until `k` rows of this clinic are found.
            cursor.execute("SET LOCAL hnsw.iterative_scan = strict_order")
            cursor.execute("SELECT set_config('hnsw.ef_search', %s, true)", [str(ef or ef_search(k))])
        results = list(chunks[:k])
    for chunk in results:
        chunk.score = round(1.0 - float(chunk.distance), 6)
    return results


def agent_of_another_clinic(clinic, agent_id: str) -> bool:
    """True when `agent_id` names another clinic's phone agent (the dashboard answers 404 then). Phone agents
    belong to telephony, which answers through `clinics.extensions`; knowledge takes the id as plain data."""
    return extensions.agent_of_another_clinic(clinic, (agent_id or "").strip())
