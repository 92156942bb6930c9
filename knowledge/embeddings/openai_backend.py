"""OpenAI embeddings through the official SDK (`embeddings.create`), asked for 384 dimensions."""
from django.conf import settings

from .base import EmbeddingBackend, EmbeddingError

# The API takes up to 2048 inputs a request; smaller batches keep each request well under its token limit.
BATCH_SIZE = 96


def openai_client():
    """An SDK client on the configured key and base URL (tests point it at a local fake); the SDK retries
    connection errors, 429 and 5xx with backoff before a task retry takes over."""
    import openai

    return openai.OpenAI(api_key=settings.OPENAI_API_KEY or "missing-key", base_url=settings.OPENAI_BASE_URL,
                         timeout=settings.OPENAI_TIMEOUT_SECONDS, max_retries=2)


class OpenAIEmbeddings(EmbeddingBackend):
    name = "openai"

    @property
    def model_id(self) -> str:
        return f"openai:{settings.OPENAI_EMBEDDING_MODEL}:{self.dimensions}"

    def embed_documents(self, texts):
        import openai

        texts = list(texts)
        vectors = []
        client = openai_client()
        for start in range(0, len(texts), BATCH_SIZE):
            batch = texts[start:start + BATCH_SIZE]
            try:
                result = client.embeddings.create(model=settings.OPENAI_EMBEDDING_MODEL, dimensions=self.dimensions,
                                                  input=batch)
            except openai.OpenAIError as exc:
                raise EmbeddingError(f"OpenAI embeddings failed: {exc}") from exc
            rows = sorted(result.data, key=lambda row: row.index)
            if len(rows) != len(batch):
                raise EmbeddingError(f"OpenAI returned {len(rows)} embeddings for {len(batch)} texts")
            vectors.extend(row.embedding for row in rows)
        return self._checked(vectors)
