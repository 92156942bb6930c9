"""What the knowledge base needs from any embedding model."""


class EmbeddingError(Exception):
    """The model could not embed the texts (provider refused, unreachable, or answered the wrong size)."""


class EmbeddingBackend:
    """The contract: texts in, one vector of `dimensions` floats per text out, in the same order."""

    name = ""
    dimensions = 384

    @property
    def model_id(self) -> str:
        """Names the model and size; stored on each chunk, since vectors of different models cannot be compared."""
        raise NotImplementedError

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise NotImplementedError

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def _checked(self, vectors) -> list[list[float]]:
        vectors = [list(map(float, vector)) for vector in vectors]
        for vector in vectors:
            if len(vector) != self.dimensions:
                raise EmbeddingError(f"{self.name} returned {len(vector)} dimensions; expected {self.dimensions}")
        return vectors
