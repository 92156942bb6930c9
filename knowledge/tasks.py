"""Celery entry points of the knowledge base: thin and idempotent (see services.chunks_embed)."""
from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.utils.translation import gettext as _

from . import services
from .embeddings import EmbeddingError


@shared_task(name="knowledge.embed_chunks", acks_late=True, reject_on_worker_lost=True, autoretry_for=(EmbeddingError,),
             retry_backoff=True, retry_backoff_max=600, max_retries=8, soft_time_limit=10 * 60, time_limit=12 * 60)
def embed_chunks(chunk_ids: list[str]) -> int:
    return services.chunks_embed(chunk_ids=chunk_ids)


# The `heavy` queue (config/settings: "knowledge.*"). The soft limit is a backstop behind the parser's own deadline
# (KNOWLEDGE_PARSE_SECONDS), the hard one kills a worker stuck where Python cannot interrupt it.
@shared_task(name="knowledge.parse_file", acks_late=True, reject_on_worker_lost=False, soft_time_limit=3 * 60,
             time_limit=4 * 60)
def parse_file(file_id: str) -> str:
    try:
        document = services.knowledge_file_parse(file_id=file_id)
    except SoftTimeLimitExceeded:
        document = services.knowledge_file_fail(file_id=file_id, reason=_("Reading the document took too long."))
    return document.status if document is not None else "skipped"
