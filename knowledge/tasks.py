"""Celery entry points of the knowledge base: thin and idempotent (see services.chunks_embed)."""
from celery import shared_task

from . import services
from .embeddings import EmbeddingError


@shared_task(name="knowledge.embed_chunks", acks_late=True, reject_on_worker_lost=True, autoretry_for=(EmbeddingError,),
             retry_backoff=True, retry_backoff_max=600, max_retries=8, soft_time_limit=10 * 60, time_limit=12 * 60)
def embed_chunks(chunk_ids: list[str]) -> int:
    return services.chunks_embed(chunk_ids=chunk_ids)
